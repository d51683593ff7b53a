"""Groups register the way privacy mode lets a command through, and Loa says so.

With privacy mode on (Telegram's default) a bot surely sees a command in a group only
when the command names it (`/dangky@bot`); every instruction Loa gives uses that form,
with the bot's real username. `/register@bot` and, when it reaches the bot, the bare
`/dangky` work too; a command naming another bot is not for Loa.
"""

from __future__ import annotations

import logging

import pytest

from tests.bot.telegram_world import TOKEN, USERNAME, Loa, open_loa

LEADER = {"id": 8201, "first_name": "Tổ trưởng Hoa"}


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
