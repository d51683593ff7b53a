"""The audit log, newest first: who did what through the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import Limit, Offset, SessionDep, TenantDep, require_scope
from api.errors import PROBLEM_RESPONSES
from api.schemas import Listing
from broadcasts.audit import AuditEventPublic, list_events

router = APIRouter(
    prefix="/audit-events",
    tags=["audit"],
    dependencies=[Depends(require_scope("admin"))],
    responses=PROBLEM_RESPONSES,
)


@router.get("", summary="Read the audit log")
async def index(
    session: SessionDep,
    tenant: TenantDep,
    offset: Offset = 0,
    limit: Limit = 100,
    action: Annotated[str | None, Query(examples=["area.import"])] = None,
    subject: Annotated[str | None, Query(examples=["area:BT"])] = None,
) -> Listing[AuditEventPublic]:
    rows, count = await list_events(
        session=session, action=action, subject=subject, offset=offset, limit=limit, within=tenant
    )
    return Listing(
        data=[AuditEventPublic.model_validate(e, from_attributes=True) for e in rows], count=count
    )
