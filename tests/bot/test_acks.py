"""A Đã nhận press counts only for the delivery whose message was pressed.

A modified client can put any callback data on a press: here a leader of group B
presses under B's notice with the callback data of group A's delivery. The press reaches
the bot as Telegram would post it (webhook mode, with the secret), carrying the real
message of group B. It is answered politely, credited to nobody, and audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.models import Acknowledgement, AuditEvent
from tests.bot.telegram_world import TOKEN, USERNAME, Loa, open_loa

LEADERS = {
    "BT-KP1": {"id": 8301, "first_name": "Lan"},
    "BT-KP2": {"id": 8302, "first_name": "Minh"},
}


async def _register(loa: Loa, area: str) -> dict[str, Any]:
    leader = LEADERS[area]
    chat_id = await loa.client.add_bot_to_group(TOKEN, f"Nhóm {area}", leader)
    chat = {"id": chat_id, "type": "group", "title": f"Nhóm {area}"}
    await loa.post_update(loa.group_message(chat, leader, f"/dangky@{USERNAME} {loa.codes[area]}"))
    await loa.player.wait_text(chat_id, "✅")
    return chat


async def _press(loa: Loa, chat: dict[str, Any], area: str, data: str) -> str:
    """A leader presses the button under the notice in `chat`, the client sending `data`."""
    chat_id = int(chat["id"])
    message_id, _ = await loa.player.button(chat_id, "ack:")
    shown = next(
        m for m in await loa.client.messages(TOKEN, chat_id) if m["message_id"] == message_id
    )
    # The sandbox opens a real callback query (so the bot's answer is accepted); the
    # update Telegram posts carries the data the client chose.
    query_id = await loa.client.press(TOKEN, chat_id, message_id, LEADERS[area])
    update = {
        "update_id": loa.next_id(),
        "callback_query": {
            "id": query_id,
            "from": {"is_bot": False, **LEADERS[area]},
            "chat_instance": str(chat_id),
            "data": data,
            "message": {
                "message_id": message_id,
                "from": {"id": 710002, "is_bot": True, "first_name": "Loa", "username": USERNAME},
                "chat": chat,
                "date": shown["date"],
                "text": shown["plain_text"],
                "reply_markup": shown["reply_markup"],
            },
        },
    }
    assert (await loa.post_update(update)).json()["duplicate"] is False
    answer = await loa.client.callback_answer(query_id, wait=20)
    assert answer is not None, "the press was never answered"
    return str(answer["text"])


async def _acks(loa: Loa) -> list[tuple[int, str]]:
    async with session_scope(loa.runtime.sessionmaker) as session:
        rows = await session.execute(
            select(col(Acknowledgement.channel_id), col(Acknowledgement.person_ref))
        )
        return [(c, p) for c, p in rows]


async def test_a_forged_press_is_answered_and_not_credited(database_url: str) -> None:
    async with open_loa(database_url, mode="webhook") as loa:
        chats = {area: await _register(loa, area) for area in LEADERS}
        notice_id = await loa.send_notice(list(LEADERS), "Cúp điện 8 giờ sáng thứ Bảy 12/12.")
        deliveries = await loa.wait_for(
            lambda: loa.deliveries(notice_id),
            lambda found: len(found) == 2 and all(d.status == "sent" for d in found.values()),
            "both deliveries sent",
        )
        a = deliveries[str(chats["BT-KP1"]["id"])]
        b = deliveries[str(chats["BT-KP2"]["id"])]

        # Group B's leader, under B's notice, with A's delivery in the callback data.
        answer = await _press(loa, chats["BT-KP2"], "BT-KP2", f"ack:{a.id}")
        assert answer == "Nút này không thuộc thông báo của nhóm này."
        assert await _acks(loa) == []
        async with session_scope(loa.runtime.sessionmaker) as session:
            audited = list(
                await session.scalars(
                    select(AuditEvent).where(col(AuditEvent.action) == "ack.refused")
                )
            )
        assert [e.subject for e in audited] == [f"delivery:{a.id}"]
        assert audited[0].detail["chat_ref"] == str(chats["BT-KP2"]["id"])

        # The same leader with the button's own data is credited, to group B only.
        answer = await _press(loa, chats["BT-KP2"], "BT-KP2", f"ack:{b.id}")
        assert answer.startswith("✅ Cảm ơn")
        assert await _acks(loa) == [(b.channel_id, "8302")]
        async with session_scope(loa.runtime.sessionmaker) as session:
            refused = await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.action) == "ack.refused")
            )
        assert refused == 1


async def test_a_forged_press_is_not_credited_when_polling(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        chats: dict[str, int] = {}
        for area, leader in LEADERS.items():
            chats[area] = await loa.client.add_bot_to_group(TOKEN, f"Nhóm {area}", leader)
            await loa.client.group_message(
                TOKEN, chats[area], leader, f"/dangky@{USERNAME} {loa.codes[area]}"
            )
            await loa.player.wait_text(chats[area], "✅")
        notice_id = await loa.send_notice(
            list(LEADERS), "Phun thuốc diệt muỗi sáng Chủ nhật 13/12."
        )
        deliveries = await loa.wait_for(
            lambda: loa.deliveries(notice_id),
            lambda found: len(found) == 2 and all(d.status == "sent" for d in found.values()),
            "both deliveries sent",
        )
        a = deliveries[str(chats["BT-KP1"])]
        chat_b = chats["BT-KP2"]
        message_id, _ = await loa.player.button(chat_b, "ack:")
        query = await loa.client.press(
            TOKEN, chat_b, message_id, LEADERS["BT-KP2"], data=f"ack:{a.id}", forge=True
        )
        answer = await loa.client.callback_answer(query, wait=20)
        assert (
            answer is not None and answer["text"] == "Nút này không thuộc thông báo của nhóm này."
        )
        assert await _acks(loa) == []
