"""Recurring notices end to end through the sandbox: the real bot, scheduler and worker.

Between occurrences the test moves the notice's next time to now, as a week passing
would: the runtime's own sweep fires it, and every occurrence reaches the groups with its
own Đã nhận button and its own acknowledgements. Also: a typed repeat, and an API draft
shown to the official it names.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.keyboards import ReviewCb, TreeCb, WhenCb
from broadcasts.db import session_scope
from broadcasts.intake import NoticeRequest, take_notice
from broadcasts.models import (
    Acknowledgement,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Official,
)
from broadcasts.tenancy import CITY
from tests.bot.world import (
    ME,
    OFFICIAL,
    TOKEN,
    World,
    compose,
    latest_notice,
    on,
    open_world,
    register_official,
)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        yield w


async def _sent(w: World, notice_id: int, occurrence: int) -> int:
    async with session_scope(w.runtime.sessionmaker) as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.notice_id == notice_id,
                    Delivery.occurrence == occurrence,
                    Delivery.status == DeliveryStatus.sent,
                )
            )
            or 0
        )


async def _wait_sent(w: World, notice_id: int, occurrence: int, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while await _sent(w, notice_id, occurrence) < count:
        assert asyncio.get_running_loop().time() < deadline, f"occurrence {occurrence} not sent"
        await asyncio.sleep(0.1)


async def _ack_messages(w: World, chat: int) -> int:
    return sum(
        "inline_keyboard" in str(m.get("reply_markup"))
        for m in await w.client.messages(TOKEN, chat)
    )


async def test_every_week_at_this_time_fires_three_occurrences_with_their_own_acks(
    world: World,
) -> None:
    w = world
    await register_official(w)
    n = await compose(w, "04-rac-cong-kenh.txt", ["BT-KP2"])
    await w.player.press(ME, on(WhenCb(action="weekly", n=n)), OFFICIAL)
    confirm = await w.player.wait_text(ME, "rồi lặp lại:")
    assert "Gửi ngay đến 3 nhóm" in confirm and "hằng tuần" in confirm
    await w.player.press(ME, "cf:send", OFFICIAL)
    chat = w.chats["BT-KP2"]
    leader = w.leaders[chat]
    for k in range(3):
        if k:
            # A week passes: the next occurrence is due now, and the sweep fires it.
            async with session_scope(w.runtime.sessionmaker) as session:
                await session.execute(
                    update(Notice)
                    .where(Notice.id == n)
                    .values(scheduled_at=datetime.now(UTC) - timedelta(seconds=1))
                )
        await _wait_sent(w, n, k, 3)
        deadline = asyncio.get_running_loop().time() + 20
        while await _ack_messages(w, chat) < k + 1:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        # The same leader acknowledges each week's message: each counts on its own.
        assert "Cảm ơn" in await w.player.press(chat, "ack:", leader)
        async with session_scope(w.runtime.sessionmaker) as session:
            notice = await session.get(Notice, n)
        assert notice is not None and notice.status == NoticeStatus.scheduled
        assert notice.occurrences == k + 1
        assert notice.scheduled_at is not None
        assert notice.scheduled_at > datetime.now(UTC) + timedelta(days=6)
    async with session_scope(w.runtime.sessionmaker) as session:
        acks = list(
            await session.scalars(
                select(Acknowledgement.occurrence).where(Acknowledgement.notice_id == n)
            )
        )
        deliveries = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.notice_id == n)
        )
    assert sorted(acks) == [0, 1, 2] and deliveries == 9
    status = await w.player.wait_text(ME, "Lần thứ 3:")
    assert "🔁 Lặp lại:" in status and "Lần tới:" in status
    # Cancelling stops what is to come: the next week's fire sends nothing.
    await w.player.press(ME, "nt:cancel", OFFICIAL)
    await w.player.wait_text(ME, f"Dừng lặp lại thông báo #{n}?")
    await w.player.press(ME, "nt:drop", OFFICIAL)
    await w.player.wait_text(ME, f"Thông báo #{n} sẽ không được gửi nữa")
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = await session.get(Notice, n)
    assert notice is not None and notice.status == NoticeStatus.cancelled
    assert w.runtime.scheduler is not None
    assert await w.runtime.scheduler.fire(n) is None


async def test_a_typed_repeat_is_read_and_scheduled(world: World) -> None:
    w = world
    await register_official(w)
    n = await compose(w, "04-rac-cong-kenh.txt", ["BT-KP2"])
    await w.player.press(ME, on(WhenCb(action="later", n=n)), OFFICIAL)
    await w.player.say_private("hằng tuần lúc nào đó")
    await w.player.wait_text(ME, "thứ Năm hằng tuần 18h")  # the example that works
    await w.player.say_private("mỗi thứ Bảy 7h30 đến 31/12/2030")
    confirm = await w.player.wait_text(ME, "Gửi lặp lại đến 3 nhóm")
    assert "Thứ Bảy hằng tuần, 07:30, đến 31/12/2030" in confirm and "lần đầu lúc" in confirm
    await w.player.press(ME, "cf:send", OFFICIAL)
    await w.player.wait_text(ME, "Lần tới:")
    notice = await latest_notice(w)
    assert notice.status == NoticeStatus.scheduled and notice.rrule is not None
    assert "BYDAY=SA" in notice.rrule and notice.occurrences == 0


async def test_an_api_notice_is_shown_to_the_official_it_names(world: World) -> None:
    w = world
    await register_official(w)
    async with session_scope(w.runtime.sessionmaker) as session:
        official = (await session.scalars(select(Official))).one()
        intake = await take_notice(
            session=session,
            within=CITY,
            request=NoticeRequest(
                text="Thông báo lịch tiêm vắc xin sởi tại trạm y tế phường ngày 12/12/2030.",
                targets=["BT-KP2"],
                official_id=official.id,
                ward_code="BT",
            ),
            ai=w.runtime.settings.ai,
            actor="api:portal",
        )
    n = intake.notice.id or 0
    await w.player.wait_text(ME, f"Thông báo #{n}")
    # The review screen is the wizard's own: its buttons work for this notice.
    await w.player.button(ME, on(ReviewCb(action="targets", n=n)))
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = await session.get(Notice, n)
    assert notice is not None and notice.review_shown_at is not None
    # Shown once: the next sweeps leave it alone.
    await asyncio.sleep(4)
    intros = [
        m for m in await w.client.messages(TOKEN, ME) if f"Thông báo #{n}" in m.get("text", "")
    ]
    assert len(intros) == 1
    # The official goes on as with their own notice: the API's areas are already chosen.
    await w.player.press(ME, on(ReviewCb(action="targets", n=n)), OFFICIAL)
    picker = await w.player.wait_text(ME, "Đã chọn:")
    assert "Khu phố 2" in picker
    await w.player.press(ME, on(TreeCb(action="done", n=n)), OFFICIAL)
    await w.player.press(ME, on(WhenCb(action="now", n=n)), OFFICIAL)
    await w.player.press(ME, "cf:send", OFFICIAL)
    await _wait_sent(w, n, 0, 3)
