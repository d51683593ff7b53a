"""One notice, both transports, over both strict sandboxes and the real bot front.

- Composed on Telegram, a long notice reaches the Telegram groups of the areas in one
  message each (within 4,096) and the Zalo chats of the same areas cut within 2,000, the
  reply line on the last part; a button press, a Zalo «1» and a Zalo quote-reply of the
  first part make one report, split per transport (JSON and CSV), and the official's
  status message names each group's platform and counts per platform.
- Reminded, corrected and recalled: Telegram gets a reply with the button, the edit in
  place, the delete; Zalo (no buttons, edits, deletes or replies) a reminder ending with
  the reply line, «✏️ Đính chính thông báo #N: …» and «Thông báo #N đã được thu hồi.»,
  each a message of its own within 2,000 characters, and a «1» after the correction still
  counts for the notice.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.keyboards import ReviewCb, TreeCb, WhenCb
from bot.texts import utf16_len
from broadcasts.ack_lists import list_acknowledgements
from broadcasts.corrections import correct_notice, recall_notice
from broadcasts.db import session_scope
from broadcasts.models import Delivery, DeliveryKind, DeliveryStatus, NoticeStatus
from broadcasts.reminders import remind_silent
from broadcasts.reports import notice_detail, notice_report, report_csv
from tests.bot.world import (
    OFFICIAL,
    TOKEN,
    area_id,
    compose,
    latest_notice,
    on,
    register_official,
    wait_status,
    write_notice,
)
from tests.zalo.conftest import CHIN, LAN
from tests.zalo.world import (
    WAIT_SECONDS,
    ZALO_TOKEN,
    ZaloWorld,
    channel_code,
    open_zalo_world,
    wait_for,
    wait_text,
)

HINT = 'Trả lời 1 hoặc "đã nhận" để xác nhận.'
MAI = {"id": "9a8b7c6d5e4f3a2b1c0d", "display_name": "Trần Thị Mai"}
CORRECTED = (
    "Cắt điện khu phố 3\n\nĐiện lực Bến Thành cắt điện từ 13 giờ đến 16 giờ chiều thứ Bảy "
    "ngày 05/12/2026 (đổi giờ). Liên hệ 1900 545454."
)
# The groups of Khu phố 3 on Telegram: the khu phố's own and its two tổ.
KP3_GROUPS = ("BT-KP3", "BT-KP3-T5", "BT-KP3-T6")


def _long_notice() -> str:
    """About 3,000 characters: one Telegram message, two Zalo messages. Only the facts of
    the sample it replaces (times, date, hotline), so the review flags nothing."""
    streets = ("Lê Thánh Tôn", "Phan Bội Châu", "Phan Chu Trinh")
    stretches = ("đầu đường", "giữa đường", "cuối đường", "các hẻm", "chợ")
    lines = [
        f"Khu vực {stretch} {street}: tạm ngừng cung cấp điện từ 07 giờ 30 đến 16 giờ 00 "
        "ngày 28/11/2026 (thứ Bảy) để bảo trì lưới điện; bà con rút phích cắm các thiết bị "
        "điện và không tự ý tiếp cận đường dây."
        for street in streets
        for stretch in stretches
    ]
    return "Lịch cắt điện khu phố 3\n\n" + "\n\n".join(lines) + "\n\nLiên hệ 1900 545454."


@pytest.fixture
async def zw(database_url: str) -> AsyncIterator[ZaloWorld]:
    async with open_zalo_world(database_url) as world:
        yield world


async def _register(zw: ZaloWorld, person: dict[str, str], area: str) -> str:
    chat = await zw.zalo.say(ZALO_TOKEN, person, f"DK {await channel_code(zw, area)}")
    await wait_text(zw, chat, "Đã đăng ký")
    return chat


async def _compose_long(zw: ZaloWorld, area: str) -> None:
    """The official writes a notice and replaces its Vietnamese text with a long one of
    their own («✏️ Sửa bản tiếng Việt»: sent as written, however long), for `area`."""
    w, me = zw.world, OFFICIAL
    chat = me["id"]
    n = await write_notice(w)
    await w.player.press(chat, on(ReviewCb(action="edit", locale="vi", n=n)), me)
    await w.player.wait_text(chat, "gửi lại toàn bộ")
    await w.player.say_private(_long_notice())
    await w.player.wait_text(chat, "do anh/chị sửa")
    # The review's choices again, under the edited text (not the older ones above it).
    edited = max(
        m["message_id"]
        for m in await w.client.messages(TOKEN, chat)
        if "do anh/chị sửa" in m.get("text", "")
    )
    while (await w.player.button(chat, on(ReviewCb(action="targets", n=n))))[0] < edited:
        await asyncio.sleep(0.1)
    await w.player.press(chat, on(ReviewCb(action="targets", n=n)), me)
    await w.player.press(chat, on(TreeCb(action="toggle", area_id=await area_id(w, area), n=n)), me)
    await w.player.press(chat, on(TreeCb(action="done", n=n)), me)
    await w.player.button(chat, on(WhenCb(action="now", n=n)))


async def _send(zw: ZaloWorld, notice_file: str | None, areas: list[str]) -> int:
    w = zw.world
    await register_official(w)
    if notice_file is None:
        await _compose_long(zw, areas[0])
    else:
        await compose(w, notice_file, areas)
    await w.player.press(OFFICIAL["id"], "wh:now", OFFICIAL)
    await w.player.press(OFFICIAL["id"], "cf:send", OFFICIAL)
    notice = await latest_notice(w)
    await wait_status(w, notice.id or 0, NoticeStatus.done)
    return notice.id or 0


async def test_a_telegram_notice_reaches_both_and_acks_from_both_make_one_report(
    zw: ZaloWorld,
) -> None:
    w, zalo = zw.world, zw.zalo
    lan = await _register(zw, LAN, "BT-KP3")
    chin = await _register(zw, CHIN, "BT-KP3-T5")
    mai = await _register(zw, MAI, "BT-KP2")
    notice_id = await _send(zw, None, ["BT-KP3"])

    # Telegram: one message per group of Khu phố 3, longer than Zalo could take, with
    # the button; nothing for the other khu phố.
    for code, chat_id in w.chats.items():
        got = [
            m
            for m in await w.client.messages(TOKEN, chat_id)
            if "inline_keyboard" in str(m.get("reply_markup"))
        ]
        assert len(got) == (1 if code in KP3_GROUPS else 0), code
        if got:
            assert 2000 < utf16_len(got[0]["plain_text"]) <= 4096
    # Zalo: the same notice in two plain messages within 2,000, the reply line last.
    parts: dict[str, list[str]] = {}
    for chat in (lan, chin):
        messages = await wait_for(
            zw, chat, lambda ms: any(HINT in (m.get("text") or "") for m in ms)
        )
        parts[chat] = [m["text"] for m in messages[1:]]  # after «Đã đăng ký»
        assert len(parts[chat]) == 2 and all(len(t) <= 2000 for t in parts[chat])
        assert parts[chat][-1].endswith(HINT) and HINT not in parts[chat][0]
        assert "<b>" not in "".join(parts[chat]) and "1900 545454" in parts[chat][-1]
    assert len(await zalo.messages(ZALO_TOKEN, mai)) == 1  # only its «Đã đăng ký»

    # Acknowledgements from both: a press, a «1», a quote-reply of the first part.
    kp3 = w.chats["BT-KP3"]
    assert "Cảm ơn" in await w.player.press(kp3, "ack:", w.leaders[kp3])
    await zalo.say(ZALO_TOKEN, LAN, "1")
    await wait_text(zw, lan, "Loa đã ghi nhận")
    first_part = (await zalo.messages(ZALO_TOKEN, chin))[1]
    await zalo.say(ZALO_TOKEN, CHIN, "vâng ạ", quote=first_part["message_id"])
    await wait_text(zw, chin, "Loa đã ghi nhận")

    async with session_scope(zw.runtime.sessionmaker) as session:
        report = await notice_report(session=session, notice_id=notice_id)
        detail = await notice_detail(session=session, notice_id=notice_id)
        acks, _ = await list_acknowledgements(session=session, notice_id=notice_id)
    t = report.totals
    assert (t.targeted, t.sent, t.acknowledged, t.acknowledgements) == (5, 5, 3, 3)
    split = {
        name: (x.targeted, x.sent, x.acknowledged, x.acknowledgements)
        for name, x in report.by_transport.items()
    }
    assert split == {"telegram": (3, 3, 1, 1), "zalo": (2, 2, 2, 2)}
    assert list(report.by_transport) == ["telegram", "zalo"]
    rows = {r.area_code: r for r in report.rows}
    assert {k: v.acknowledged for k, v in rows["BT-KP3"].by_transport.items()} == {
        "telegram": 1,
        "zalo": 1,
    }
    assert {k: v.targeted for k, v in rows["BT-KP3-T6"].by_transport.items()} == {"telegram": 1}
    assert sorted((a.transport, a.method) for a in acks) == [
        ("telegram", "button"),
        ("zalo", "reply"),
        ("zalo", "reply"),
    ]
    assert sorted(c.transport for c in detail.channels) == ["telegram"] * 3 + ["zalo"] * 2
    assert detail.by_transport["zalo"].acknowledged == 2

    table = list(csv.reader(io.StringIO(report_csv(report).lstrip("\ufeff"))))
    header, total = table[0], table[-1]
    assert total[0] == "TOTAL" and [r[0] for r in table[1:-1]] == [r.area_code for r in report.rows]
    cells = dict(zip(header, total, strict=True))
    assert (cells["telegram_sent"], cells["telegram_acknowledged"]) == ("3", "1")
    assert (cells["zalo_sent"], cells["zalo_acknowledged"]) == ("2", "2")
    assert cells["acknowledged"] == "3"

    # The official's status message: counts per platform, each group named with its own.
    # (refreshed every few seconds, at one edit a second: a loaded machine takes a while)
    status = await w.player.wait_text(
        OFFICIAL["id"],
        "📨 Telegram: đã gửi 3/3, đã nhận 1 · Zalo: đã gửi 2/2, đã nhận 2",
        timeout=90,
    )
    assert "✅ Khu phố 3 · Zalo: Nguyễn Thị Lan (" in status
    assert "✅ Khu phố 3 · Telegram: Leader BT-KP3 (" in status
    assert "✅ Tổ dân phố 5 · Zalo: Ông Chín (" in status
    assert "⏳ Chưa nhận: Tổ dân phố 5 · Telegram" in status
    assert utf16_len(status) <= 4096


async def _follow_ups_recorded(zw: ZaloWorld, notice_id: int) -> list[Delivery]:
    """The notice's correction and recall rows, once every one is recorded (the recorder
    writes outcomes in batches, a moment after the message went)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        async with session_scope(zw.runtime.sessionmaker) as session:
            rows = list(
                await session.scalars(
                    select(Delivery).where(
                        col(Delivery.notice_id) == notice_id,
                        col(Delivery.kind).in_([DeliveryKind.correction, DeliveryKind.recall]),
                    )
                )
            )
        final = (DeliveryStatus.sent, DeliveryStatus.failed)
        if len(rows) == 8 and all(d.status in final for d in rows):  # 4 chats, 2 kinds
            return rows
        assert asyncio.get_running_loop().time() < deadline, [(d.kind, d.status) for d in rows]
        await asyncio.sleep(0.1)


