"""Bots: add a ward's bot by its token (Loa asks the platform whose it is), list, rotate, disable.

Tokens go in and never come out: answers name the bot by id and username. A bot added
or changed here is served by the bot process from its next start.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import AdminCaller, Limit, Offset, ServicesDep, SessionDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import BotCreate, BotTokenRotate, Listing
from broadcasts.bots import (
    BotPublic,
    add_bot,
    bot_ward,
    get_bot,
    list_bots,
    rotate_token,
    set_bot_active,
    to_public,
)
from broadcasts.models import Area, BotAccount
from broadcasts.transports.base import BotIdentity
from broadcasts.transports.telegram import telegram_identity
from broadcasts.transports.zalo import zalo_identity

router = APIRouter(
    prefix="/bots",
    tags=["bots"],
    dependencies=[Depends(require_scope("admin"))],
    responses=PROBLEM_RESPONSES,
)


async def _identity(services: ServicesDep, token: str, transport: str) -> BotIdentity:
    settings = services.settings
    timeout = settings.delivery.send_timeout_seconds
    if transport == "zalo":
        return await zalo_identity(token=token, api_base=settings.zalo.api_base, timeout=timeout)
    return await telegram_identity(
        token=token, api_base=settings.telegram.api_base, timeout=timeout
    )


async def _public(session: SessionDep, bot: BotAccount) -> BotPublic:
    ward = await session.get(Area, bot.ward_id) if bot.ward_id else None
    return to_public(bot, ward)


@router.get("", summary="List bots (never their tokens)")
async def index(
    session: SessionDep, caller: AdminCaller, offset: Offset = 0, limit: Limit = 100
) -> Listing[BotPublic]:
    rows, count = await list_bots(session=session, offset=offset, limit=limit, within=caller.tenant)
    return Listing(data=[to_public(b, w) for b, w in rows], count=count)


@router.post(
    "",
    status_code=201,
    summary="Add a ward's bot by its token",
    responses=problem_responses(404, 409, 502),
)
async def create(
    body: BotCreate, session: SessionDep, services: ServicesDep, caller: AdminCaller
) -> BotPublic:
    ward = await bot_ward(session=session, ward_code=body.ward, within=caller.tenant)
    # After the ward: a 404 asks no one.
    identity = await _identity(services, body.token, body.transport)
    bot = await add_bot(
        session=session, transport=body.transport, token=body.token, identity=identity, ward=ward
    )
    await caller.record(
        session, "bot.create", f"bot:{bot.id}", ward_id=bot.ward_id, username=bot.username
    )
    return await _public(session, bot)


@router.get("/{bot_id}", summary="One bot", responses=problem_responses(404))
async def show(bot_id: IdPath, session: SessionDep, caller: AdminCaller) -> BotPublic:
    bot = await get_bot(session=session, bot_id=bot_id, within=caller.tenant)
    return await _public(session, bot)


@router.post(
    "/{bot_id}/token",
    summary="Replace a bot's token (after /revoke at @BotFather)",
    responses=problem_responses(404, 409, 502),
)
async def rotate(
    bot_id: IdPath,
    body: BotTokenRotate,
    session: SessionDep,
    services: ServicesDep,
    caller: AdminCaller,
) -> BotPublic:
    known = await get_bot(session=session, bot_id=bot_id, within=caller.tenant)  # 404 asks no one
    identity = await _identity(services, body.token, known.transport)
    bot = await rotate_token(
        session=session, bot_id=bot_id, token=body.token, identity=identity, within=caller.tenant
    )
    await caller.record(session, "bot.rotate", f"bot:{bot_id}", ward_id=bot.ward_id)
    return await _public(session, bot)


@router.post("/{bot_id}/disable", summary="Stop serving a bot", responses=problem_responses(404))
async def disable(bot_id: IdPath, session: SessionDep, caller: AdminCaller) -> BotPublic:
    bot = await set_bot_active(session=session, bot_id=bot_id, active=False, within=caller.tenant)
    await caller.record(session, "bot.disable", f"bot:{bot_id}", ward_id=bot.ward_id)
    return await _public(session, bot)


@router.post(
    "/{bot_id}/enable", summary="Serve a disabled bot again", responses=problem_responses(404)
)
async def enable(bot_id: IdPath, session: SessionDep, caller: AdminCaller) -> BotPublic:
    bot = await set_bot_active(session=session, bot_id=bot_id, active=True, within=caller.tenant)
    await caller.record(session, "bot.enable", f"bot:{bot_id}", ward_id=bot.ward_id)
    return await _public(session, bot)
