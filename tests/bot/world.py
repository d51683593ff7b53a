"""The bot tests' world: the real runtime (bot, scheduler, delivery worker) on the sandbox
Telegram server, a seeded ward, registered groups, and helpers that act as people.

Every bot test builds its world here (`open_world`), so they all run against the same
rules: the sandbox's, as strict as Telegram's (none of them loosened).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram.filters.callback_data import CallbackData
from pydantic import SecretStr
from sqlalchemy import select

from bot.keyboards import ReviewCb, TreeCb, WhenCb
from broadcasts.ai import AISettings
from broadcasts.area_import import import_areas_csv
from broadcasts.channels import registration_command
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.models import Area, InviteKind, Notice, NoticeStatus
from broadcasts.settings import (
    ApiSettings,
    AttachmentSettings,
    DeliverySettings,
    Settings,
    TelegramSettings,
)
from loa.demo import Player
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer

SAMPLES = Path(__file__).resolve().parents[2] / "broadcasts" / "samples"
TOKEN = "710001:TestWardBot"
OFFICIAL = {"id": 9001, "first_name": "Hùng", "last_name": "Trần"}
ME = OFFICIAL["id"]


@dataclass
class World:
    runtime: Runtime
    client: SandboxClient
    player: Player
    chats: dict[str, int]  # area code -> group chat id
    leaders: dict[int, dict[str, Any]]
    official_code: str


Seed = Callable[[Runtime, SandboxClient], Awaitable[tuple[dict[str, int], dict[int, Any], str]]]


async def seed_sample_ward(
    runtime: Runtime, client: SandboxClient
) -> tuple[dict[str, int], dict[int, Any], str]:
    """The sample ward (4 khu phố, 8 tổ), every area's group registered by its leader."""
    async with session_scope(runtime.sessionmaker) as session:
        csv_text = (SAMPLES / "ward-ben-thanh.csv").read_text(encoding="utf-8")
        await import_areas_csv(session=session, ward_code=None, data=csv_text)
        areas = list(await session.scalars(select(Area).where(Area.path.like("HCM/BT/%"))))
        ward = (await session.scalars(select(Area).where(Area.code == "BT"))).one()
        official_code = (
            await create_invite(session=session, kind=InviteKind.official, area_id=ward.id or 0)
        ).code
        codes = {
            a.code: (
                await create_invite(session=session, kind=InviteKind.channel, area_id=a.id or 0)
            ).code
            for a in areas
        }
    chats: dict[str, int] = {}
    leaders: dict[int, dict[str, Any]] = {}
    assert runtime.bot is not None
    me = await runtime.bot.me()
    for i, (area_code, code) in enumerate(sorted(codes.items())):
        leader = {"id": 8000 + i, "first_name": f"Leader {area_code}"}
        chat_id = await client.add_bot_to_group(TOKEN, f"Nhóm {area_code}", leader)
        # Privacy mode: the form of the command that always reaches the bot.
        command = registration_command(username=me.username, code=code)
        await client.group_message(TOKEN, chat_id, leader, command)
        chats[area_code] = chat_id
        leaders[chat_id] = leader
    player = Player(client, TOKEN, OFFICIAL)
    for chat_id in chats.values():
        await player.wait_text(chat_id, "✅")
    return chats, leaders, official_code


@asynccontextmanager
async def open_world(
    database_url: str,
    *,
    roles: Roles = Roles(api=False),
    ai: AISettings | None = None,
    seed: Seed = seed_sample_ward,
    attachments: AttachmentSettings | None = None,
    api: ApiSettings | None = None,
) -> AsyncIterator[World]:
    """The runtime on the sandbox, seeded by `seed`; with the API role, the API listens on
    a port the OS picks (`runtime.api_url`)."""
    sandbox = SandboxServer()
    await sandbox.start()
    settings = Settings(
        database_url=database_url,
        telegram=TelegramSettings(
            token=SecretStr(TOKEN), api_base=sandbox.url, poll_timeout_seconds=1
        ),
        delivery=DeliverySettings(poll_interval_seconds=0.2, backoff_base_seconds=0.1),
        ai=ai or AISettings(),
        api=api or ApiSettings(port=0),
    )
    if attachments is not None:
        settings.attachments = attachments
    runtime = Runtime(settings, roles)
    client = SandboxClient(sandbox.url)
    world = None
    try:
        assert (await client.limits())["telegram"]  # Telegram's own limits, not looser
        await runtime.start()
        chats, leaders, code = await seed(runtime, client)
        world = World(runtime, client, Player(client, TOKEN, OFFICIAL), chats, leaders, code)
        yield world
    finally:
        await (world.runtime if world else runtime).stop()  # a test may have restarted it
        await client.aclose()
        await sandbox.stop()


async def register_official(w: World) -> None:
    await w.player.say_private(f"/start {w.official_code}")
    await w.player.wait_text(ME, "Từ nay")


