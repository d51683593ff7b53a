"""Group chats: list and inspect them, hand out registration codes, switch them off."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import AdminCaller, Limit, Offset, SessionDep, TenantDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import ChannelUpdate, Deactivate, IssuedCode, Listing, RegistrationCodeRequest
from broadcasts.areas import get_area_by_code
from broadcasts.channels import (
    ChannelPublic,
    bot_for_area,
    deactivate_channel,
    get_channel,
    list_channels,
    reactivate_channel,
    registration_command,
    set_channel_locale,
    to_public,
)
from broadcasts.invites import create_invite
from broadcasts.models import Area, Channel, InviteKind
from broadcasts.tenancy import ward_id_of

router = APIRouter(
    prefix="/channels",
    tags=["channels"],
    dependencies=[Depends(require_scope("admin"))],
    responses=PROBLEM_RESPONSES,
)


async def channel_by_id(channel_id: IdPath, session: SessionDep, tenant: TenantDep) -> Channel:
    return await get_channel(session=session, channel_id=channel_id, within=tenant)


ChannelDep = Annotated[Channel, Depends(channel_by_id)]


async def _public(session: AsyncSession, channel: Channel) -> ChannelPublic:
    area = await session.get(Area, channel.area_id)
    assert area is not None
    return to_public(channel, area)


async def _ward_id(session: AsyncSession, channel: Channel) -> int | None:
    area = await session.get(Area, channel.area_id)
    return await ward_id_of(session=session, area=area) if area is not None else None


@router.get("", summary="List channels in tree order", responses=problem_responses(404))
async def index(
    session: SessionDep,
    tenant: TenantDep,
    offset: Offset = 0,
    limit: Limit = 100,
    area: Annotated[str | None, Query(description="only channels in this area's subtree")] = None,
    active: bool | None = None,
) -> Listing[ChannelPublic]:
    rows, count = await list_channels(
        session=session, area_code=area, active=active, offset=offset, limit=limit, within=tenant
    )
    return Listing(data=[to_public(c, a) for c, a in rows], count=count)


@router.post(
    "/registration-codes",
    status_code=201,
    summary="A code to register a group chat",
    responses=problem_responses(404),
)
async def registration_code(
    body: RegistrationCodeRequest, session: SessionDep, caller: AdminCaller
) -> IssuedCode:
    area = await get_area_by_code(session=session, code=body.area_code, within=caller.tenant)
    invite = await create_invite(
        session=session,
        kind=InviteKind.channel,
        area_id=area.id or 0,
        ttl_hours=body.ttl_hours,
        note=body.note,
    )
    await caller.record(
        session,
        "channel.code",
        f"area:{area.code}",
        ward_id=await ward_id_of(session=session, area=area),
        expires_at=invite.expires_at,
    )
    bot = await bot_for_area(session=session, area=area)
    username = bot.username if bot else None
    command = registration_command(username=username, code=invite.code)
    return IssuedCode(
        code=invite.code,
        area_code=area.code,
        area_name=area.name,
        expires_at=invite.expires_at,
        command=command,
        instructions=f"Add {'@' + username if username else 'the bot'} to the group, then "
        "send in the group (in the forum topic that should get notices, if the group has "
        f"topics): {command}",
    )


@router.get("/{channel_id:int}", summary="One channel", responses=problem_responses(404))
async def show(channel: ChannelDep, session: SessionDep) -> ChannelPublic:
    return await _public(session, channel)


@router.patch(
    "/{channel_id:int}",
    summary="Change the language the group reads",
    responses=problem_responses(404),
)
async def patch(
    channel: ChannelDep, body: ChannelUpdate, session: SessionDep, caller: AdminCaller
) -> ChannelPublic:
    channel = await set_channel_locale(
        session=session, channel_id=channel.id or 0, locale=body.locale
    )
    await caller.record(
        session,
        "channel.update",
        f"channel:{channel.id}",
        ward_id=await _ward_id(session, channel),
        locale=channel.locale,
    )
    return await _public(session, channel)


@router.post(
    "/{channel_id}/deactivate",
    summary="Stop sending to a channel",
    responses=problem_responses(404),
)
async def deactivate(
    channel: ChannelDep, body: Deactivate, session: SessionDep, caller: AdminCaller
) -> ChannelPublic:
    channel = await deactivate_channel(
        session=session, channel_id=channel.id or 0, reason=body.reason
    )
    await caller.record(
        session,
        "channel.deactivate",
        f"channel:{channel.id}",
        ward_id=await _ward_id(session, channel),
        reason=body.reason,
    )
    return await _public(session, channel)


@router.post(
    "/{channel_id}/activate", summary="Send to a channel again", responses=problem_responses(404)
)
async def activate(channel: ChannelDep, session: SessionDep, caller: AdminCaller) -> ChannelPublic:
    channel = await reactivate_channel(session=session, channel_id=channel.id or 0)
    await caller.record(
        session,
        "channel.activate",
        f"channel:{channel.id}",
        ward_id=await _ward_id(session, channel),
    )
    return await _public(session, channel)
