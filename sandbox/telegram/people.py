"""The control API's actions: people write, press, run their groups; @BotFather settings.

Each coroutine takes the JSON body of ``POST /_sandbox/<name>`` and returns the JSON answer;
a mistake raises ControlError (400 ``{"error": "..."}``). Each action queues the Update
Telegram would send. ``SandboxClient`` has one method per action (named in brackets).
"""

from __future__ import annotations

import time
from typing import Any

from .errors import ControlError
from .htmltext import command_entities
from .model import ACTIVE, BotState, Chat, Topic, permissions, private_chat
from .state import World


def as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ControlError(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be an integer") from None


def _text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise ControlError("text must be a non-empty string")
    return text


class People:
    def __init__(self, world: World) -> None:
        self.world = world

    def _reply(self, bot: BotState, chat_id: int, body: dict[str, Any]) -> dict[str, Any] | None:
        raw = body.get("reply_to_message_id")
        if raw is None:
            return None
        target_id = as_int(raw, "reply_to_message_id")
        log = bot.log(chat_id)
        mine = log.messages.get(target_id)
        if mine is not None:
            chat = bot.private.get(chat_id) if chat_id > 0 else self.world.group(chat_id).public
            msg = mine.telegram(bot, chat or {"id": chat_id, "type": "private"})
        else:
            msg = log.people.get(target_id)  # type: ignore[assignment]
        if msg is None:
            raise ControlError(f"no message {target_id} in chat {chat_id}")
        return {k: v for k, v in msg.items() if k != "reply_to_message"}

    async def private_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """{token, user, text, reply_to_message_id?}: a person writes to the bot privately
        (this opens the private chat) -> {update_id, message_id, chat_id}. [private_message]"""
        world = self.world
        bot = world.control_bot(body.get("token"))
        user = world.remember(body.get("user"))
        text = _text(body)
        chat = bot.private[user["id"]] = private_chat(user)
        reply = self._reply(bot, user["id"], body)
        update_id, message_id = world.user_message(
            bot, chat, user, text, command_entities(text), reply_to=reply
        )
        return {"update_id": update_id, "message_id": message_id, "chat_id": user["id"]}

    async def groups(self, body: dict[str, Any]) -> dict[str, Any]:
        """{token, by_user, title?, type? ("group" | "supergroup"), chat_id?, admin?,
        is_forum?}: ``by_user`` creates a group (or reuses ``chat_id``) and adds the bot, as
        a member or an administrator; ``is_forum`` makes a forum supergroup -> {chat_id,
        update_id}. The bot's privacy mode there is its setting now. [add_bot_to_group]"""
        world = self.world
        bot = world.control_bot(body.get("token"))
        by_user = world.remember(body.get("by_user"))
        chat_type = body.get("type") or ("supergroup" if body.get("is_forum") else "group")
        if chat_type not in ("group", "supergroup"):
            raise ControlError('type must be "group" or "supergroup"')
        if body.get("is_forum") and chat_type != "supergroup":
            raise ControlError("only a supergroup can be a forum")
        title = str(body.get("title") or "Group")
        chat_id = body.get("chat_id")
        if chat_id is None:
            chat = Chat(world.new_chat_id(chat_type), chat_type, title, by_user)
            world.chats[chat.id] = chat
            if body.get("is_forum"):
                chat.make_forum()
        else:
            chat_id = as_int(chat_id, "chat_id")
            if chat_id >= 0:
                raise ControlError("a group's chat_id must be negative")
            chat = world.chats.get(chat_id) or Chat(chat_id, chat_type, title, by_user)
            world.chats[chat_id] = chat
        if chat.migrated_to is not None:
            raise ControlError(f"chat {chat.id} was migrated to {chat.migrated_to}")
        old = bot.groups.get(chat.id, "left")
        if old in ACTIVE:
            raise ControlError(f"the bot is already in chat {chat.id}")
        chat.members.add(by_user["id"])
        new = "administrator" if body.get("admin") else "member"
        update_id = world.member_update(bot, chat, by_user, old, new)
        return {"chat_id": chat.id, "update_id": update_id}

    def _active_group(self, bot: BotState, chat_id: Any) -> Chat:
        chat = self.world.group(as_int(chat_id, "chat_id"))
        if chat.migrated_to is not None:
            raise ControlError(f"chat {chat.id} was migrated to {chat.migrated_to}")
        status = bot.groups.get(chat.id)
        if status not in ACTIVE:
            raise ControlError(f"the bot is not in chat {chat.id} (status {status})")
        return chat

    async def group_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """{token, chat_id, user, text, message_thread_id?, reply_to_message_id?}: a member
        writes in a group, in a forum topic if ``message_thread_id`` (General otherwise) ->
        {update_id, message_id, chat_id, delivered}. Privacy mode decides whether the bot
        gets it: if not, ``delivered`` is false and ``update_id`` null. [group_message]"""
        world = self.world
        bot = world.control_bot(body.get("token"))
        chat = self._active_group(bot, body.get("chat_id"))
        user = world.remember(body.get("user"))
        text = _text(body)
        topic = None
        if body.get("message_thread_id") is not None:
            topic = self._topic(chat, body["message_thread_id"])
            if topic.closed:
                raise ControlError(f"topic {topic.thread_id} is closed; members cannot write")
        elif chat.is_forum and chat.general_closed:
            raise ControlError("the General topic is closed; members cannot write there")
        reply = self._reply(bot, chat.id, body)
        chat.members.add(user["id"])
        update_id, message_id = world.user_message(
            bot,
            chat.public,
            user,
            text,
            command_entities(text),
            group=chat,
            topic=topic,
            reply_to=reply,
        )
        return {
            "update_id": update_id,
            "message_id": message_id,
            "chat_id": chat.id,
            "delivered": update_id is not None,
        }

    async def remove_bot(self, body: dict[str, Any]) -> dict[str, Any]:
        """{token, chat_id, status? ("kicked" | "left"), by_user?}: the bot is removed from a
        group -> {update_id, chat_id}. [remove_bot]"""
        world = self.world
        bot = world.control_bot(body.get("token"))
        chat = self._active_group(bot, body.get("chat_id"))
        status = body.get("status") or "kicked"
        if status not in ("kicked", "left"):
            raise ControlError('status must be "kicked" or "left"')
        by = body.get("by_user")
        by_user = world.remember(by) if by is not None else (chat.creator or bot.user)
        old = bot.groups[chat.id]
        update_id = world.member_update(bot, chat, by_user, old, status)
        return {"update_id": update_id, "chat_id": chat.id}

    async def migrate(self, body: dict[str, Any]) -> dict[str, Any]:
        """{chat_id, token?, by_user?}: a basic group becomes a supergroup -> {new_chat_id}.
        [migrate]"""
        world = self.world
        if body.get("token") is not None:
            world.control_bot(body["token"])
        by = body.get("by_user")
        new_id = world.migrate(
            as_int(body.get("chat_id"), "chat_id"), world.remember(by) if by is not None else None
        )
        return {"new_chat_id": new_id}

    async def press(self, body: dict[str, Any]) -> dict[str, Any]:
        """{token, chat_id, message_id, user, data?, forge?}: a person presses an inline
        button of the bot's message (default: the first) -> {callback_query_id, update_id}.
        With ``forge`` the query carries ``data`` whether or not the keyboard has it, as a
        modified client can send. In a private chat only its owner can press. [press]"""
        world = self.world
        bot = world.control_bot(body.get("token"))
        chat_id = as_int(body.get("chat_id"), "chat_id")
        message_id = as_int(body.get("message_id"), "message_id")
        user = world.remember(body.get("user"))
        log = bot.logs.get(chat_id)
        msg = log.messages.get(message_id) if log is not None else None
        if msg is None:
            raise ControlError(f"the bot has no message {message_id} in chat {chat_id}")
        if chat_id > 0 and user["id"] != chat_id:
            raise ControlError(f"user {user['id']} cannot press in {chat_id}'s private chat")
        buttons = [
            b.get("callback_data")
            for row in (msg.reply_markup or {}).get("inline_keyboard", [])
            for b in row
            if isinstance(b, dict) and b.get("callback_data")
        ]
        data = body.get("data")
        if body.get("forge"):
            if not isinstance(data, str) or not data:
                raise ControlError("a forged press needs its data as a non-empty string")
        elif data is None:
            if not buttons:
                raise ControlError(f"message {message_id} has no callback buttons")
            data = buttons[0]
        elif data not in buttons:
            raise ControlError(f"message {message_id} has no button with data {data!r}")
        if chat_id > 0:
            chat = bot.private.get(chat_id) or private_chat(world.users.get(chat_id, user))
        else:
            chat = world.group(chat_id).public
            world.chats[chat_id].members.add(user["id"])
        cq_id = world.new_callback_id(bot.token)
        update_id = bot.push_update(
            "callback_query",
            {
                "id": cq_id,
                "from": user,
                "message": msg.telegram(bot, chat),
                "chat_instance": str(abs(chat_id) * 31 + bot.id),
                "data": data,
            },
        )
        return {"callback_query_id": cq_id, "update_id": update_id}

    # ------------------------------------------------------------------ groups' settings

    def _topic(self, chat: Chat, raw: Any) -> Topic:
        thread_id = as_int(raw, "message_thread_id")
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise ControlError(f"chat {chat.id} has no topic {thread_id}")
        return topic

    def _service(self, chat: Chat, actor: dict[str, Any], **fields: Any) -> int:
        """A service message from ``actor`` to every bot in the group; returns its id."""
        mid = chat.ids[0]
        chat.ids[0] = mid + 1
        for bot in self.world.bots.values():
            if bot.groups.get(chat.id) in ACTIVE:
                self.world.service_message(bot, chat.public, actor, mid, **fields)
        return mid

    def _actor(self, chat: Chat, body: dict[str, Any]) -> dict[str, Any]:
        by = body.get("by_user")
        if by is not None:
            return self.world.remember(by)
        return chat.creator or {"id": 777000, "is_bot": False, "first_name": "Telegram"}

    async def forum(self, body: dict[str, Any]) -> dict[str, Any]:
        """{chat_id, enabled?}: an admin turns topics on (or off) in a supergroup; the chat
        then reports ``is_forum`` -> {chat_id, is_forum}. [set_forum]"""
        chat = self.world.group(as_int(body.get("chat_id"), "chat_id"))
        if chat.type != "supergroup":
            raise ControlError("only a supergroup can be a forum")
        chat.make_forum(bool(body.get("enabled", True)))
        return {"chat_id": chat.id, "is_forum": chat.is_forum}

    async def topics(self, body: dict[str, Any]) -> dict[str, Any]:
        """{chat_id, name, by_user?}: a topic is created in a forum (a forum_topic_created
        service message reaches the bots) -> {message_thread_id}. [create_topic]"""
        chat = self.world.group(as_int(body.get("chat_id"), "chat_id"))
        if not chat.is_forum:
            raise ControlError(f"chat {chat.id} is not a forum")
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise ControlError("a topic's name is 1-128 characters")
        actor = self._actor(chat, body)
        created = {"name": name, "icon_color": 7322096}
        thread_id = self._service(chat, actor, forum_topic_created=created)
        root = {
            "message_id": thread_id,
            "from": actor,
            "chat": chat.public,
            "date": int(time.time()),
            "message_thread_id": thread_id,
            "forum_topic_created": created,
            "is_topic_message": True,
        }
        chat.topics[thread_id] = Topic(thread_id, name, root)
        return {"message_thread_id": thread_id}

    async def close_topic(self, body: dict[str, Any]) -> dict[str, Any]:
        """{chat_id, message_thread_id?, closed?}: an admin closes (``closed`` false: reopens)
        a topic, or the General topic when no thread is given. Closed, it refuses bots'
        messages with TOPIC_CLOSED -> {chat_id, message_thread_id, closed}. [close_topic]"""
        chat = self.world.group(as_int(body.get("chat_id"), "chat_id"))
        if not chat.is_forum:
            raise ControlError(f"chat {chat.id} is not a forum")
        closed = bool(body.get("closed", True))
        raw = body.get("message_thread_id")
        event = "forum_topic_closed" if closed else "forum_topic_reopened"
        if raw is None:
            chat.general_closed = closed
            thread_id = None
            self._service(chat, self._actor(chat, body), **{event: {}})
        else:
            topic = self._topic(chat, raw)
            topic.closed = closed
            thread_id = topic.thread_id
            self._service(
                chat,
                self._actor(chat, body),
                message_thread_id=thread_id,
                is_topic_message=True,
                **{event: {}},
            )
        return {"chat_id": chat.id, "message_thread_id": thread_id, "closed": closed}

    async def restrict_bot(self, body: dict[str, Any]) -> dict[str, Any]:
        """{token, chat_id, permissions, by_user?}: an admin restricts the bot in a group
        (e.g. {"can_send_messages": false}); rights left out stay granted, and all granted
        lifts the restriction. The bot gets my_chat_member (status "restricted") ->
        {update_id, chat_id, status}. [restrict_bot]"""
        world = self.world
        bot = world.control_bot(body.get("token"))
        chat = self._active_group(bot, body.get("chat_id"))
        rights = permissions(body.get("permissions", {}))
        old = bot.groups[chat.id]
        new = "member" if all(rights.values()) else "restricted"
        if new == "restricted":
            bot.restrictions[chat.id] = rights
        update_id = world.member_update(bot, chat, self._actor(chat, body), old, new)
        if new == "member":
            bot.restrictions.pop(chat.id, None)
        return {"update_id": update_id, "chat_id": chat.id, "status": new}

    async def promote(self, body: dict[str, Any]) -> dict[str, Any]:
        """{chat_id, user, admin?}: the group's owner makes a member an administrator (or,
        with admin false, a plain member again); getChatMember reports it (the owner is
        "creator") -> {chat_id, user_id, status}. [promote]"""
        chat = self.world.group(as_int(body.get("chat_id"), "chat_id"))
        user = self.world.remember(body.get("user"))
        if user["id"] not in chat.members:
            raise ControlError(f"user {user['id']} is not in chat {chat.id}")
        if chat.creator is not None and chat.creator.get("id") == user["id"]:
            raise ControlError("the group's creator is its owner already")
        admin = bool(body.get("admin", True))
        (chat.admins.add if admin else chat.admins.discard)(user["id"])
        status = "administrator" if admin else "member"
        return {"chat_id": chat.id, "user_id": user["id"], "status": status}

    async def permissions(self, body: dict[str, Any]) -> dict[str, Any]:
        """{chat_id, permissions}: the group's default member permissions; with
        {"can_send_messages": false} it is read-only for everyone but admins, the bot
        included -> {chat_id, permissions}. [set_permissions]"""
        chat = self.world.group(as_int(body.get("chat_id"), "chat_id"))
        rights = permissions(body.get("permissions", {}))
        chat.permissions = None if all(rights.values()) else rights
        return {"chat_id": chat.id, "permissions": rights}

    async def privacy(self, body: dict[str, Any]) -> dict[str, Any]:
        """{token, enabled}: @BotFather's /setprivacy. As on Telegram, the new setting applies
        in groups the bot is added to afterwards -> {privacy}. [set_privacy]"""
        bot = self.world.control_bot(body.get("token"))
        bot.privacy = bool(body.get("enabled", True))
        return {"privacy": bot.privacy}
