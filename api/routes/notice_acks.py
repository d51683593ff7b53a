"""Who acknowledged a notice, who has not, and reminding those who have not.

Reading needs the `reports` scope, reminding `admin`; a notice of another ward is not
found (404), like every other notice route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import (
    AdminCaller,
    ApiServices,
    Limit,
    Offset,
    ServicesDep,
    SessionDep,
    TenantDep,
    require_scope,
)
from api.downloads import Format, sheet_response, xlsx_responses
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import Listing
from broadcasts.ack_lists import (
    AcknowledgementRow,
    PendingChannelPublic,
    RemindRequest,
    RemindResult,
    acknowledgement_sheet,
    list_acknowledgements,
    list_pending,
)
from broadcasts.bounds import MAX_ID
from broadcasts.notices import get_notice
from broadcasts.reminders import latest_occurrence, remind_silent
from broadcasts.tenancy import Tenant

router = APIRouter(
    prefix="/notices",
    tags=["notices"],
    dependencies=[Depends(require_scope("reports"))],
    responses={**PROBLEM_RESPONSES, **problem_responses(404)},
)

OccurrenceQuery = Annotated[
    int | None, Query(ge=0, le=MAX_ID, description="one occurrence of a recurring notice")
]


@router.get(
    "/{notice_id}/acknowledgements",
    summary="Who acknowledged the notice: names, leader or member, time, channel, area",
)
async def acknowledgements(
    notice_id: IdPath,
    session: SessionDep,
    tenant: TenantDep,
    occurrence: OccurrenceQuery = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> Listing[AcknowledgementRow]:
    rows, count = await list_acknowledgements(
        session=session,
        notice_id=notice_id,
        occurrence=occurrence,
        offset=offset,
        limit=limit,
        within=tenant,
    )
    return Listing(data=rows, count=count)


_ACK_CSV_EXAMPLE = (
    "occurrence,area_code,area_name,chat_title,person_name,person_ref,by_leader,method,via,"
    "acknowledged_at\r\n"
    "0,BT-KP3-T5,Tổ dân phố 5,Tổ dân phố 5 - Bến Thành,Nguyễn Thị Lan,5550001,true,button,"
    "notice,2026-03-11 14:20:00\r\n"
)


@router.get(
    "/{notice_id:int}/acknowledgements.csv",
    summary="Who acknowledged the notice, as CSV (for Excel)",
    description="Every acknowledgement, oldest first (all pages of GET "
    "/notices/{id}/acknowledgements), of one occurrence with `occurrence`; times on the "
    "ward's clock (LOA_TIMEZONE).",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"example": _ACK_CSV_EXAMPLE}}}},
)
async def acknowledgements_as_csv(
    notice_id: IdPath,
    session: SessionDep,
    tenant: TenantDep,
    services: ServicesDep,
    occurrence: OccurrenceQuery = None,
) -> Response:
    return await _ack_export(notice_id, occurrence, "csv", session, tenant, services)


@router.get(
    "/{notice_id:int}/acknowledgements.xlsx",
    summary="Who acknowledged the notice, as an Excel workbook (XLSX)",
    description="The columns and rows of acknowledgements.csv; times are dates on the "
    "ward's clock, by_leader a boolean.",
    response_class=Response,
    responses=xlsx_responses("One sheet, a row per acknowledgement"),
)
async def acknowledgements_as_xlsx(
    notice_id: IdPath,
    session: SessionDep,
    tenant: TenantDep,
    services: ServicesDep,
    occurrence: OccurrenceQuery = None,
) -> Response:
    return await _ack_export(notice_id, occurrence, "xlsx", session, tenant, services)


async def _ack_export(
    notice_id: int,
    occurrence: int | None,
    fmt: Format,
    session: AsyncSession,
    tenant: Tenant,
    services: ApiServices,
) -> Response:
    sheet = await acknowledgement_sheet(
        session=session, notice_id=notice_id, occurrence=occurrence, within=tenant
    )
    suffix = f"-{occurrence}" if occurrence is not None else ""
    return sheet_response(
        sheet,
        fmt,
        filename=f"notice-{notice_id}{suffix}-acknowledgements",
        settings=services.settings,
    )


@router.get(
    "/{notice_id}/pending",
    summary="The channels the notice reached where nobody has acknowledged it",
    description="For one occurrence (default: the latest). Channels whose delivery failed "
    "or is still going out are not listed: see GET /notices/{id} for those.",
)
async def pending(
    notice_id: IdPath,
    session: SessionDep,
    tenant: TenantDep,
    occurrence: OccurrenceQuery = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> Listing[PendingChannelPublic]:
    rows, count = await list_pending(
        session=session,
        notice_id=notice_id,
        occurrence=occurrence,
        offset=offset,
        limit=limit,
        within=tenant,
    )
    return Listing(data=rows, count=count)


@router.post(
    "/{notice_id}/remind",
    summary="Remind the channels that have not acknowledged",
    description="Queues one short reminder, with the acknowledge button, as a reply to the "
    "notice in each channel of the occurrence (default: the latest) where nobody has "
    "acknowledged; a channel with a reminder still on its way gets no second one. 409 when "
    "the notice has not reached any channel, or was cancelled or recalled.",
    responses=problem_responses(409),
)
async def remind(
    notice_id: IdPath,
    session: SessionDep,
    caller: AdminCaller,
    body: Annotated[RemindRequest | None, Body()] = None,
) -> RemindResult:
    occurrence = body.occurrence if body is not None else None
    await get_notice(session=session, notice_id=notice_id, within=caller.tenant)  # 404 first
    if occurrence is None:
        occurrence = await latest_occurrence(session=session, notice_id=notice_id)
    reminded = await remind_silent(
        session=session,
        notice_id=notice_id,
        occurrence=occurrence,
        actor=caller.actor,
        within=caller.tenant,
    )
    return RemindResult(notice_id=notice_id, occurrence=occurrence or 0, reminded=reminded)
