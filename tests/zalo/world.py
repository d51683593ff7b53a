"""The whole runtime on both sandboxes: the sample ward's Telegram groups (as in
`tests.bot.world`) and a ward Zalo bot that residents write to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.models import Acknowledgement, Area, BotAccount, InviteKind
from broadcasts.settings import (
    ApiSettings,
    DeliverySettings,
    Settings,
    TelegramSettings,
    ZaloSettings,
)
from loa.demo import Player
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from sandbox.zalo import ZaloControl, ZaloSandbox
from tests.bot.world import OFFICIAL, TOKEN, World, seed_sample_ward

ZALO_TOKEN = "4100999001:zaloWardBotBT"
ZALO_NAME = "bot.loa.benthanh"
WAIT_SECONDS = 20.0


@dataclass
class ZaloWorld:
    world: World  # the Telegram side, as the bot tests know it
    zalo: ZaloControl
    zalo_url: str
    zalo_account_id: int

    @property
    def runtime(self) -> Runtime:
        return self.world.runtime


@asynccontextmanager
async def open_zalo_world(
    database_url: str,
    *,
    roles: Roles = Roles(api=False),
    zalo: ZaloSettings | None = None,
    api: ApiSettings | None = None,
    can_join_groups: bool = False,
) -> AsyncIterator[ZaloWorld]:
    telegram_sandbox, zalo_sandbox = SandboxServer(), ZaloSandbox()
    await telegram_sandbox.start()
    zalo_url = await zalo_sandbox.start()
    zalo_settings = (zalo or ZaloSettings()).model_copy(
        update={"api_base": zalo_url, "poll_timeout_seconds": 1}
    )
    settings = Settings(
        database_url=database_url,
        telegram=TelegramSettings(
            token=SecretStr(TOKEN), api_base=telegram_sandbox.url, poll_timeout_seconds=1
        ),
        zalo=zalo_settings,
        api=api or ApiSettings(),
        delivery=DeliverySettings(poll_interval_seconds=0.2, backoff_base_seconds=0.1),
    )
    runtime = Runtime(settings, roles)
    client = SandboxClient(telegram_sandbox.url)
    control = ZaloControl(zalo_url)
    await control.__aenter__()
    await control.add_bot(ZALO_TOKEN, ZALO_NAME, can_join_groups=can_join_groups)
    # Stored before the start (the runtime serves the Zalo bots it finds), city-wide until
    # the ward exists; then the ward's bot, as POST /bots with "transport": "zalo" makes it.
    async with session_scope(runtime.sessionmaker) as session:
        account = BotAccount(transport="zalo", token=ZALO_TOKEN, username=ZALO_NAME)
        session.add(account)
        await session.flush()
        account_id = account.id or 0
    world: World | None = None
    try:
        await runtime.start()
        chats, leaders, code = await seed_sample_ward(runtime, client)
        async with session_scope(runtime.sessionmaker) as session:
            ward = (await session.scalars(select(Area).where(col(Area.code) == "BT"))).one()
            stored = await session.get(BotAccount, account_id)
            assert stored is not None
            stored.ward_id = ward.id
            session.add(stored)
        world = World(runtime, client, Player(client, TOKEN, OFFICIAL), chats, leaders, code)
        yield ZaloWorld(world, control, zalo_url, account_id)
    finally:
        # A test may have restarted it: stop the runtime running now (and the first, which
        # does nothing if stopped already), or the new one's HTTP sessions stay open.
        if world is not None:
            await world.runtime.stop()
        await runtime.stop()
        await control.__aexit__(None, None, None)
        await client.aclose()
        await zalo_sandbox.stop()
        await telegram_sandbox.stop()


async def channel_code(zw: ZaloWorld, area_code: str) -> str:
    """A fresh registration code for `area_code`."""
    async with session_scope(zw.runtime.sessionmaker) as session:
        area = (await session.scalars(select(Area).where(col(Area.code) == area_code))).one()
        invite = await create_invite(session=session, kind=InviteKind.channel, area_id=area.id or 0)
        return invite.code


async def wait_for(
    zw: ZaloWorld, chat_id: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The chat's messages from the bot, once `done(messages)` holds."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        messages = await zw.zalo.messages(ZALO_TOKEN, chat_id)
        if done(messages):
            return messages
        assert asyncio.get_running_loop().time() < deadline, messages
        await asyncio.sleep(0.05)


async def wait_text(zw: ZaloWorld, chat_id: str, part: str, *, count: int = 1) -> str:
    """The `count`th message of the chat containing `part`."""
    messages = await wait_for(
        zw, chat_id, lambda ms: sum(part in (m.get("text") or "") for m in ms) >= count
    )
    return [m["text"] for m in messages if part in (m.get("text") or "")][count - 1]


async def reply_acks(zw: ZaloWorld, notice_id: int) -> list[tuple[str, str]]:
    """(person_ref, method) of every acknowledgement of the notice."""
    async with session_scope(zw.runtime.sessionmaker) as session:
        rows = await session.execute(
            select(Acknowledgement.person_ref, Acknowledgement.method)  # type: ignore[call-overload]
            .where(Acknowledgement.notice_id == notice_id)
            .order_by(Acknowledgement.id)
        )
        return [(r[0], r[1]) for r in rows]


async def count_acks(zw: ZaloWorld) -> int:
    async with session_scope(zw.runtime.sessionmaker) as session:
        return await session.scalar(select(func.count()).select_from(Acknowledgement)) or 0
