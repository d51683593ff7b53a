"""Groups: membership, migration, and groups where the bot may not post."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramMigrateToChat
from aiogram.types import ChatMemberRestricted

from sandbox.telegram.client import SandboxClient, SandboxError
from tests.sandbox.conftest import LAN, MINH, TOKEN, FakeClock

NO_RIGHTS = "Bad Request: not enough rights to send text messages to the chat"


async def test_groups_membership_and_migration(client: SandboxClient, bot: Bot) -> None:
    group = await client.add_bot_to_group(TOKEN, "Tổ dân phố 6", LAN)
    assert group < 0 and not str(group).startswith("-100")
    (update,) = await bot.get_updates(timeout=2)
    change = update.my_chat_member
    assert change is not None and change.chat.id == group and change.chat.title == "Tổ dân phố 6"
    assert change.from_user.id == LAN["id"]
    assert change.old_chat_member.status == "left" and change.new_chat_member.status == "member"
    assert (await bot.get_chat_member(group, bot.id)).status == "member"
    assert (await bot.get_chat(group)).title == "Tổ dân phố 6"

    sent = await client.group_message(TOKEN, group, MINH, "/register@loa123456_bot ABC")
    (update,) = await bot.get_updates(offset=update.update_id + 1, timeout=2)
    assert update.message and update.message.chat.type == "group"
    assert update.message.message_id == sent["message_id"]
    assert update.message.entities and update.message.entities[0].length == 23
    assert (await bot.get_chat_member(group, MINH["id"])).status == "member"
    assert (await bot.send_message(group, "ok")).message_id == sent["message_id"] + 1

    new_id = await client.migrate(TOKEN, group)
    old_msg, new_msg = await bot.get_updates(offset=update.update_id + 1, timeout=2)
    assert old_msg.message and old_msg.message.migrate_to_chat_id == new_id
    assert new_msg.message and new_msg.message.migrate_from_chat_id == group
    with pytest.raises(TelegramMigrateToChat) as exc:
        await bot.send_message(group, "old id")
    assert exc.value.migrate_to_chat_id == new_id
    assert await bot.send_message(new_id, "new id")

    await client.remove_bot(TOKEN, new_id, LAN)
    (update,) = await bot.get_updates(offset=new_msg.update_id + 1, timeout=2)
    assert update.my_chat_member and update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(new_id, "gone")

    left = await client.add_bot_to_group(TOKEN, "Another", LAN, type="supergroup")
    assert str(left).startswith("-100")
    await client.remove_bot(TOKEN, left, status="left")
    with pytest.raises(TelegramForbiddenError, match="not a member"):
        await bot.send_message(left, "gone")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-999, "nowhere")
    with pytest.raises(SandboxError, match="not in chat"):
        await client.group_message(TOKEN, left, MINH, "hello?")


async def test_a_restricted_bot_may_not_post(client: SandboxClient, bot: Bot) -> None:
    group = await client.add_bot_to_group(TOKEN, "Tổ 7", LAN, type="supergroup")
    offset = (await bot.get_updates(timeout=0))[-1].update_id + 1
    assert await bot.send_message(group, "before")
    result = await client.restrict_bot(TOKEN, group, {"can_send_messages": False})
    assert result["status"] == "restricted"
    (update,) = await bot.get_updates(offset=offset, timeout=2)
    change = update.my_chat_member
    assert change is not None and change.old_chat_member.status == "member"
    new = change.new_chat_member
    assert isinstance(new, ChatMemberRestricted) and new.can_send_messages is False
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(group, "after")
    assert exc.value.message == NO_RIGHTS
    # what a bot checks when it is registered
    member = await bot.get_chat_member(group, bot.id)
    assert isinstance(member, ChatMemberRestricted)
    assert member.is_member and member.can_send_messages is False
    assert member.can_send_polls is True  # rights not named stay granted
    # lifting the restriction
    assert (await client.restrict_bot(TOKEN, group, {}))["status"] == "member"
    assert (await bot.get_chat_member(group, bot.id)).status == "member"
    assert await bot.send_message(group, "allowed again")
    assert [m["text"] for m in await client.messages(TOKEN, group)] == ["before", "allowed again"]


async def test_a_read_only_group(client: SandboxClient, bot: Bot, clock: FakeClock) -> None:
    group = await client.add_bot_to_group(TOKEN, "Loa phường", LAN)
    await client.set_permissions(group, {"can_send_messages": False})
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(group, "hello")
    assert exc.value.message == NO_RIGHTS
    chat = await bot.get_chat(group)
    assert chat.permissions is not None and chat.permissions.can_send_messages is False
    assert (await bot.get_chat_member(group, bot.id)).status == "member"
    # an administrator may post in a read-only group
    admin_group = await client.add_bot_to_group(TOKEN, "Ban điều hành", LAN, admin=True)
    await client.set_permissions(admin_group, {"can_send_messages": False})
    assert await bot.send_message(admin_group, "admins may")
    assert (await client.stats(TOKEN))["sent"] == 1
    await client.set_permissions(group, {})
    assert (await bot.get_chat(group)).permissions is None
    assert await bot.send_message(group, "open again")


async def test_restriction_needs_the_bot_in_the_group(client: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="no group chat"):
        await client.restrict_bot(TOKEN, -42, {"can_send_messages": False})
    group = await client.add_bot_to_group(TOKEN, "G", LAN)
    with pytest.raises(SandboxError, match="unknown permissions"):
        await client.restrict_bot(TOKEN, group, {"can_fly": False})
