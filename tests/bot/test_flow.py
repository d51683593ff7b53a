"""End to end through the sandbox: the real bot, runtime, scheduler and delivery worker.

Leaders register groups, an official registers, composes, targets and schedules, the
notice arrives in exactly the targeted chats, Đã nhận presses are counted once per person.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from broadcasts.db import session_scope
from broadcasts.models import (
    Acknowledgement,
    AuditEvent,
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeStatus,
)
from broadcasts.settings import DEFAULT_TIMEZONE
from loa.demo import Player
from loa.runtime import Roles, Runtime
from tests.bot.world import (
    OFFICIAL,
    SAMPLES,
    TOKEN,
    World,
    compose,
    latest_notice,
    open_world,
    register_official,
    wait_status,
)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        yield w


async def test_official_sends_now_to_chosen_areas_and_leaders_acknowledge(world: World) -> None:
    w = world
    await register_official(w)
    # Khu phố 3 as a whole (with its two groups) plus one group of khu phố 1.
    await compose(w, "01-cat-dien.txt", ["BT-KP3", "BT-KP1-T2"])
    await w.player.press(OFFICIAL["id"], "wh:now", OFFICIAL)
    await w.player.press(OFFICIAL["id"], "cf:send", OFFICIAL)
    notice = await latest_notice(w)
    await wait_status(w, notice.id or 0, NoticeStatus.done)

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
    assert "đã bấm «✅ Đã nhận» thông báo này rồi" in second
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
        audited = list(
            await session.execute(
                select(AuditEvent.action, AuditEvent.actor).where(
                    AuditEvent.subject == f"notice:{notice.id}"
                )
            )
        )
    assert acks == 2
    assert statuses == [DeliveryStatus.sent] * 4
    # The bot's steps are in the audit log, as the API's are: who composed, sent, pressed.
    assert sorted(a for a, _ in audited) == [
        "ack.button",
        "ack.button",
        "notice.compose",
        "notice.schedule",
    ]
    assert {actor for a, actor in audited if a == "ack.button"} == {
        f"telegram:{leader['id']}",
        "telegram:4242",
    }
    status = await w.player.wait_text(OFFICIAL["id"], "Đã nhận: 1/4 nhóm (2 người)")
    assert "Đã gửi 4" in status


async def test_scheduled_notice_survives_a_restart(world: World) -> None:
    w = world
    await register_official(w)
    await compose(w, "04-rac-cong-kenh.txt", ["BT-KP2"])
    await w.player.press(OFFICIAL["id"], "wh:later", OFFICIAL)
    # Far enough ahead for the steps before the confirm, paced as Telegram paces them.
    at = (datetime.now(UTC) + timedelta(seconds=10)).astimezone(ZoneInfo(DEFAULT_TIMEZONE))
    await w.player.say_private(at.strftime("%H:%M:%S %d/%m/%Y"))
    await w.player.press(OFFICIAL["id"], "cf:send", OFFICIAL)
    await w.player.wait_text(OFFICIAL["id"], "Sẽ gửi lúc")
    notice = await latest_notice(w)
    assert notice.status == NoticeStatus.scheduled
    # Stop everything before the time comes, start again: the schedule comes back.
    settings = w.runtime.settings
    await w.runtime.stop()
    w.runtime = Runtime(settings, Roles(api=False))
    await w.runtime.start()
    await wait_status(w, notice.id or 0, NoticeStatus.done, timeout=30)
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
    await register_official(w)
    text = (SAMPLES / "notices" / "02-tiem-soi.txt").read_text(encoding="utf-8")
    await w.player.say_private(text)
    answer = await w.player.press(OFFICIAL["id"], "rv:cancel", OFFICIAL)
    assert answer == ""
    await w.player.wait_text(OFFICIAL["id"], "Đã bỏ thông báo")
    notice = await latest_notice(w)
    assert notice.status == NoticeStatus.cancelled
    async with session_scope(w.runtime.sessionmaker) as session:
        assert not await session.scalar(select(func.count()).select_from(Delivery))


async def test_strangers_and_bad_codes_get_plain_vietnamese(world: World) -> None:
    w = world
    stranger = Player(w.client, TOKEN, {"id": 7777, "first_name": "Khách"})
    await stranger.say_private("Xin chào")
    await stranger.wait_text(7777, "mã mời")
    await stranger.say_private("/start SAI-MA")
    await stranger.wait_text(7777, "Mã này không đúng")
    async with session_scope(w.runtime.sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Notice)) == 0


async def test_a_code_sent_again_is_told_apart_from_a_used_one(world: World) -> None:
    w = world
    await register_official(w)
    await w.player.say_private(f"/start {w.official_code}")  # the official's own code again
    await w.player.wait_text(OFFICIAL["id"], "Anh/chị đã đăng ký rồi, cứ gửi nội dung thông báo")
    other = Player(w.client, TOKEN, {"id": 7778, "first_name": "Khách"})
    await other.say_private(f"/start {w.official_code}")  # someone else's used code
    await other.wait_text(7778, "Mã này đã được dùng rồi")


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