async def another_official(w: World, user_id: int) -> Player:
    """One more official of the sample ward, registered, with a chat of their own (and
    so a flood bucket of their own: flows of different officials run side by side)."""
    async with session_scope(w.runtime.sessionmaker) as session:
        ward = (await session.scalars(select(Area).where(Area.code == "BT"))).one()
        code = (
            await create_invite(session=session, kind=InviteKind.official, area_id=ward.id or 0)
        ).code
    player = Player(w.client, TOKEN, {"id": user_id, "first_name": f"Cán bộ {user_id}"})
    await player.say_private(f"/start {code}")
    await player.wait_text(user_id, "Từ nay")
    return player


async def area_id(w: World, code: str) -> int:
    async with session_scope(w.runtime.sessionmaker) as session:
        area = (await session.scalars(select(Area).where(Area.code == code))).one()
        return area.id or 0


async def _review_buttons(w: World, chat: int) -> set[str]:
    return {
        b["callback_data"]
        for m in await w.client.messages(TOKEN, chat)
        for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
        if b.get("callback_data", "").startswith("rv:")
    }


def on(cb: CallbackData) -> str:
    """`cb` on any screen: its callback data without the screen number, a prefix for
    `Player.press` that an older notice's screen cannot match."""
    return cb.pack().rsplit(":", 1)[0] + ":"


async def write_notice(
    w: World, notice_file: str = "01-cat-dien.txt", player: Player | None = None
) -> int:
    """Send a sample notice, wait for its review; returns the new notice's id."""
    p = player or w.player
    chat = p.official["id"]
    before = await _review_buttons(w, chat)
    await p.say_private((SAMPLES / "notices" / notice_file).read_text(encoding="utf-8"))
    deadline = asyncio.get_running_loop().time() + 20
    while not (new := (await _review_buttons(w, chat)) - before):
        assert asyncio.get_running_loop().time() < deadline, "no review came"
        await asyncio.sleep(0.1)
    return ReviewCb.unpack(next(iter(new))).n


async def compose(
    w: World, notice_file: str, area_codes: list[str], player: Player | None = None
) -> int:
    """Write a notice, choose areas (a tổ through its khu phố), go on to "when"."""
    p = player or w.player
    me, chat = p.official, p.official["id"]
    n = await write_notice(w, notice_file, p)
    await p.press(chat, on(ReviewCb(action="targets", n=n)), me)
    for code in area_codes:
        parent = code.rsplit("-", 1)[0] if code.count("-") == 2 else None
        if parent:  # a residential group: open its khu phố first, come back after
            tree = TreeCb(action="open", area_id=await area_id(w, parent), n=n)
            await p.press(chat, on(tree), me)
        tree = TreeCb(action="toggle", area_id=await area_id(w, code), n=n)
        await p.press(chat, on(tree), me)
        if parent:
            await p.press(chat, on(TreeCb(action="back", n=n)), me)
    await p.press(chat, on(TreeCb(action="done", n=n)), me)
    await p.button(chat, on(WhenCb(action="now", n=n)))
    return n


async def latest_notice(w: World) -> Notice:
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = (await session.scalars(select(Notice).order_by(Notice.id.desc()))).first()  # type: ignore[union-attr]
    assert notice is not None
    return notice


async def notice_status(w: World, notice_id: int) -> NoticeStatus:
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = await session.get(Notice, notice_id)
    assert notice is not None
    return notice.status


async def wait_status(w: World, notice_id: int, status: NoticeStatus, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await notice_status(w, notice_id) == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"notice {notice_id} never reached {status}")


async def press_on(w: World, message_id: int, data: str, user: dict[str, Any] = OFFICIAL) -> Any:
    """Press a button on one given message (an old one too) and return the bot's answer."""
    cq = await w.client.press(TOKEN, ME, message_id, user, data)
    return await w.client.callback_answer(cq, wait=10.0)


async def official_429s(w: World, chat: int = ME) -> int:
    """429s Telegram (the sandbox) answered to the bot's messages in an official's chat;
    the outbox saw each of them (it retried them all)."""
    assert w.runtime.services is not None
    refused = await w.client.rejected_429(TOKEN, chat)
    assert w.runtime.services.outbox.retry_afters[chat] == refused
    return refused


async def max_buttons(w: World, chat_id: int = ME) -> int:
    """The most buttons any keyboard in the chat had, edits included."""
    most = 0
    for msg in await w.client.messages(TOKEN, chat_id):
        versions = [msg, *msg.get("edits", [])]
        for version in versions:
            rows = (version.get("reply_markup") or {}).get("inline_keyboard", [])
            most = max(most, sum(len(row) for row in rows))
    return most


async def labels(w: World, prefix: str) -> list[str]:
    """The button labels of the newest message with a button whose data starts so."""
    message_id, _ = await w.player.button(ME, prefix)
    msg = next(m for m in await w.client.messages(TOKEN, ME) if m["message_id"] == message_id)
    return [b["text"] for row in msg["reply_markup"]["inline_keyboard"] for b in row]
