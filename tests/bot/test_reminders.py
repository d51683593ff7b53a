"""Who has not acknowledged, reminders and the deadline, end to end over the sandbox.

The real runtime (bot, scheduler, delivery worker) against the strict sandbox: a notice
goes to four groups, one acknowledges; «🔔 Nhắc các nhóm chưa nhận» reaches the other
three only, as a reply to the notice with the button, and a press on it counts once for
the notice. At a deadline, the silent groups get one automatic reminder, the official a
summary, and the areas' contacts a private message (or, for a contact who never started
the bot, Telegram's 403 noted in the audit log).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram.exceptions import TelegramForbiddenError
from sqlalchemy import select

from broadcasts.db import session_scope
from broadcasts.models import (
    Acknowledgement,
    Area,
    AuditEvent,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    NoticeOccurrence,
    NoticeStatus,
    utcnow,
)
from tests.bot.world import (
    ME,
    OFFICIAL,
    TOKEN,
    World,
    compose,
    latest_notice,
    open_world,
    register_official,
    wait_status,
)

TARGETS = ("BT-KP3", "BT-KP3-T5", "BT-KP3-T6", "BT-KP1-T2")


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        yield w


async def _send(w: World, *, deadline: str | None = None) -> int:
    """Compose to khu phố 3 (three groups) and tổ 2 of khu phố 1, send it now."""
    await register_official(w)
    await compose(w, "01-cat-dien.txt", ["BT-KP3", "BT-KP1-T2"])
    await w.player.press(ME, "wh:now", OFFICIAL)
    if deadline is not None:  # the confirm screen comes again, with the deadline chosen
        await w.player.press(ME, deadline, OFFICIAL)
        await w.player.wait_text(ME, "⏰ Hạn bấm «✅ Đã nhận»: <b>")
    await w.player.press(ME, "cf:send", OFFICIAL)
    notice = await latest_notice(w)
    try:
        await wait_status(w, notice.id or 0, NoticeStatus.done)
    except AssertionError:
        for m in await w.client.messages(TOKEN, ME):
            print("MSG", m["text"][:300], m.get("reply_markup"))
        raise
    return notice.id or 0


def _ack_buttons(msg: dict[str, Any]) -> list[str]:
    return [
        b["callback_data"]
        for row in (msg.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
        if b.get("callback_data", "").startswith("ack:")
    ]


async def _notice_message(w: World, chat_id: int) -> dict[str, Any]:
    (msg,) = [
        m
        for m in await w.client.messages(TOKEN, chat_id)
        if "Nhắc lại" not in m["text"] and _ack_buttons(m)
    ]
    return msg


async def _reminders_in(w: World, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in await w.client.messages(TOKEN, chat_id) if "🔔 Nhắc lại" in m["text"]]


async def _wait_reminders(
    w: World, notice_id: int, count: int, timeout: float = 30
) -> list[Delivery]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with session_scope(w.runtime.sessionmaker) as session:
            rows = list(
                await session.scalars(
                    select(Delivery).where(
                        Delivery.notice_id == notice_id, Delivery.kind == DeliveryKind.reminder
                    )
                )
            )
        if (
            len(rows) == count
            and all(r.status != DeliveryStatus.pending for r in rows)
            and all(r.status != DeliveryStatus.sending for r in rows)
        ):
            return rows
        assert asyncio.get_running_loop().time() < deadline, [(r.id, r.status) for r in rows]
        await asyncio.sleep(0.1)


async def _press(w: World, chat_id: int, message_id: int, data: str, user: dict[str, Any]) -> str:
    cq = await w.client.press(TOKEN, chat_id, message_id, user, data)
    answer = await w.client.callback_answer(cq, wait=10.0)
    return str((answer or {}).get("text") or "")


async def _acks(w: World, notice_id: int) -> list[Acknowledgement]:
    async with session_scope(w.runtime.sessionmaker) as session:
        return list(
            await session.scalars(
                select(Acknowledgement).where(Acknowledgement.notice_id == notice_id)
            )
        )


async def test_a_reminder_reaches_only_the_silent_groups_and_a_press_on_it_counts_once(
    world: World,
) -> None:
    w = world
    notice_id = await _send(w)
    kp3 = w.chats["BT-KP3"]
    assert "Cảm ơn" in await w.player.press(kp3, "ack:", w.leaders[kp3])

    # The status message shows, per khu phố, who acknowledged (the leader marked) and who not;
    # the press reaches it at the next refresh, so wait for the press, not for any status.
    status = await w.player.wait_text(ME, "✅ Khu phố 3: Leader BT-KP3 (")
    assert "Chưa nhận" in status and "tổ trưởng)" in status
    assert "⏳ Chưa nhận: Tổ dân phố 5, Tổ dân phố 6" in status
    assert "⏳ Chưa nhận: Tổ dân phố 2" in status

    await w.player.press(ME, "nt:remind:", OFFICIAL)
    question = await w.player.wait_text(ME, "Gửi lời nhắc đến")
    assert "3 nhóm" in question
    await w.player.press(ME, "nt:nudge:", OFFICIAL)
    await w.player.wait_text(ME, "Đang nhắc 3 nhóm")
    rows = await _wait_reminders(w, notice_id, 3)
    assert {r.status for r in rows} == {DeliveryStatus.sent}

    for code, chat_id in w.chats.items():
        reminders = await _reminders_in(w, chat_id)
        if code not in TARGETS or code == "BT-KP3":
            assert reminders == [], code  # acknowledged already, or never targeted
            continue
        (reminder,) = reminders
        original = await _notice_message(w, chat_id)
        assert reminder["reply_to_message_id"] == original["message_id"]
        assert f"#{notice_id}" in reminder["text"] and "Mời tổ trưởng" in reminder["text"]
        (button,) = reminder["reply_markup"]["inline_keyboard"][0]
        assert button["text"].endswith("Đã nhận")

    # The leader of tổ 5 presses on the reminder: it counts for the notice, once.
    t5 = w.chats["BT-KP3-T5"]
    (reminder,) = await _reminders_in(w, t5)
    leader = w.leaders[t5]
    data = _ack_buttons(reminder)[0]
    assert "Cảm ơn" in await _press(w, t5, reminder["message_id"], data, leader)
    original = await _notice_message(w, t5)
    again = await _press(w, t5, original["message_id"], _ack_buttons(original)[0], leader)
    assert "đã bấm" in again
    # A member of tổ 2 presses on theirs: a member's acknowledgement.
    t2 = w.chats["BT-KP1-T2"]
    (reminder_t2,) = await _reminders_in(w, t2)
    member = {"id": 4343, "first_name": "Cô Ba"}
    await _press(w, t2, reminder_t2["message_id"], _ack_buttons(reminder_t2)[0], member)

    acks = await _acks(w, notice_id)
    by_chat = {a.channel_id: a for a in acks}
    assert len(acks) == 3 and len(by_chat) == 3
    reminder_of = {r.channel_id: r.id for r in rows}
    leaders = {a.person_ref: a.by_leader for a in acks}
    assert leaders == {str(w.leaders[kp3]["id"]): True, str(leader["id"]): True, "4343": False}
    for ack in acks:
        if ack.person_ref != str(w.leaders[kp3]["id"]):  # pressed on the reminder of its chat
            assert ack.delivery_id == reminder_of[ack.channel_id]
    assert all(a.occurrence == 0 for a in acks)

    # «✅ Đã nhận: …» appears under the notice itself in tổ 5 (not on the reminder).
    deadline = asyncio.get_running_loop().time() + 30  # only a guard against hanging
    while "✅ Đã nhận:" not in (await _notice_message(w, t5))["text"]:
        assert asyncio.get_running_loop().time() < deadline, "the Đã nhận line never came"
        await asyncio.sleep(0.1)
    (reminder,) = await _reminders_in(w, t5)
    assert "✅ Đã nhận:" not in reminder["text"]

    # The status message shows the reminder's progress; one group is still silent.
    status = await w.player.wait_text(ME, "Nhắc lại: đã gửi 3/3 nhóm", timeout=30)
    assert "⏳ Chưa nhận: Tổ dân phố 6" in status
    assert "⏳ Chưa nhận: Tổ dân phố 5" not in status

    # /thongbao N shows the same status; a notice outside the ward is not shown.
    before = len(await w.client.messages(TOKEN, ME))
    await w.player.say_private(f"/thongbao {notice_id}")
    shown = await w.client.messages(TOKEN, ME, wait_count=before + 1, wait=30)
    assert "Nhắc lại: đã gửi 3/3 nhóm" in shown[before]["text"]
    await w.player.say_private("/thongbao 999")
    await w.player.wait_text(ME, "Phường của anh/chị không có thông báo #999.")


async def test_a_group_that_acknowledges_before_its_reminder_goes_is_skipped(
    world: World,
) -> None:
    w = world
    notice_id = await _send(w)
    assert w.runtime.worker is not None
    # The delivery worker is stopped while the reminders are queued, so the press of
    # khu phố 3's leader lands between the queueing and the sending.
    await w.runtime.worker.stop()
    await w.player.press(ME, "nt:remind:", OFFICIAL)
    await w.player.press(ME, "nt:nudge:", OFFICIAL)
    await w.player.wait_text(ME, "Đang nhắc 4 nhóm")
    kp3 = w.chats["BT-KP3"]
    await w.player.press(kp3, "ack:", w.leaders[kp3])
    worker = asyncio.create_task(w.runtime.worker.run())
    try:
        rows = await _wait_reminders(w, notice_id, 4)
    finally:
        await w.runtime.worker.stop()
        await worker
    status = {r.channel_id: (r.status, r.error) for r in rows}
    skipped = [s for s in status.values() if s[0] is DeliveryStatus.cancelled]
    assert skipped == [(DeliveryStatus.cancelled, "acknowledged before the reminder")]
    assert await _reminders_in(w, kp3) == []
    assert sum(1 for s in status.values() if s[0] is DeliveryStatus.sent) == 3


async def _set_contacts(w: World) -> None:
    async with session_scope(w.runtime.sessionmaker) as session:
        areas = {a.code: a for a in await session.scalars(select(Area))}
        areas["BT-KP3"].contact_name, areas["BT-KP3"].contact_ref = "Ông Năm", "7001"
        areas["BT-KP1"].contact_name, areas["BT-KP1"].contact_ref = "Bà Sáu", "7002"


async def test_at_the_deadline_silent_groups_are_reminded_once_and_people_are_told(
    world: World,
) -> None:
    w = world
    await _set_contacts(w)
    # Ông Năm has started the bot; Bà Sáu is in a group but never wrote to the bot.
    await w.client.private_message(TOKEN, {"id": 7001, "first_name": "Năm"}, "/start")
    await w.client.group_message(
        TOKEN, w.chats["BT-KP1-T2"], {"id": 7002, "first_name": "Sáu"}, "Chào cả tổ"
    )
    assert w.runtime.bot is not None
    # As Telegram does: a bot may not write first to someone who never started it.
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await w.runtime.bot.send_message(7002, "xin chào")

    notice_id = await _send(w, deadline="dl:m:120:")
    async with session_scope(w.runtime.sessionmaker) as session:
        (occurrence,) = list(
            await session.scalars(
                select(NoticeOccurrence).where(NoticeOccurrence.notice_id == notice_id)
            )
        )
    notice = await latest_notice(w)
    assert notice.ack_deadline is not None and occurrence.ack_deadline is not None
    due = occurrence.due_at.replace(tzinfo=UTC)
    assert occurrence.ack_deadline.replace(tzinfo=UTC) - due == timedelta(minutes=120)

    t5 = w.chats["BT-KP3-T5"]
    await w.player.press(t5, "ack:", w.leaders[t5])
    scheduler = w.runtime.scheduler
    assert scheduler is not None
    assert await scheduler.escalate(now=utcnow()) == []  # not yet
    later = utcnow() + timedelta(hours=3)
    (escalation,) = await scheduler.escalate(now=later)
    assert escalation.reminded == 3
    assert await scheduler.escalate(now=later + timedelta(minutes=1)) == []  # once only

    rows = await _wait_reminders(w, notice_id, 3)
    assert {r.status for r in rows} == {DeliveryStatus.sent}
    assert await _reminders_in(w, t5) == []

    summary = await w.player.wait_text(ME, "Đã đến hạn nhận", timeout=30)
    assert "1/4 nhóm" in summary and "tự nhắc lại 3 nhóm" in summary
    assert "Đã báo cho" in summary and "Ông Năm" in summary
    assert "Chưa báo được cho Bà Sáu" in summary
    told = await w.player.wait_text(7001, "Chào anh/chị Ông Năm")
    assert "Tổ dân phố 6" in told and "Khu phố 3" in told and f"#{notice_id}" in told
    assert "Tổ dân phố 5" not in told  # it acknowledged

    async with session_scope(w.runtime.sessionmaker) as session:
        events = {
            e.action: e
            for e in await session.scalars(
                select(AuditEvent).where(AuditEvent.subject == f"notice:{notice_id}")
            )
        }
    assert events["notice.escalate"].detail["reminded"] == 3
    assert events["notice.contact_told"].detail["area"] == "BT-KP3"
    unreachable = events["notice.contact_unreachable"]
    assert unreachable.detail["area"] == "BT-KP1"
    assert "can't initiate conversation" in unreachable.detail["reason"]
    assert unreachable.ward_id == notice.ward_id


async def test_the_deadline_can_be_typed_and_none_means_no_escalation(world: World) -> None:
    w = world
    await register_official(w)
    await compose(w, "01-cat-dien.txt", ["BT-KP3"])
    await w.player.press(ME, "wh:now", OFFICIAL)
    await w.player.say_private("trong 90 phút")
    await w.player.wait_text(ME, "Hạn bấm «✅ Đã nhận»: <b>")
    await w.player.say_private("trong 99 ngày")
    await w.player.wait_text(ME, "Loa chưa đọc được hạn này")
    await w.player.press(ME, "dl:none:", OFFICIAL)
    await w.player.wait_text(ME, "Không đặt hạn")
    await w.player.press(ME, "cf:send", OFFICIAL)
    notice = await latest_notice(w)
    await wait_status(w, notice.id or 0, NoticeStatus.done)
    assert notice.ack_deadline is None
    assert w.runtime.scheduler is not None
    assert await w.runtime.scheduler.escalate(now=datetime.now(UTC) + timedelta(days=30)) == []
