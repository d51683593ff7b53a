"""The sandbox's in-memory world: bots (one per token), group chats, users, messages, updates.

Everything lives in plain dicts and slotted objects so that the Bot API hot path
(sendMessage) is O(1): a message is appended to its chat's log, the chat's duplicate
hash set and the bot's counters are updated, and nothing else grows per request.

Ids follow Telegram's conventions: a private chat's id is the user's id, basic groups get
negative ids (-4000000001, ...), supergroups -100... ids (-1001000000001, ...); message ids
count up per (bot, chat); update ids per bot.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import deque
from typing import Any

from .errors import ControlError
from .faults import FaultBook, RateLimits

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
ACTIVE = frozenset({"member", "administrator", "creator"})
USER_FIELDS = ("first_name", "last_name", "username", "language_code", "is_premium")
ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": False,
    "can_pin_messages": True,
}


class Signal:
    """Wakes every coroutine waiting on it; the basis of all long polls."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        if self._waiters:
            for fut in self._waiters:
                if not fut.done():
                    fut.set_result(None)
            self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait((fut,), timeout=timeout)
        finally:
            if not fut.done():
                fut.cancel()
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass


class StoredMessage:
    """A message the bot sent: current content plus the versions its edits replaced."""

    __slots__ = (
        "message_id",
        "chat_id",
        "date",
        "text",
        "parse_mode",
        "plain",
        "entities",
        "reply_markup",
        "edit_date",
        "edits",
    )

    def __init__(
        self,
        message_id: int,
        chat_id: int,
        date: int,
        text: str,
        parse_mode: str | None,
        plain: str,
        entities: list[dict[str, Any]],
        reply_markup: dict[str, Any] | None,
    ) -> None:
        self.message_id = message_id
        self.chat_id = chat_id
        self.date = date
        self.text = text
        self.parse_mode = parse_mode
        self.plain = plain
        self.entities = entities
        self.reply_markup = reply_markup
        self.edit_date: int | None = None
        self.edits: list[dict[str, Any]] = []

    def telegram(self, bot: BotState, chat: dict[str, Any]) -> dict[str, Any]:
        """The Message object as the Bot API returns it (plain text + entities)."""
        msg: dict[str, Any] = {
            "message_id": self.message_id,
            "from": bot.user,
            "chat": chat,
            "date": self.date,
            "text": self.plain,
        }
        if self.entities:
            msg["entities"] = self.entities
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            msg["reply_markup"] = self.reply_markup  # Telegram only echoes inline keyboards
        if self.edit_date is not None:
            msg["edit_date"] = self.edit_date
        return msg

    def control(self) -> dict[str, Any]:
        """The record /_sandbox/messages lists: text as sent (with its parse_mode), the plain
        text Telegram would show, and ``edits``: the earlier versions, oldest first, each
        {text, parse_mode, reply_markup, date} with the date that version appeared."""
        return {
            "message_id": self.message_id,
            "text": self.text,
            "plain_text": self.plain,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "date": self.date,
            "edit_date": self.edit_date,
            "edits": self.edits,
        }


class ChatLog:
    """One (bot, chat) conversation: message id counter, the bot's messages, duplicate hashes."""

    __slots__ = ("next_id", "messages", "hashes", "signal")

    def __init__(self) -> None:
        self.next_id = 1
        self.messages: dict[int, StoredMessage] = {}
        self.hashes: set[int] = set()
        self.signal = Signal()

    def allocate_id(self) -> int:
        mid = self.next_id
        self.next_id = mid + 1
        return mid


class Stats:
    __slots__ = ("sent", "edited", "rejected_429", "errors_by_code", "per_chat", "duplicates")

    def __init__(self) -> None:
        self.sent = 0
        self.edited = 0
        self.rejected_429 = 0
        self.errors_by_code: dict[int, int] = {}
        self.per_chat: dict[int, int] = {}
        self.duplicates = 0

    def error(self, code: int) -> None:
        self.errors_by_code[code] = self.errors_by_code.get(code, 0) + 1
        if code == 429:
            self.rejected_429 += 1


