"""End to end through the sandbox: the real bot, runtime, scheduler and delivery worker.

Leaders register groups, an official registers, composes, targets and schedules, the
notice arrives in exactly the targeted chats, Đã nhận presses are counted once per person.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from broadcasts.ai import AISettings
from broadcasts.area_import import import_areas_csv
from broadcasts.channels import registration_command
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.models import (
    Acknowledgement,
    Area,
    Channel,
    Delivery,
    DeliveryStatus,
    InviteKind,
    Notice,
    NoticeStatus,
)
from broadcasts.settings import DEFAULT_TIMEZONE, DeliverySettings, Settings, TelegramSettings
from loa.demo import Player
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer

SAMPLES = Path(__file__).resolve().parents[2] / "broadcasts" / "samples"
TOKEN = "710001:TestWardBot"
OFFICIAL = {"id": 9001, "first_name": "Hùng", "last_name": "Trần"}


@dataclass
class World:
    runtime: Runtime
    client: SandboxClient
    player: Player
    chats: dict[str, int]  # area code -> group chat id
    leaders: dict[int, dict[str, Any]]
    official_code: str


async def _seed(
    runtime: Runtime, client: SandboxClient
) -> tuple[dict[str, int], dict[int, Any], str]:
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
    username = (await runtime.bot.me()).username  # privacy mode: the command names the bot
    for i, (area_code, code) in enumerate(sorted(codes.items())):
        leader = {"id": 8000 + i, "first_name": f"Leader {area_code}"}
        chat_id = await client.add_bot_to_group(TOKEN, f"Nhóm {area_code}", leader)
        command = registration_command(username=username, code=code)
        await client.group_message(TOKEN, chat_id, leader, command)
        chats[area_code] = chat_id
        leaders[chat_id] = leader
    return chats, leaders, official_code


@asynccontextmanager
async def open_world(
    database_url: str, *, roles: Roles = Roles(api=False), ai: AISettings | None = None
) -> AsyncIterator[World]:
    """The runtime on the sandbox with the sample ward seeded and every group registered."""
    sandbox = SandboxServer()
    await sandbox.start()
    settings = Settings(
        database_url=database_url,
        telegram=TelegramSettings(
            token=SecretStr(TOKEN), api_base=sandbox.url, poll_timeout_seconds=1
        ),
        delivery=DeliverySettings(poll_interval_seconds=0.2, backoff_base_seconds=0.1),
        ai=ai or AISettings(),
    )
    runtime = Runtime(settings, roles)
    client = SandboxClient(sandbox.url)
    world = None
    try:
        await runtime.start()
        chats, leaders, code = await _seed(runtime, client)
        player = Player(client, TOKEN, OFFICIAL)
        for chat_id in chats.values():
            await player.wait_text(chat_id, "✅")
        world = World(runtime, client, player, chats, leaders, code)
        yield world
    finally:
        await (world.runtime if world else runtime).stop()  # a test may have restarted it
        await client.aclose()
        await sandbox.stop()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        yield w


async def _register_official(w: World) -> None:
    await w.player.say_private(f"/start {w.official_code}")
    await w.player.wait_text(OFFICIAL["id"], "Chào mừng")


async def _area_id(w: World, code: str) -> int:
    async with session_scope(w.runtime.sessionmaker) as session:
        area = (await session.scalars(select(Area).where(Area.code == code))).one()
        return area.id or 0


async def _compose(w: World, notice_file: str, area_codes: list[str]) -> None:
    text = (SAMPLES / "notices" / notice_file).read_text(encoding="utf-8")
    await w.player.say_private(text)
    await w.player.press(OFFICIAL["id"], "rv:targets", OFFICIAL)
    for code in area_codes:
        parent = code.rsplit("-", 1)[0] if code.count("-") == 2 else None
        if parent:  # a residential group: open its khu phố first, come back after
            await w.player.press(
                OFFICIAL["id"], f"tr:open:{await _area_id(w, parent)}", OFFICIAL, exact=True
            )
        await w.player.press(
            OFFICIAL["id"], f"tr:toggle:{await _area_id(w, code)}", OFFICIAL, exact=True
        )
        if parent:
            await w.player.press(OFFICIAL["id"], "tr:back:", OFFICIAL)
    await w.player.press(OFFICIAL["id"], "tr:done", OFFICIAL)


async def _latest_notice(w: World) -> Notice:
    async with session_scope(w.runtime.sessionmaker) as session:
        return (await session.scalars(select(Notice).order_by(Notice.id.desc()))).first()  # type: ignore[union-attr,return-value]


async def _wait_status(w: World, notice_id: int, status: NoticeStatus, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with session_scope(w.runtime.sessionmaker) as session:
            notice = await session.get(Notice, notice_id)
            if notice is not None and notice.status == status:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"notice {notice_id} never reached {status}")


async def test_official_sends_now_to_chosen_areas_and_leaders_acknowledge(world: World) -> None:
    w = world
    await _register_official(w)
    # Khu phố 3 as a whole (with its two groups) plus one group of khu phố 1.
    await _compose(w, "01-cat-dien.txt", ["BT-KP3", "BT-KP1-T2"])
    await w.player.press(OFFICIAL["id"], "wh:now", OFFICIAL)
    await w.player.press(OFFICIAL["id"], "cf:send", OFFICIAL)
    notice = await _latest_notice(w)
    await _wait_status(w, notice.id or 0, NoticeStatus.done)

    targeted = {"BT-KP3", "BT-KP3-T5", "BT-KP3-T6", "BT-KP1-T2"}
    for code, chat_id in w.chats.items():
        got = [
            m
            for m in await w.client.messages(TOKEN, chat_id)
            if "inline_keyboard" in str(m.get("reply_markup"))
        ]
        assert len(got) == (1 if code in targeted else 0), code
        if got:
            assert "1900 545454" in got[0]["text"]  # the hotline survives the summary
            assert got[0]["reply_markup"]["inline_keyboard"][0][0]["text"].endswith("Đã nhận")

    chat = w.chats["BT-KP3"]
    leader = w.leaders[chat]
    first = await w.player.press(chat, "ack:", leader)
    second = await w.player.press(chat, "ack:", leader)
    assert "Cảm ơn" in first
    assert "đã xác nhận" in second
    other = {"id": 4242, "first_name": "Neighbour"}
    await w.player.press(chat, "ack:", other)
    async with session_scope(w.runtime.sessionmaker) as session:
        acks = await session.scalar(
            select(func.count())
            .select_from(Acknowledgement)
            .where(Acknowledgement.notice_id == notice.id)
        )
        statuses = list(
            await session.scalars(select(Delivery.status).where(Delivery.notice_id == notice.id))
        )
    assert acks == 2
    assert statuses == [DeliveryStatus.sent] * 4
    status = await w.player.wait_text(OFFICIAL["id"], "Đã nhận: 1/4 nhóm (2 người)")
    assert "Đã gửi: 4" in status


async def test_scheduled_notice_survives_a_restart(world: World) -> None:
    w = world
    await _register_official(w)
    await _compose(w, "04-rac-cong-kenh.txt", ["BT-KP2"])
    await w.player.press(OFFICIAL["id"], "wh:later", OFFICIAL)
    at = (datetime.now(UTC) + timedelta(seconds=4)).astimezone(ZoneInfo(DEFAULT_TIMEZONE))
    await w.player.say_private(at.strftime("%H:%M:%S %d/%m/%Y"))
    await w.player.press(OFFICIAL["id"], "cf:send", OFFICIAL)
    await w.player.wait_text(OFFICIAL["id"], "Sẽ gửi lúc")
    notice = await _latest_notice(w)
    assert notice.status == NoticeStatus.scheduled
    # Stop everything before the time comes, start again: the schedule comes back.
    settings = w.runtime.settings
    await w.runtime.stop()
    w.runtime = Runtime(settings, Roles(api=False))
    await w.runtime.start()
    await _wait_status(w, notice.id or 0, NoticeStatus.done, timeout=30)
    async with session_scope(w.runtime.sessionmaker) as session:
        sent = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.notice_id == notice.id, Delivery.status == DeliveryStatus.sent)
        )
        fired_at = (await session.get(Notice, notice.id)).dispatched_at  # type: ignore[union-attr]
    assert sent == 3
    assert fired_at is not None and fired_at >= at.astimezone(UTC) - timedelta(seconds=1)
    # Firing again changes nothing: no second set of deliveries.
    assert w.runtime.scheduler is not None
    assert await w.runtime.scheduler.fire(notice.id or 0) is None


async def test_cancel_at_review_sends_nothing(world: World) -> None:
    w = world
    await _register_official(w)
    text = (SAMPLES / "notices" / "02-tiem-soi.txt").read_text(encoding="utf-8")
    await w.player.say_private(text)
    answer = await w.player.press(OFFICIAL["id"], "rv:cancel", OFFICIAL)
    assert answer == ""
    await w.player.wait_text(OFFICIAL["id"], "Đã hủy")
    notice = await _latest_notice(w)
    assert notice.status == NoticeStatus.cancelled
    async with session_scope(w.runtime.sessionmaker) as session:
        assert not await session.scalar(select(func.count()).select_from(Delivery))


async def test_strangers_and_bad_codes_get_plain_vietnamese(world: World) -> None:
    w = world
    stranger = Player(w.client, TOKEN, {"id": 7777, "first_name": "Khách"})
    await stranger.say_private("Xin chào")
    await stranger.wait_text(7777, "mã mời")
    await stranger.say_private("/start SAI-MA")
    await stranger.wait_text(7777, "Mã này không dùng được")
    async with session_scope(w.runtime.sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Notice)) == 0


async def test_removing_the_bot_deactivates_the_channel(world: World) -> None:
    w = world
    chat = w.chats["BT-KP4"]
    await w.client.remove_bot(TOKEN, chat, w.leaders[chat])
    for _ in range(50):
        async with session_scope(w.runtime.sessionmaker) as session:
            channel = (
                await session.scalars(select(Channel).where(Channel.chat_ref == str(chat)))
            ).one()
        if not channel.active:
            break
        await asyncio.sleep(0.1)
    assert not channel.active
    assert channel.inactive_reason and "removed" in channel.inactive_reason