async def test_reminder_correction_and_recall_reach_zalo_as_messages_of_their_own(
    zw: ZaloWorld,
) -> None:
    w, zalo = zw.world, zw.zalo
    lan = await _register(zw, LAN, "BT-KP3")
    notice_id = await _send(zw, "01-cat-dien.txt", ["BT-KP3"])
    await wait_text(zw, lan, HINT)
    runtime = zw.runtime

    async with session_scope(runtime.sessionmaker) as session:
        reminded = await remind_silent(session=session, notice_id=notice_id, actor="test")
    assert reminded == 4  # three Telegram groups and Lan's chat
    reminder = await wait_text(zw, lan, "🔔 Nhắc lại")
    assert reminder.startswith(f"🔔 Nhắc lại: Thông báo #{notice_id} «")
    assert reminder.endswith(f"» chưa có ai báo «Đã nhận».\n{HINT}")
    kp3 = w.chats["BT-KP3"]
    tg_reminder = await w.player.wait_text(kp3, "🔔 Nhắc lại")
    assert "bấm nút bên dưới" in tg_reminder  # Telegram's has the button to press

    async with session_scope(runtime.sessionmaker) as session:
        await correct_notice(
            session=session,
            notice_id=notice_id,
            text=CORRECTED,
            actor="test",
            ai=runtime.settings.ai,
        )
    correction = await wait_text(zw, lan, "✏️ Đính chính")
    assert correction.startswith(f"✏️ Đính chính thông báo #{notice_id}:\n\n")
    assert "13 giờ" in correction and correction.endswith(HINT) and len(correction) <= 2000
    await w.player.wait_text(kp3, "✏️ Đã đính chính")  # edited in place on Telegram

    await zalo.say(ZALO_TOKEN, LAN, "1")  # after the correction: still the notice's
    await wait_text(zw, lan, "Loa đã ghi nhận")

    async with session_scope(runtime.sessionmaker) as session:
        await recall_notice(session=session, notice_id=notice_id, actor="test")
    recalled = await wait_text(zw, lan, "thu hồi")
    assert recalled == f"Thông báo #{notice_id} đã được thu hồi."

    rows = await _follow_ups_recorded(zw, notice_id)
    async with session_scope(runtime.sessionmaker) as session:
        acks, _ = await list_acknowledgements(session=session, notice_id=notice_id)
    notes = {(d.kind, d.bot_id == zw.zalo_account_id, d.status, d.error) for d in rows}
    assert notes == {
        (DeliveryKind.correction, False, DeliveryStatus.sent, "edited"),
        (DeliveryKind.correction, True, DeliveryStatus.sent, "replied"),
        (DeliveryKind.recall, False, DeliveryStatus.sent, "deleted"),
        (DeliveryKind.recall, True, DeliveryStatus.sent, "posted"),
    }
    assert [(a.transport, a.person_ref, a.method) for a in acks] == [("zalo", LAN["id"], "reply")]
    zalo_texts = [m["text"] for m in await zalo.messages(ZALO_TOKEN, lan)]
    assert len(zalo_texts) == 1 + 1 + 1 + 1 + 1 + 1  # registered, notice, reminder,
    # correction, «đã ghi nhận», recall: nothing sent twice, nothing edited
