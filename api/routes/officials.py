"""Ward officials: list them, invite new ones, remove those who left."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import AdminCaller, Limit, Offset, SessionDep, TenantDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import IssuedCode, Listing, OfficialInviteRequest, OfficialUpdate
from broadcasts.areas import get_ward_by_code
from broadcasts.invites import create_invite
from broadcasts.models import Area, InviteKind
from broadcasts.officials import (
    OfficialPublic,
    deactivate_official,
    list_officials,
    set_official_role,
    to_public,
)

router = APIRouter(
    prefix="/officials",
    tags=["officials"],
    dependencies=[Depends(require_scope("admin"))],
    responses=PROBLEM_RESPONSES,
)


@router.get("", summary="List officials", responses=problem_responses(404))
async def index(
    session: SessionDep,
    tenant: TenantDep,
    offset: Offset = 0,
    limit: Limit = 100,
    ward: Annotated[str | None, Query(description="only officials of this ward")] = None,
    active: bool | None = None,
) -> Listing[OfficialPublic]:
    rows, count = await list_officials(
        session=session, ward_code=ward, active=active, offset=offset, limit=limit, within=tenant
    )
    return Listing(data=[to_public(o, w) for o, w in rows], count=count)


@router.post(
    "/invite-codes",
    status_code=201,
    summary="A code for an official to register",
    responses=problem_responses(404),
)
async def invite_code(
    body: OfficialInviteRequest, session: SessionDep, caller: AdminCaller
) -> IssuedCode:
    ward = await get_ward_by_code(session=session, code=body.ward_code, within=caller.tenant)
    invite = await create_invite(
        session=session,
        kind=InviteKind.official,
        area_id=ward.id or 0,
        ttl_hours=body.ttl_hours,
        note=body.note,
    )
    await caller.record(
        session,
        "official.code",
        f"area:{ward.code}",
        ward_id=ward.id,
        note=body.note,
        expires_at=invite.expires_at,
    )
    return IssuedCode(
        code=invite.code,
        area_code=ward.code,
        area_name=ward.name,
        expires_at=invite.expires_at,
        command=f"/start {invite.code}",
        instructions=f"Open a private chat with the bot and send /start {invite.code}",
    )


@router.post(
    "/{official_id}/deactivate",
    summary="Stop an official from sending notices",
    responses=problem_responses(404),
)
async def deactivate(
    official_id: IdPath, session: SessionDep, caller: AdminCaller
) -> OfficialPublic:
    official = await deactivate_official(
        session=session, official_id=official_id, within=caller.tenant
    )
    await caller.record(
        session, "official.deactivate", f"official:{official.id}", ward_id=official.ward_id
    )
    ward = await session.get(Area, official.ward_id)
    assert ward is not None
    return to_public(official, ward)


@router.patch(
    "/{official_id:int}",
    summary="Change an official's role in their ward",
    description="`official` composes and sends notices; `approver` also approves them.",
    responses=problem_responses(404),
)
async def patch(
    official_id: IdPath, body: OfficialUpdate, session: SessionDep, caller: AdminCaller
) -> OfficialPublic:
    official = await set_official_role(
        session=session, official_id=official_id, role=body.role, within=caller.tenant
    )
    await caller.record(
        session,
        "official.update",
        f"official:{official.id}",
        ward_id=official.ward_id,
        role=body.role,
    )
    ward = await session.get(Area, official.ward_id)
    assert ward is not None
    return to_public(official, ward)
