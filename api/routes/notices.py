"""Notices as admins and report readers see them: lists, per-channel detail, reports;
and notices made whole through the API (create, confirm, reschedule, cancel).

Reading needs the `reports` scope (admin keys have it); writing needs `admin`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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
from api.downloads import sheet_response, xlsx_responses
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath, Locale
from api.routes.drafts import RenditionPublic, WarningPublic
from api.schemas import Listing
from broadcasts.areas import get_area_by_code
from broadcasts.errors import InvalidInput
from broadcasts.intake import Intake, NoticeRequest, confirm_notice, take_notice
from broadcasts.models import DeliveryStatus, Notice, NoticeStatus, utcnow
from broadcasts.notices import cancel_notice, get_notice, renditions_of, reschedule_notice
from broadcasts.recurrence import check_rule, describe
from broadcasts.reports import (
    NoticeDetail,
    NoticeReport,
    NoticeSummary,
    list_notices,
    notice_detail,
    notice_report,
    notice_summary,
    report_sheet,
)

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/notices",
    tags=["notices"],
    dependencies=[Depends(require_scope("reports"))],
    responses={**PROBLEM_RESPONSES, **problem_responses(404)},
)


@router.get("", summary="List notices, newest first")
async def index(
    session: SessionDep,
    tenant: TenantDep,
    offset: Offset = 0,
    limit: Limit = 50,
    ward: Annotated[str | None, Query(description="only notices of this ward")] = None,
    status: NoticeStatus | None = None,
) -> Listing[NoticeSummary]:
    area = await get_area_by_code(session=session, code=ward, within=tenant) if ward else None
    rows, count = await list_notices(
        session=session,
        ward_id=area.id if area else None,
        status=status,
        offset=offset,
        limit=limit,
        within=tenant,
    )
    return Listing(data=rows, count=count)


@router.get(
    "/{notice_id:int}", summary="A notice with each channel's delivery and acknowledgements"
)
async def show(
    notice_id: IdPath,
    session: SessionDep,
    tenant: TenantDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=5000, description="channel rows to return")] = 1000,
    status: Annotated[
        DeliveryStatus | None, Query(description="only deliveries in this state")
    ] = None,
    acknowledged: Annotated[
        bool | None, Query(description="only channels that did / did not acknowledge")
    ] = None,
) -> NoticeDetail:
    return await notice_detail(
        session=session,
        notice_id=notice_id,
        status=status,
        acknowledged=acknowledged,
        offset=offset,
        limit=limit,
        within=tenant,
    )


@router.post(
    "/{notice_id}/cancel",
    summary="Cancel a notice",
    description="A draft or scheduled notice is not sent; one going out stops what "
    "has not been sent yet.",
    responses=problem_responses(409),
)
async def cancel(
    notice_id: IdPath,
    session: SessionDep,
    caller: AdminCaller,
    services: ServicesDep,
    background: BackgroundTasks,
) -> NoticeSummary:
    notice = await cancel_notice(session=session, notice_id=notice_id, within=caller.tenant)
    await caller.record(session, "notice.cancel", f"notice:{notice_id}", ward_id=notice.ward_id)
    if services.on_cancel is not None:
        # Runs after the response, so after the commit: the hook sees the cancelled notice.
        background.add_task(_notify_cancelled, services, notice_id)
    return await notice_summary(session=session, notice_id=notice_id)


async def _notify_cancelled(services: ApiServices, notice_id: int) -> None:
    assert services.on_cancel is not None
    try:
        await services.on_cancel(notice_id)
    except Exception:  # the cancel is committed; a failed hook only delays its side effects
        log.exception("on_cancel hook failed for notice %s", notice_id)


@router.get("/{notice_id}/report", summary="Delivery and acknowledgement report by area")
async def report(notice_id: IdPath, session: SessionDep, tenant: TenantDep) -> NoticeReport:
    return await notice_report(session=session, notice_id=notice_id, within=tenant)


@router.get(
    "/{notice_id}/report.csv",
    summary="The report by area as CSV (for Excel), with the totals per transport",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "example": (
                        "area_code,area_name,level,targeted,sent,failed,pending,cancelled,acknowledged,"
                        "acknowledgements,leader_acknowledged,member_acknowledged,"
                        "telegram_targeted,telegram_sent,telegram_failed,telegram_acknowledged,"
                        "zalo_targeted,zalo_sent,zalo_failed,zalo_acknowledged\r\n"
                        "BT-KP3,Khu phố 3,neighbourhood,3,3,0,0,0,2,2,1,1,2,2,0,1,1,1,0,1\r\n"
                        "TOTAL,,,3,3,0,0,0,2,2,1,1,2,2,0,1,1,1,0,1\r\n"
                    )
                }
            }
        }
    },
)
async def report_as_csv(
    notice_id: IdPath, session: SessionDep, tenant: TenantDep, services: ServicesDep
) -> Response:
    data = await notice_report(session=session, notice_id=notice_id, within=tenant)
    return sheet_response(
        report_sheet(data),
        "csv",
        filename=f"notice-{notice_id}-report",
        settings=services.settings,
    )


@router.get(
    "/{notice_id:int}/report.xlsx",
    summary="The report by area as an Excel workbook (XLSX)",
    description="The columns and rows of report.csv, numbers as numbers, a frozen header.",
    response_class=Response,
    responses=xlsx_responses("The report: one sheet, a row per area and a TOTAL row"),
)
async def report_as_xlsx(
    notice_id: IdPath, session: SessionDep, tenant: TenantDep, services: ServicesDep
) -> Response:
    data = await notice_report(session=session, notice_id=notice_id, within=tenant)
    return sheet_response(
        report_sheet(data),
        "xlsx",
        filename=f"notice-{notice_id}-report",
        settings=services.settings,
    )


class NoticeCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "Thu gom rác cồng kềnh: 18 giờ thứ Năm hằng tuần tại đầu hẻm.",
                    "targets": ["BT-KP1", "BT-KP3"],
                    "at": "2026-12-03T18:00:00+07:00",
                    "rrule": "FREQ=WEEKLY;BYDAY=TH;UNTIL=20261231",
                    "urgent": False,
                    "ack_deadline": None,
                    "locales": None,
                    "official": None,
                    "ward": "BT",
                    "confirm": True,
                    "accept_findings": False,
                }
            ]
        }
    )

    text: str = Field(min_length=1, max_length=20_000)
    targets: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=500, description="area codes inside the ward"
    )
    at: AwareDatetime | None = Field(
        default=None, description="when to send (ISO 8601 with an offset); null: now"
    )
    rrule: str | None = Field(
        default=None,
        max_length=400,
        description="RFC 5545 RRULE, read on the ward's clock from `at` (or now), e.g. "
        "FREQ=WEEKLY;BYDAY=TH; at most hourly",
    )
    urgent: bool | None = Field(default=None, description="null: as the AI step found it")
    ack_deadline: AwareDatetime | None = None
    locales: list[Locale] | None = Field(default=None, max_length=10)
    official: int | None = Field(
        default=None, description="the official who reviews it in the bot when not confirmed"
    )
    ward: str | None = Field(
        default=None, max_length=64, description="ward code; a ward key's own ward by default"
    )
    confirm: bool = Field(default=False, description="schedule at once")
    accept_findings: bool = Field(
        default=False, description="with confirm: send even with facts the fact check flagged"
    )


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"accept_findings": False}]})

    accept_findings: bool = False


class RescheduleRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"at": "2026-12-05T07:30:00+07:00"}]})

    at: AwareDatetime


class NoticeIntake(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "status": "scheduled",
                    "title": "Thu gom rác cồng kềnh",
                    "urgent": False,
                    "scheduled_at": "2026-12-03T11:00:00Z",
                    "rrule": "DTSTART;TZID=Asia/Ho_Chi_Minh:20261203T180000\n"
                    "RRULE:FREQ=WEEKLY;BYDAY=TH;UNTIL=20261231T165959Z",
                    "repeats": "Thứ Năm hằng tuần, 18:00, đến 31/12/2026",
                    "ack_deadline": None,
                    "approval": "",
                    "review_by": None,
                    "unchecked": [],
                    "renditions": [
                        {
                            "locale": "vi",
                            "text": "Thu gom rác cồng kềnh 18 giờ thứ Năm hằng tuần.",
                            "source": "offline",
                            "findings": [],
                            "flagged": False,
                            "confirmed": False,
                        }
                    ],
                    "warnings": [],
                }
            ]
        }
    )

    id: int
    status: NoticeStatus
    title: str
    urgent: bool
    scheduled_at: datetime | None = Field(
        description="the next time it goes out (a draft: the time asked for; null: now)"
    )
    rrule: str | None
    repeats: str | None = Field(description="the repeat as the bot says it (Vietnamese)")
    ack_deadline: datetime | None
    approval: str = Field(
        description="where it stands with the ward's approvers: '' (none needed), 'pending' "
        "(waiting: not sent yet), 'approved', 'changes', 'rejected', or 'skipped' (urgent)"
    )
    review_by: int | None = Field(description="the official asked to review it in the bot")
    unchecked: list[str] = Field(description="renditions with facts to check before confirming")
    renditions: list[RenditionPublic]
    warnings: list[WarningPublic]


def _repeats(notice: Notice) -> str | None:
    """The repeat as the bot says it; a draft holds the rule as it was given."""
    if not notice.rrule:
        return None
    if notice.status != NoticeStatus.draft:
        return describe(notice.rrule)
    try:
        return describe(check_rule(notice.rrule, start=notice.scheduled_at or utcnow()).text)
    except InvalidInput:
        return None  # its time has passed meanwhile: confirming it says so


async def notice_intake(session: SessionDep, notice: Notice, intake: Intake | None) -> NoticeIntake:
    notice_id = notice.id or 0
    rows = await renditions_of(session=session, notice_id=notice_id)
    renditions = [
        RenditionPublic(
            locale=r.locale,
            text=r.text,
            source=r.source,
            findings=r.findings,
            flagged=bool(r.findings) and not r.confirmed,
            confirmed=r.confirmed,
        )
        for r in sorted(rows.values(), key=lambda r: (r.locale != "vi", r.locale))
    ]
    prep = intake.preparation if intake is not None else None
    return NoticeIntake(
        id=notice_id,
        status=notice.status,
        title=notice.title,
        urgent=notice.urgent,
        scheduled_at=notice.scheduled_at,
        rrule=notice.rrule,
        repeats=_repeats(notice),
        ack_deadline=notice.ack_deadline,
        approval=notice.approval,
        review_by=notice.official_id if notice.review_requested_at else None,
        unchecked=[r.locale for r in renditions if r.flagged],
        renditions=renditions,
        warnings=[
            WarningPublic(code=w.code, detail=w.detail, locale=w.locale)
            for w in (prep.warnings if prep is not None else [])
        ],
    )


@router.post(
    "",
    status_code=201,
    summary="Create a notice: the AI step, targets, time or repeat; confirmed or for review",
    description="With `confirm` it is scheduled at once (facts the fact check flagged need "
    "`accept_findings`); otherwise it waits for `POST /notices/{id}/confirm`, or for the "
    "named `official` to review it in the bot. In a ward whose policy needs approval, a "
    "confirmed notice waits for an approver (`approval: pending`); with no approver in the "
    "ward the answer is 409 (`reason: no_approver`) and nothing is created.",
    responses=problem_responses(409, 422),
)
async def create(
    body: NoticeCreate, session: SessionDep, services: ServicesDep, caller: AdminCaller
) -> NoticeIntake:
    intake = await take_notice(
        session=session,
        within=caller.tenant,
        request=NoticeRequest(
            text=body.text,
            targets=body.targets,
            at=body.at,
            rrule=body.rrule,
            urgent=body.urgent,
            ack_deadline=body.ack_deadline,
            locales=body.locales,
            official_id=body.official,
            ward_code=body.ward,
            confirm=body.confirm,
            accept_findings=body.accept_findings,
        ),
        ai=services.settings.ai,
        actor=caller.actor,
    )
    return await notice_intake(session, intake.notice, intake)


@router.post(
    "/{notice_id}/confirm",
    summary="Confirm a draft: schedule it at the time it holds (now when none)",
    responses=problem_responses(409, 422),
)
async def confirm(
    notice_id: IdPath,
    session: SessionDep,
    caller: AdminCaller,
    body: Annotated[ConfirmRequest | None, Body()] = None,
) -> NoticeIntake:
    notice = await confirm_notice(
        session=session,
        notice_id=notice_id,
        within=caller.tenant,
        accept_findings=body.accept_findings if body is not None else False,
        actor=caller.actor,
    )
    return await notice_intake(session, notice, None)


@router.post(
    "/{notice_id}/reschedule",
    summary="Move a scheduled notice (a recurring one: its next occurrence) to another time",
    responses=problem_responses(409, 422),
)
async def reschedule(
    notice_id: IdPath, body: RescheduleRequest, session: SessionDep, caller: AdminCaller
) -> NoticeIntake:
    notice = await get_notice(session=session, notice_id=notice_id, within=caller.tenant)
    notice = await reschedule_notice(
        session=session, ward_id=notice.ward_id, notice_id=notice_id, at=body.at, actor=caller.actor
    )
    return await notice_intake(session, notice, None)
