"""Privacy mode in groups: what people write reaches a bot only as Telegram documents."""

from __future__ import annotations

from aiogram import Bot

from sandbox.telegram.client import SandboxClient
from tests.sandbox.conftest import BOT_NAME, LAN, MINH, OTHER, TOKEN, MakeBot


async def _texts(bot: Bot, offset: int) -> tuple[list[str], int]:
    updates = await bot.get_updates(offset=offset, timeout=0)
    texts = [u.message.text or "" for u in updates if u.message and u.message.text]
    return texts, (updates[-1].update_id + 1 if updates else offset)


async def test_privacy_mode_filters_group_messages(
    client: SandboxClient, make_bot: MakeBot
) -> None:
    bot, other = make_bot(), make_bot(OTHER)
    group = await client.add_bot_to_group(TOKEN, "Tổ 3", LAN)
    await client.add_bot_to_group(OTHER, "Tổ 3", LAN, chat_id=group)
    offset = (await bot.get_updates(timeout=0))[-1].update_id + 1

    said = [
        ("chatter", False),
        (f"/register@{BOT_NAME} ABC", True),  # explicitly meant for it
        (f"/register@{BOT_NAME.upper()} ABC", True),  # usernames are case-insensitive
        ("/register@someone_else_bot ABC", False),
        ("/register ABC", False),  # no bot has written here yet
        (f"hello @{BOT_NAME}", False),  # a mention is not in the documented list
    ]
    for text, reaches in said:
        sent = await client.group_message(TOKEN, group, MINH, text)
        assert sent["delivered"] is reaches, text
        assert (sent["update_id"] is not None) is reaches
    texts, offset = await _texts(bot, offset)
    assert texts == [text for text, reaches in said if reaches]

    # once this bot is the last bot that wrote, a bare command reaches it
    await bot.send_message(group, "Đã ghi nhận")
    assert (await client.group_message(TOKEN, group, MINH, "/register ABC"))["delivered"]
    assert not (await client.group_message(TOKEN, group, MINH, "hi /register ABC"))["delivered"]
    # ... until another bot writes
    await other.send_message(group, "I am here too")
    assert not (await client.group_message(TOKEN, group, MINH, "/register ABC"))["delivered"]
    assert (await client.group_message(OTHER, group, MINH, "/help"))["delivered"]
    texts, offset = await _texts(bot, offset)
    assert texts == ["/register ABC"]


async def test_replies_reach_the_bot(client: SandboxClient, bot: Bot) -> None:
    group = await client.add_bot_to_group(TOKEN, "Tổ 4", LAN)
    mine = await bot.send_message(group, "Mời bà con trả lời tin này")
    stranger = await client.group_message(TOKEN, group, LAN, "unrelated")
    command = await client.group_message(TOKEN, group, LAN, f"/register@{BOT_NAME} X")
    cases = [
        (mine.message_id, True),  # a reply to the bot's own message
        (command["message_id"], True),  # a reply to a message meant for the bot
        (stranger["message_id"], False),  # a reply to someone else's chatter
    ]
    for target, reaches in cases:
        sent = await client.group_message(TOKEN, group, MINH, "trả lời", reply_to_message_id=target)
        assert sent["delivered"] is reaches, target
    updates = await bot.get_updates(timeout=0)
    replies = [u.message for u in updates if u.message and u.message.reply_to_message]
    assert [m.reply_to_message.message_id for m in replies if m.reply_to_message] == [
        mine.message_id,
        command["message_id"],
    ]


async def test_admins_and_bots_without_privacy_see_everything(
    client: SandboxClient, bot: Bot
) -> None:
    admin_group = await client.add_bot_to_group(TOKEN, "Ban điều hành", LAN, admin=True)
    assert (await client.group_message(TOKEN, admin_group, MINH, "chatter"))["delivered"]

    await client.set_privacy(TOKEN, False)
    assert (await bot.get_me()).can_read_all_group_messages is True
    open_group = await client.add_bot_to_group(TOKEN, "Tổ 9", LAN)
    assert (await client.group_message(TOKEN, open_group, MINH, "chatter"))["delivered"]

    # As on Telegram, a change applies to groups the bot joins afterwards.
    await client.set_privacy(TOKEN, True)
    assert (await client.group_message(TOKEN, open_group, MINH, "still seen"))["delivered"]
    private_group = await client.add_bot_to_group(TOKEN, "Tổ 10", LAN)
    assert not (await client.group_message(TOKEN, private_group, MINH, "unseen"))["delivered"]


async def test_service_messages_and_private_chats_always_reach(
    client: SandboxClient, bot: Bot
) -> None:
    group = await client.add_bot_to_group(TOKEN, "Tổ 11", LAN)
    new_id = await client.migrate(TOKEN, group)
    await client.private_message(TOKEN, MINH, "chatter in private")
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates if u.message]
    assert [m.migrate_to_chat_id for m in messages[:2]] == [new_id, None]
    assert messages[1].migrate_from_chat_id == group
    assert messages[2].text == "chatter in private"
