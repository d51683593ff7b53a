"""Groups register the way privacy mode lets a command through, and Loa says so.

With privacy mode on (Telegram's default) a bot surely sees a command in a group only
when the command names it (`/dangky@bot`); every instruction Loa gives uses that form,
with the bot's real username. `/register@bot` and, when it reaches the bot, the bare
`/dangky` work too; a command naming another bot is not for Loa. A forum group gets its
notices in the topic it registered from; a group where Loa may not post is not
registered, and the leader is told.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.models import AuditEvent
from tests.bot.telegram_world import TOKEN, USERNAME, Loa, open_loa

LEADER_ID = 8201
LEADER: dict[str, Any] = {"id": LEADER_ID, "first_name": "Tổ trưởng Hoa"}


async def _group(loa: Loa, title: str, *, admin: bool = False) -> int:
    chat_id = await loa.client.add_bot_to_group(TOKEN, title, LEADER, admin=admin)
    await loa.player.wait_text(chat_id, "Xin chào")  # the greeting: Loa spoke last here
    return chat_id


async def _say(loa: Loa, chat_id: int, text: str) -> None:
    await loa.client.group_message(TOKEN, chat_id, LEADER, text)


async def test_every_instruction_shows_the_command_that_names_the_bot(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        chat_id = await _group(loa, "Nhóm Khu phố 1")
        greeting = await loa.player.wait_text(chat_id, "Xin chào")
        assert f"/dangky@{USERNAME} MÃ" in greeting
        assert "/register" not in greeting
        await _say(loa, chat_id, f"/dangky@{USERNAME}")
        answer = await loa.player.wait_text(chat_id, "Vui lòng gửi kèm mã")
        assert f"/dangky@{USERNAME} MÃ" in answer


async def test_mention_alias_and_case_all_register(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        forms = {
            "BT-KP1": f"/register@{USERNAME} {{code}}",
            "BT-KP2": "/dangky {code}",  # bare: reaches the bot since Loa spoke last here
            "BT-KP3": f"/DangKy@{USERNAME.upper()} {{code}}",  # phones capitalise
        }
        chats = {}
        for area, form in forms.items():
            chats[area] = await _group(loa, f"Nhóm {area}")
            await _say(loa, chats[area], form.format(code=loa.codes[area]))
        for area, chat_id in chats.items():
            await loa.player.wait_text(chat_id, "✅")
            channel = await loa.channel(chat_id)
            assert channel is not None and channel.active, area
            assert channel.topic_ref is None  # not a forum: the main thread


async def test_a_group_sending_its_code_again_is_told_it_is_registered(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        chat_id = await _group(loa, "Nhóm Khu phố 1")
        await _say(loa, chat_id, f"/dangky@{USERNAME} {loa.codes['BT-KP1']}")
        await loa.player.wait_text(chat_id, "✅ Đã đăng ký")
        await _say(loa, chat_id, f"/dangky@{USERNAME} {loa.codes['BT-KP1']}")
        again = await loa.player.wait_text(chat_id, "Nhóm này đã được đăng ký cho")
        assert "Khu phố 1" in again
        other = await _group(loa, "Nhóm khác")
        await _say(loa, other, f"/dangky@{USERNAME} {loa.codes['BT-KP1']}")
        await loa.player.wait_text(other, "Mã này đã được dùng rồi")
        channel = await loa.channel(other)
        assert channel is None or not channel.active


async def test_a_command_for_another_bot_is_left_alone(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiogram.event")
    async with open_loa(database_url) as loa:
        # An admin bot gets every message, privacy mode or not: this one must be ignored.
        chat_id = await _group(loa, "Nhóm Khu phố 4", admin=True)
        sent = await loa.client.group_message(
            TOKEN, chat_id, LEADER, f"/dangky@some_other_bot {loa.codes['BT-KP4']}"
        )
        done = f"Update id={sent['update_id']} is not handled"  # aiogram's own word for it
        await loa.wait_for(
            lambda: _logged(caplog), lambda lines: any(done in line for line in lines), done
        )
        texts = [m["plain_text"] for m in await loa.client.messages(TOKEN, chat_id)]
        assert not [t for t in texts if "✅" in t]
        assert await loa.channel(chat_id) is None


async def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


async def test_a_forum_group_gets_notices_in_the_topic_it_registered_from(
    database_url: str,
) -> None:
    async with open_loa(database_url) as loa:
        forum = await loa.client.add_bot_to_group(
            TOKEN, "Khu phố 1 (chủ đề)", LEADER, is_forum=True
        )
        greeting = await loa.player.wait_text(forum, "Xin chào")
        assert "chủ đề" in greeting  # where to send the command, in a forum
        topic = await loa.client.create_topic(forum, "Thông báo phường", LEADER)
        await loa.client.group_message(
            TOKEN,
            forum,
            LEADER,
            f"/dangky@{USERNAME} {loa.codes['BT-KP1']}",
            message_thread_id=topic,
        )
        done = await _message(loa, forum, "✅")
        assert done["message_thread_id"] == topic and "chủ đề này" in done["plain_text"]
        channel = await loa.channel(forum)
        assert channel is not None and channel.topic_ref == str(topic)
        # A forum registered from General keeps General.
        general = await loa.client.add_bot_to_group(
            TOKEN, "Khu phố 2 (chủ đề)", LEADER, is_forum=True
        )
        await loa.player.wait_text(general, "Xin chào")
        await loa.client.group_message(
            TOKEN, general, LEADER, f"/dangky@{USERNAME} {loa.codes['BT-KP2']}"
        )
        assert (await _message(loa, general, "✅"))["message_thread_id"] is None
        assert (channel := await loa.channel(general)) is not None and channel.topic_ref is None

        await loa.client.close_topic(forum)  # General closed: only the topic takes posts
        notice_id = await loa.send_notice(
            ["BT-KP1", "BT-KP2"], "Họp tổ dân phố 19 giờ thứ Sáu 11/12."
        )
        await loa.wait_for(
            lambda: loa.deliveries(notice_id),
            lambda found: all(d.status == "sent" for d in found.values()),
            "both deliveries sent",
        )
        assert (await _message(loa, forum, "Họp tổ dân phố"))["message_thread_id"] == topic
        assert (await _message(loa, general, "Họp tổ dân phố"))["message_thread_id"] is None


async def test_a_group_where_the_bot_may_not_post_is_not_registered(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        # The leader has talked to the bot before, so the bot can tell them privately.
        await loa.client.private_message(TOKEN, LEADER, "/start")
        await loa.player.wait_text(LEADER_ID, "Xin chào")
        muted = await _group(loa, "Nhóm Khu phố 3")
        await loa.client.restrict_bot(TOKEN, muted, {"can_send_messages": False})
        read_only = await _group(loa, "Nhóm Khu phố 4")
        await loa.client.set_permissions(read_only, {"can_send_messages": False})
        for chat_id, area in ((muted, "BT-KP3"), (read_only, "BT-KP4")):
            await _say(loa, chat_id, f"/dangky@{USERNAME} {loa.codes[area]}")
        told = await loa.wait_for(
            lambda: loa.client.messages(TOKEN, LEADER_ID),
            lambda found: sum("chưa được phép gửi tin nhắn" in m["plain_text"] for m in found) == 2,
            "both refusals told to the leader",
        )
        refusal = next(m["plain_text"] for m in told if "chưa được phép" in m["plain_text"])
        assert f"/dangky@{USERNAME} MÃ" in refusal
        for chat_id in (muted, read_only):
            assert await loa.channel(chat_id) is None
        async with session_scope(loa.runtime.sessionmaker) as session:
            refused = list(
                await session.scalars(
                    select(AuditEvent).where(col(AuditEvent.action) == "channel.refused")
                )
            )
        assert sorted(e.subject for e in refused) == sorted(f"chat:{c}" for c in (muted, read_only))

        # Once the group lets Loa post, the same code still works.
        await loa.client.set_permissions(read_only, {"can_send_messages": True})
        await _say(loa, read_only, f"/dangky@{USERNAME} {loa.codes['BT-KP4']}")
        await loa.player.wait_text(read_only, "✅")
        assert (channel := await loa.channel(read_only)) is not None and channel.active


async def _message(loa: Loa, chat_id: int, needle: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = await loa.wait_for(
        lambda: loa.client.messages(TOKEN, chat_id),
        lambda messages: any(needle in m["plain_text"] for m in messages),
        f"a message with {needle!r} in chat {chat_id}",
    )
    return next(m for m in reversed(found) if needle in m["plain_text"])
