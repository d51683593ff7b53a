"""A sent notice corrected and recalled from the bot, end to end over the strict sandbox:
the buttons on the status message, the confirmations, the progress, the news when done."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.keyboards import AmendCb, ConfirmCb, WhenCb
from broadcasts.db import session_scope
from broadcasts.models import AuditEvent, Channel, Delivery, DeliveryKind, Notice, NoticeStatus
from tests.bot.world import (
    ME,
    OFFICIAL,
    TOKEN,
    World,
    compose,
    official_429s,
    on,
    open_world,
    register_official,
    wait_status,
)

CORRECTED = (
    "THÔNG BÁO ĐÍNH CHÍNH\nCuộc họp dân khu phố 1 dời sang 19 giờ 30 tối thứ Sáu, "
    "ngày 11/12/2026, tại nhà văn hóa khu phố. Kính mời bà con đến dự đông đủ."
)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        await register_official(w)
        yield w
        assert await official_429s(w) == 0


async def _sent(w: World, area: str) -> tuple[int, list[int]]:
    """A notice sent now to `area`; its id and the group chats that received it."""
    n = await compose(w, "05-hop-dan.txt", [area])
    await w.player.press(ME, on(WhenCb(action="now", n=n)), OFFICIAL)
    await w.player.press(ME, on(ConfirmCb(action="send", n=n)), OFFICIAL)
    await wait_status(w, n, NoticeStatus.done)
    async with session_scope(w.runtime.sessionmaker) as session:
        chats = await session.scalars(
            select(col(Channel.chat_ref))
            .join(Delivery, col(Delivery.channel_id) == col(Channel.id))
            .where(col(Delivery.notice_id) == n, col(Delivery.kind) == DeliveryKind.notice)
        )
        return n, sorted(int(c) for c in chats)


def _pack(action: str, n: int) -> str:
    return AmendCb(action=action, n=n).pack()


async def _status(w: World, n: int) -> dict[str, object]:
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = await session.get(Notice, n)
    assert notice is not None
    messages = await w.client.messages(TOKEN, ME)
    return next(m for m in messages if m["message_id"] == int(notice.status_message_ref or 0))


async def test_a_sent_notice_is_corrected_from_its_status_message(world: World) -> None:
    w, p = world, world.player
    n, chats = await _sent(w, "BT-KP1")
    assert chats
    before = {chat: (await w.client.messages(TOKEN, chat))[-1] for chat in chats}
    await p.press(ME, _pack("fix", n), OFFICIAL, exact=True)
    asked = await p.wait_text(ME, f"Đính chính thông báo #{n}: anh/chị gửi lại toàn bộ")
    assert f"{len(chats)} nhóm đã nhận" in asked
    await p.say_private(CORRECTED)
    question = await p.wait_text(ME, "Gửi đính chính?")
    assert f"{len(chats)} nhóm sẽ đọc thay cho thông báo #{n}" in question
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = await session.get(Notice, n)
        assert notice is not None and notice.corrected_at is None  # nothing changed yet
    await p.press(ME, _pack("fixok", n), OFFICIAL, exact=True)
    await p.wait_text(ME, f"Đang đính chính thông báo #{n} ở {len(chats)} nhóm")
    await p.wait_text(ME, f"✅ Đã đính chính thông báo #{n} ở {len(chats)}/{len(chats)} nhóm.")
    # The status message shows it too (its edit may land after the news).
    line = await p.wait_text(ME, f"✏️ Đính chính: {len(chats)}/{len(chats)} nhóm")
    assert line == (await _status(w, n))["text"]

    for chat in chats:
        [edited] = [
            m
            for m in await w.client.messages(TOKEN, chat)
            if m["message_id"] == before[chat]["message_id"]
        ]
        assert "19 giờ 30" in edited["plain_text"] and "Đã đính chính" in edited["plain_text"]
        assert edited["reply_markup"] == before[chat]["reply_markup"]  # «Đã nhận» stays
    async with session_scope(w.runtime.sessionmaker) as session:
        actions = list(
            await session.scalars(
                select(col(AuditEvent.action)).where(col(AuditEvent.subject) == f"notice:{n}")
            )
        )
    assert "notice.correct" in actions


async def test_a_sent_notice_is_recalled_after_a_confirmation(world: World) -> None:
    w, p = world, world.player
    n, chats = await _sent(w, "BT-KP2")
    await p.press(ME, _pack("recall", n), OFFICIAL, exact=True)
    question = await p.wait_text(ME, f"Thu hồi thông báo #{n}?")
    assert f"{len(chats)} nhóm đã nhận" in question and "48 giờ" in question
    await p.press(ME, _pack("no", n), OFFICIAL, exact=True)
    await p.wait_text(ME, f"Không thay đổi gì: thông báo #{n}")
    for chat in chats:
        assert await w.client.messages(TOKEN, chat)  # still there
    await p.say_private("/thongbao")
    await p.press(ME, _pack("recall", n), OFFICIAL, exact=True)
    await p.press(ME, _pack("rcok", n), OFFICIAL, exact=True)
    await p.wait_text(ME, f"✅ Đã thu hồi thông báo #{n} ở {len(chats)}/{len(chats)} nhóm.")
    for chat in chats:
        texts = [m["plain_text"] for m in await w.client.messages(TOKEN, chat)]
        assert not any("họp" in t.lower() for t in texts), texts
    line = await p.wait_text(ME, f"🗑 Thu hồi: {len(chats)}/{len(chats)} nhóm")
    status = await _status(w, n)
    assert line == status["text"]
    assert status["reply_markup"] is None  # nothing more to do with a recalled notice
    # «🗑 Thu hồi» still under the /thongbao list says the truth.
    answer = await p.press(ME, _pack("recall", n), OFFICIAL, exact=True)
    assert f"Thông báo #{n} đã được thu hồi rồi." in answer
