"""Forum supergroups: topics, message_thread_id, a closed General topic."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from sandbox.telegram.client import SandboxClient, SandboxError
from tests.sandbox.conftest import BOT_NAME, LAN, MINH, TOKEN, FakeClock


async def test_people_write_in_topics(client: SandboxClient, bot: Bot) -> None:
    forum = await client.add_bot_to_group(TOKEN, "Phường Bến Thành", LAN, is_forum=True)
    assert str(forum).startswith("-100")
    assert (await bot.get_chat(forum)).is_forum is True
    topic = await client.create_topic(forum, "Khu phố 1", LAN)
    sent = await client.group_message(
        TOKEN, forum, MINH, f"/register@{BOT_NAME} ABC", message_thread_id=topic
    )
    in_general = await client.group_message(TOKEN, forum, MINH, f"/help@{BOT_NAME}")
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates if u.message]
    created, command, general = messages
    assert (
        created.forum_topic_created is not None and created.forum_topic_created.name == "Khu phố 1"
    )
    assert created.message_id == topic
    assert command.message_id == sent["message_id"]
    assert command.message_thread_id == topic and command.is_topic_message is True
    assert command.chat.is_forum is True
    # a topic message is an implicit reply to the topic's creation, as on Telegram
    assert command.reply_to_message is not None
    assert command.reply_to_message.message_id == topic
    assert general.message_id == in_general["message_id"]
    assert general.message_thread_id is None and not general.is_topic_message


async def test_the_bot_writes_in_a_topic_or_in_general(
    client: SandboxClient, bot: Bot, clock: FakeClock
) -> None:
    forum = await client.add_bot_to_group(TOKEN, "Phường", LAN, is_forum=True)
    topic = await client.create_topic(forum, "Khu phố 2")
    in_topic = await bot.send_message(forum, "Thông báo", message_thread_id=topic)
    assert in_topic.message_thread_id == topic and in_topic.is_topic_message
    in_general = await bot.send_message(forum, "Thông báo chung")
    assert in_general.message_thread_id is None
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(forum, "x", message_thread_id=9999)
    assert exc.value.message == "Bad Request: message thread not found"
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(forum, "General is not thread 1", message_thread_id=1)
    clock.advance(1)
    # a reply without a thread goes to the topic of the message replied to
    person = await client.group_message(TOKEN, forum, MINH, "hỏi", message_thread_id=topic)
    reply = await bot.send_message(forum, "đáp", reply_to_message_id=person["message_id"])
    assert reply.message_thread_id == topic
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(forum, "x", reply_to_message_id=424242)
    records = await client.messages(TOKEN, forum)
    assert [(m["plain_text"], m["message_thread_id"]) for m in records] == [
        ("Thông báo", topic),
        ("Thông báo chung", None),
        ("đáp", topic),
    ]
    assert records[2]["reply_to_message_id"] == person["message_id"]


async def test_a_closed_general_topic(client: SandboxClient, bot: Bot, clock: FakeClock) -> None:
    forum = await client.add_bot_to_group(TOKEN, "Phường", LAN, is_forum=True)
    topic = await client.create_topic(forum, "Thông báo")
    await client.close_topic(forum)  # General
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(forum, "to General")
    assert exc.value.message == "Bad Request: TOPIC_CLOSED"
    assert await bot.send_message(forum, "to the topic", message_thread_id=topic)
    with pytest.raises(SandboxError, match="General topic is closed"):
        await client.group_message(TOKEN, forum, MINH, "members cannot either")
    await client.close_topic(forum, topic)
    with pytest.raises(TelegramBadRequest, match="TOPIC_CLOSED"):
        await bot.send_message(forum, "closed too", message_thread_id=topic)
    await client.close_topic(forum, closed=False)
    assert await bot.send_message(forum, "General reopened")
    assert (await client.stats(TOKEN))["sent"] == 2


async def test_threads_outside_forums(client: SandboxClient, bot: Bot) -> None:
    group = await client.add_bot_to_group(TOKEN, "Supergroup", LAN, type="supergroup")
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group, "x", message_thread_id=5)
    with pytest.raises(SandboxError, match="not a forum"):
        await client.create_topic(group, "Topic")
    await client.set_forum(group)  # an admin turns topics on
    assert await client.create_topic(group, "Topic")
    assert (await bot.get_chat(group)).is_forum is True
    basic = await client.add_bot_to_group(TOKEN, "Basic", LAN)
    with pytest.raises(SandboxError, match="only a supergroup"):
        await client.set_forum(basic)
