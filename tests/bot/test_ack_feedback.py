"""After a Đã nhận press the group sees lasting feedback: the delivered message, edited
through the outbox, shows who pressed first and when, and how many more did, under the
notice and above the button it keeps. A storm of presses costs few edits and no 429.

Everything runs over the strict sandbox (Telegram's limits, none loosened)."""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.models import Acknowledgement
from broadcasts.timeparse import TZ
from tests.bot.telegram_world import TOKEN, USERNAME, Loa, open_loa

LEADER = {"id": 8401, "first_name": "Ông", "last_name": "Chín"}
NEIGHBOURS = [{"id": 8500 + i, "first_name": f"Hàng xóm {i}"} for i in range(9)]


async def _group(loa: Loa, area: str = "BT-KP1") -> int:
    chat_id = await loa.client.add_bot_to_group(TOKEN, f"Nhóm {area}", LEADER)
    await loa.client.group_message(TOKEN, chat_id, LEADER, f"/dangky@{USERNAME} {loa.codes[area]}")
    await loa.player.wait_text(chat_id, "✅")
    return chat_id


async def _delivered(loa: Loa, chat_id: int, text: str) -> int:
    """Send a notice to the group; the id of the message carrying its button."""
    notice_id = await loa.send_notice(["BT-KP1"], text)
    await loa.wait_for(
        lambda: loa.deliveries(notice_id),
        lambda found: [d.status for d in found.values()] == ["sent"],
        "the delivery sent",
    )
    message_id, _ = await loa.player.button(chat_id, "ack:")
    return message_id


async def _message(loa: Loa, chat_id: int, message_id: int) -> dict[str, Any]:
    found = [m for m in await loa.client.messages(TOKEN, chat_id) if m["message_id"] == message_id]
    assert len(found) == 1
    return found[0]


async def _press(loa: Loa, chat_id: int, message_id: int, user: dict[str, Any]) -> str:
    query = await loa.client.press(TOKEN, chat_id, message_id, user)
    answer = await loa.client.callback_answer(query, wait=20)
    assert answer is not None, "the press was never answered"
    return str(answer["text"])


async def _first_ack_clock(loa: Loa) -> str:
    async with session_scope(loa.runtime.sessionmaker) as session:
        first = (
            await session.scalars(
                select(Acknowledgement).order_by(col(Acknowledgement.created_at)).limit(1)
            )
        ).one()
    at = first.created_at
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo("UTC"))
    return at.astimezone(TZ).strftime("%H:%M")


async def _shows(loa: Loa, chat_id: int, message_id: int, needle: str) -> dict[str, Any]:
    shown: dict[str, Any] = await loa.wait_for(
        lambda: _message(loa, chat_id, message_id),
        lambda m: needle in m["text"],
        f"the message showing {needle!r}",
    )
    return shown


async def test_presses_show_under_the_notice_with_few_edits(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        chat_id = await _group(loa)
        message_id = await _delivered(loa, chat_id, "Cúp điện 8 giờ sáng thứ Bảy 12/12 & chiều.")
        original = await _message(loa, chat_id, message_id)
        button = original["reply_markup"]["inline_keyboard"]

        assert "Cảm ơn" in await _press(loa, chat_id, message_id, LEADER)
        clock = await _first_ack_clock(loa)
        one = await _shows(loa, chat_id, message_id, "✅ Đã nhận: Ông Chín")
        assert one["text"] == f"{original['text']}\n\n✅ Đã nhận: Ông Chín ({clock})"
        assert one["reply_markup"]["inline_keyboard"] == button  # the button stays
        edits_before = len(one["edits"])
        assert edits_before == 1

        # Nine neighbours press at once: the line counts them, in far fewer edits.
        answers = await asyncio.gather(*(_press(loa, chat_id, message_id, n) for n in NEIGHBOURS))
        assert all("Cảm ơn" in a for a in answers)
        line = f"✅ Đã nhận: Ông Chín ({clock}) và 9 người khác"
        shown = await _shows(loa, chat_id, message_id, "và 9 người khác")
        assert loa.runtime.services is not None
        await loa.runtime.services.outbox.settled()
        shown = await _message(loa, chat_id, message_id)
        assert shown["text"] == f"{original['text']}\n\n{line}"
        assert shown["plain_text"].endswith(line)
        assert "&amp;" in shown["text"] and "& chiều" in shown["plain_text"]  # escaped once
        assert shown["reply_markup"]["inline_keyboard"] == button
        ten_press_edits = len(shown["edits"])
        assert ten_press_edits <= 3, shown["edits"]  # 10 presses, at most 3 edits
        assert await loa.client.rejected_429(TOKEN, chat_id) == 0
        assert loa.runtime.services.outbox.retry_afters[chat_id] == 0

        print(f"10 presses, {ten_press_edits} edits of the group message")
        # The same person again changes nothing.
        assert "rồi" in await _press(loa, chat_id, message_id, LEADER)
        await loa.runtime.services.outbox.settled()
        assert len((await _message(loa, chat_id, message_id))["edits"]) == ten_press_edits


async def test_a_long_notice_gets_the_line_on_its_button_part_only(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        chat_id = await _group(loa)
        sentence = "Đề nghị bà con kiểm tra đồng hồ nước tại nhà và báo cho tổ trưởng. "
        text = "Kiểm tra đồng hồ nước\n\n" + "\n\n".join(sentence * 6 for _ in range(15))
        assert len(text) > 4096
        message_id = await _delivered(loa, chat_id, text)
        parts = [
            m for m in await loa.client.messages(TOKEN, chat_id) if "Đề nghị bà con" in m["text"]
        ]
        assert len(parts) >= 2 and parts[-1]["message_id"] == message_id
        first_part = parts[0]
        assert not first_part.get("reply_markup")
        before = await _message(loa, chat_id, message_id)

        await _press(loa, chat_id, message_id, LEADER)
        shown = await _shows(loa, chat_id, message_id, "✅ Đã nhận: Ông Chín")
        assert shown["text"].startswith(before["text"] + "\n\n✅ Đã nhận: Ông Chín (")
        assert len(shown["plain_text"].encode("utf-16-le")) // 2 <= 4096
        assert shown["reply_markup"] == before["reply_markup"]
        untouched = await _message(loa, chat_id, first_part["message_id"])
        assert untouched["edits"] == [] and "Đã nhận:" not in untouched["text"]
