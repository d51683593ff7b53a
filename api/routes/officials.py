"""Ward officials: list them, invite new ones, remove those who left."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import AdminKey, Limit, Offset, SessionDep, actor, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import IssuedCode, Listing, OfficialInviteRequest
from broadcasts import audit
from broadcasts.areas import get_area_by_code
from broadcasts.invites import create_invite
from broadcasts.models import Area, InviteKind
from broadcasts.officials import (
    OfficialPublic,
    deactivate_official,
    list_officials,
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
    offset: Offset = 0,
    limit: Limit = 100,
    ward: Annotated[str | None, Query(description="only officials of this ward")] = None,
    active: bool | None = None,
) -> Listing[OfficialPublic]:
    rows, count = await list_officials(
        session=session, ward_code=ward, active=active, offset=offset, limit=limit
    )
    return Listing(data=[to_public(o, w) for o, w in rows], count=count)


@router.post(
    "/invite-codes",
    status_code=201,
    summary="A code for an official to register",
    responses=problem_responses(404),
)
async def invite_code(
    body: OfficialInviteRequest, session: SessionDep, key: AdminKey
) -> IssuedCode:
    ward = await get_area_by_code(session=session, code=body.ward_code)
    invite = await create_invite(
        session=session,
        kind=InviteKind.official,
        area_id=ward.id or 0,
        ttl_hours=body.ttl_hours,
        note=body.note,
    )
    await audit.record(
        session=session,
        actor=actor(key),
        action="official.code",
        subject=f"area:{ward.code}",
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
async def deactivate(official_id: IdPath, session: SessionDep, key: AdminKey) -> OfficialPublic:
    official = await deactivate_official(session=session, official_id=official_id)
    await audit.record(
        session=session,
        actor=actor(key),
        action="official.deactivate",
        subject=f"official:{official.id}",
    )
    ward = await session.get(Area, official.ward_id)
    assert ward is not None
    return to_public(official, ward)
