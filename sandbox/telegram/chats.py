"""Where a bot may write: chat resolution, posting rights, forum topics, reply targets; and
the chat methods getChat and getChatMember.

* A group where the bot may not post: the bot's own status is "restricted" with
  ``can_send_messages`` false, or it is a plain member and the group's default permissions
  deny ``can_send_messages`` (a read-only, channel-like group). Administrators may always
  post. sendMessage then answers 400 "not enough rights to send text messages to the chat".
  getChatMember(bot) reports the restriction (status "restricted", ``can_send_messages``
  false) and getChat reports the group's ``permissions``, so a bot can check both when it
  is registered.
* Forum supergroups (``is_forum``): without ``message_thread_id`` a message goes to General;
  with one, to that topic. An unknown thread (including 1, which is not how General is
  addressed) is "message thread not found"; a closed topic, or a closed General topic when
  no thread is given, is "TOPIC_CLOSED" (bots are not given can_manage_topics, the right
  that lets admins write in closed topics). A thread id in a chat that is not a forum is
  "message thread not found".
* Replies (``reply_parameters`` or the older ``reply_to_message_id``): the message must exist
  in the chat, else "message to be replied not found" unless allow_sending_without_reply.
  A reply in a forum without a thread goes to the topic of the message replied to.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    CHAT_NOT_FOUND,
    NO_RIGHTS_TEXT,
    REPLY_NOT_FOUND,
    THREAD_NOT_FOUND,
    TOPIC_CLOSED,
    bad_request,
    forbidden,
)
from .model import ADMINS, BotState, Chat, ChatLog
from .params import chat_id_of, method, p_bool, p_int, p_json
from .state import World

NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


def resolve_chat(world: World, bot: BotState, chat_id: int) -> tuple[dict[str, Any], Chat | None]:
    """The Chat object the bot may write to and, for a group, its record; else the error."""
    if chat_id > 0:
        chat = bot.private.get(chat_id)
        if chat is not None:
            return chat, None
        if chat_id in world.users:
            raise forbidden("bot can't initiate conversation with a user")
        raise bad_request(CHAT_NOT_FOUND)
    status = bot.groups.get(chat_id)
    group = world.chats.get(chat_id)
    if status is None or group is None:
        raise bad_request(CHAT_NOT_FOUND)
    if group.migrated_to is not None:
        raise bad_request(
            "group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": group.migrated_to},
        )
    if status == "kicked":
        raise forbidden(f"bot was kicked from the {group.type} chat")
    if status == "left":
        raise forbidden(f"bot is not a member of the {group.type} chat")
    return group.public, group


def may_post(bot: BotState, group: Chat) -> bool:
    status = bot.groups.get(group.id)
    if status in ADMINS:
        return True
    if status == "restricted":
        rights = bot.restrictions.get(group.id)
        if rights is not None and not rights["can_send_messages"]:
            return False
    return group.permissions is None or group.permissions["can_send_messages"]


def check_can_post(bot: BotState, group: Chat) -> None:
    if not may_post(bot, group):
        raise bad_request(NO_RIGHTS_TEXT)


def shallow(msg: dict[str, Any]) -> dict[str, Any]:
    """A message as a reply_to_message: Telegram does not nest replies further."""
    if "reply_to_message" not in msg:
        return msg
    return {k: v for k, v in msg.items() if k != "reply_to_message"}


def reply_target(
    bot: BotState, log: ChatLog, chat: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    """The Message a send replies to, None if it is not a reply; else the error."""
    reply = p_json(params, "reply_parameters", "reply parameters")
    if isinstance(reply, dict):
        target_id = reply.get("message_id")
        lenient = bool(reply.get("allow_sending_without_reply"))
    else:
        target_id = p_int(params, "reply_to_message_id")
        lenient = p_bool(params, "allow_sending_without_reply")
    if not target_id:
        return None
    mine = log.messages.get(target_id) if isinstance(target_id, int) else None
    if mine is not None:
        return shallow(mine.telegram(bot, chat))
    theirs = log.people.get(target_id) if isinstance(target_id, int) else None
    if theirs is not None:
        return shallow(theirs)
    if lenient:
        return None
    raise bad_request(REPLY_NOT_FOUND)


def topic_of(group: Chat | None, thread: int | None, reply: dict[str, Any] | None) -> int | None:
    """The forum topic a send goes to (None = General or not a forum); else the error."""
    if group is None or not group.is_forum:
        if thread:
            raise bad_request(THREAD_NOT_FOUND)
        return None
    if not thread and reply is not None:
        thread = reply.get("message_thread_id")
    if not thread:
        if group.general_closed:
            raise bad_request(TOPIC_CLOSED)
        return None
    topic = group.topics.get(thread)
    if topic is None:
        raise bad_request(THREAD_NOT_FOUND)
    if topic.closed:
        raise bad_request(TOPIC_CLOSED)
    return thread


@method("getChat")
async def get_chat(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat, group = resolve_chat(world, bot, chat_id_of(params))
    info = {**chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": NO_GIFTS}
    if group is not None and group.permissions is not None:
        info["permissions"] = group.permissions
    return info


@method("getChatMember")
async def get_chat_member(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    resolve_chat(world, bot, chat_id)
    user_id = p_int(params, "user_id", "user_id is empty")
    if user_id == bot.id:
        return bot.bot_member(chat_id) if chat_id < 0 else bot.member("member")
    user = world.users.get(user_id or 0)
    if user is None:
        raise bad_request("user not found")
    if chat_id > 0:
        if user_id != chat_id:
            raise bad_request("user not found")
        return bot.member("member", user)
    group = world.chats[chat_id]
    if user_id not in group.members:
        return bot.member("left", user)
    if group.creator is not None and group.creator.get("id") == user_id:
        return {"status": "creator", "user": user, "is_anonymous": False}
    return bot.member("administrator" if user_id in group.admins else "member", user)
