"""Notices as admins and report readers see them: lists, per-channel detail, reports.

Reading needs the `reports` scope (admin keys have it); cancelling needs `admin`.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from fastapi.responses import Response

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
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import Listing
from broadcasts.areas import get_area_by_code
from broadcasts.models import DeliveryStatus, NoticeStatus
from broadcasts.notices import cancel_notice
from broadcasts.reports import (
    NoticeDetail,
    NoticeReport,
    NoticeSummary,
    list_notices,
    notice_detail,
    notice_report,
    notice_summary,
    report_csv,
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
    summary="The report by area as CSV (for Excel)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "example": (
                        "area_code,area_name,level,targeted,sent,failed,pending,cancelled,acknowledged,"
                        "acknowledgements,leader_acknowledged,member_acknowledged\r\n"
                        "BT-KP3,Khu phố 3,neighbourhood,3,3,0,0,0,2,2,1,1\r\n"
                        "TOTAL,,,3,3,0,0,0,2,2,1,1\r\n"
                    )
                }
            }
        }
    },
)
async def report_as_csv(notice_id: IdPath, session: SessionDep, tenant: TenantDep) -> Response:
    data = await notice_report(session=session, notice_id=notice_id, within=tenant)
    return Response(
        report_csv(data).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="notice-{notice_id}-report.csv"'},
    )