class Chat:
    """A basic group or supergroup, shared by every bot that was added to it."""

    __slots__ = ("id", "type", "title", "migrated_to", "members", "creator", "public")

    def __init__(
        self, chat_id: int, chat_type: str, title: str, creator: dict[str, Any] | None
    ) -> None:
        self.id = chat_id
        self.type = chat_type
        self.title = title
        self.migrated_to: int | None = None
        self.members: set[int] = set()
        self.creator = creator
        self.public = {"id": chat_id, "type": chat_type, "title": title}


class BotState:
    """One bot token: identity, update queue, memberships, conversations and counters."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.id = int(token.split(":", 1)[0])
        self.username = f"loa{self.id}_bot"
        self.user = {"id": self.id, "is_bot": True, "first_name": "Loa", "username": self.username}
        self.updates: deque[tuple[int, str, dict[str, Any]]] = deque()
        self.next_update_id = 1
        self.update_signal = Signal()
        self.allowed_updates: list[str] | None = None
        self.webhook: dict[str, Any] = {"url": ""}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.groups: dict[int, str] = {}  # chat id -> the bot's status there
        self.private: dict[int, dict[str, Any]] = {}  # user id -> private Chat, once they wrote
        self.logs: dict[int, ChatLog] = {}
        self.stats = Stats()

    def log(self, chat_id: int) -> ChatLog:
        log = self.logs.get(chat_id)
        if log is None:
            log = self.logs[chat_id] = ChatLog()
        return log

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        uid = self.next_update_id
        self.next_update_id = uid + 1
        self.updates.append((uid, kind, payload))
        self.update_signal.notify()
        return uid

    def confirm(self, offset: int) -> None:
        """Forget updates below ``offset`` (negative: keep only the last -offset ones)."""
        updates = self.updates
        if offset > 0:
            while updates and updates[0][0] < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()

    def take(self, limit: int) -> list[dict[str, Any]]:
        allowed = self.allowed_updates
        out: list[dict[str, Any]] = []
        for uid, kind, payload in list(self.updates):
            if allowed and kind not in allowed:
                continue
            out.append({"update_id": uid, kind: payload})
            if len(out) >= limit:
                break
        if allowed:  # updates of unwanted kinds are dropped, as Telegram does
            self.updates = deque(u for u in self.updates if u[1] in allowed)
        return out

    def member(self, status: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """A ChatMember object with the given status (for the bot unless ``user`` given)."""
        member: dict[str, Any] = {"status": status, "user": user or self.user}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "administrator":
            member.update(ADMIN_RIGHTS)
        return member


class CallbackRecord:
    __slots__ = ("token", "answer")

    def __init__(self, token: str) -> None:
        self.token = token
        self.answer: dict[str, Any] | None = None


def user_object(user: Any) -> dict[str, Any]:
    """Validate a control-API user into a Telegram User object."""
    if not isinstance(user, dict) or not isinstance(user.get("id"), int) or user["id"] <= 0:
        raise ControlError("user must be an object with a positive integer id")
    out: dict[str, Any] = {
        "id": user["id"],
        "is_bot": False,
        "first_name": str(user.get("first_name") or f"User {user['id']}"),
    }
    for key in USER_FIELDS[1:]:
        if user.get(key) is not None:
            out[key] = user[key]
    return out


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    for key in ("last_name", "username"):
        if key in user:
            chat[key] = user[key]
    return chat


class World:
    """All sandbox state. One instance per server; ``reset()`` empties it."""

    def __init__(self) -> None:
        self.closing = False
        self.generation = 0  # bumped by reset(); long polls end when it changes
        self._init()

    def _init(self) -> None:
        self.limits = RateLimits()
        self.faults = FaultBook()
        self.bots: dict[str, BotState] = {}
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.callback_signal = Signal()
        self._group_ids = itertools.count(4_000_000_001)
        self._supergroup_ids = itertools.count(1_000_000_001)
        self._callback_ids = itertools.count(1)

    def bot(self, token: str) -> BotState | None:
        """The bot for a token, created on first use; None if the token is malformed."""
        bot = self.bots.get(token)
        if bot is None:
            if not TOKEN_RE.match(token):
                return None
            bot = self.bots[token] = BotState(token)
        return bot

    def control_bot(self, token: Any) -> BotState:
        bot = self.bot(token) if isinstance(token, str) else None
        if bot is None:
            raise ControlError("token must look like 123456:ABC-def")
        return bot

    def wake_all(self) -> None:
        for bot in self.bots.values():
            bot.update_signal.notify()
            for log in bot.logs.values():
                log.signal.notify()
        self.callback_signal.notify()

    def reset(self) -> None:
        self.generation += 1
        self.wake_all()
        self._init()

    def close(self) -> None:
        self.closing = True
        self.wake_all()

    # ----------------------------------------------------------------- people & chats

    def remember(self, user: Any) -> dict[str, Any]:
        """Record a person; fields left out keep what the sandbox already knew of them."""
        obj = user_object(user)
        known = self.users.get(obj["id"])
        if known is not None:
            obj = {**known, **{k: v for k, v in obj.items() if k == "id" or k in user}}
        self.users[obj["id"]] = obj
        return obj

    def new_chat_id(self, chat_type: str) -> int:
        if chat_type == "supergroup":
            return -(10**12 + next(self._supergroup_ids))
        return -next(self._group_ids)

    def group(self, chat_id: Any) -> Chat:
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ControlError(f"no group chat {chat_id!r}")
        return chat

    def user_message(
        self,
        bot: BotState,
        chat: dict[str, Any],
        user: dict[str, Any],
        text: str,
        entities: list[dict[str, Any]],
    ) -> tuple[int, int]:
        """Queue a Message update from a person; returns (update_id, message_id)."""
        mid = bot.log(chat["id"]).allocate_id()
        msg: dict[str, Any] = {
            "message_id": mid,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            msg["entities"] = entities
        return bot.push_update("message", msg), mid

    def service_message(
        self, bot: BotState, chat: dict[str, Any], user: dict[str, Any], **fields: Any
    ) -> int:
        mid = bot.log(chat["id"]).allocate_id()
        msg = {"message_id": mid, "from": user, "chat": chat, "date": int(time.time()), **fields}
        return bot.push_update("message", msg)

    def member_update(
        self, bot: BotState, chat: Chat, by_user: dict[str, Any], old: str, new: str
    ) -> int:
        bot.groups[chat.id] = new
        return bot.push_update(
            "my_chat_member",
            {
                "chat": chat.public,
                "from": by_user,
                "date": int(time.time()),
                "old_chat_member": bot.member(old),
                "new_chat_member": bot.member(new),
            },
        )

    def migrate(self, chat_id: int, by_user: dict[str, Any] | None = None) -> int:
        """Upgrade a basic group to a supergroup with a new id; returns the new id."""
        chat = self.group(chat_id)
        if chat.migrated_to is not None:
            return chat.migrated_to
        if chat.type != "group":
            raise ControlError(f"chat {chat_id} is a {chat.type}, only groups can migrate")
        new = Chat(self.new_chat_id("supergroup"), "supergroup", chat.title, chat.creator)
        new.members = chat.members
        self.chats[new.id] = new
        chat.migrated_to = new.id
        actor = by_user or chat.creator or {"id": 777000, "is_bot": False, "first_name": "Telegram"}
        for bot in self.bots.values():
            status = bot.groups.get(chat_id)
            if status is None:
                continue
            bot.groups[new.id] = status
            if status in ACTIVE:  # Telegram's two service messages
                self.service_message(bot, chat.public, actor, migrate_to_chat_id=new.id)
                self.service_message(bot, new.public, actor, migrate_from_chat_id=chat_id)
        return new.id

    def new_callback_id(self, token: str) -> str:
        cq_id = str(4_242_000_000_000_000 + next(self._callback_ids))
        self.callbacks[cq_id] = CallbackRecord(token)
        return cq_id
