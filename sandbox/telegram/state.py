"""The sandbox's in-memory world: bots (one per token), group chats, users, updates.

The records themselves (bots, chats, topics, messages) are in :mod:`.model`. ``World`` holds
them all, plus the settings that outlive ``reset()``: the flood limits (Telegram's unless the
caller passed others), the clock and the callback query timeout.

The clock (``clock``, default ``time.monotonic``) drives every time-based rule: flood limits
and the expiry of callback queries. Tests inject a fake one to check those rules without
sleeping. Message ``date`` fields stay on the wall clock, as Telegram's are.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable
from typing import Any

from .errors import ControlError
from .faults import FaultBook
from .files import FileStore
from .limits import RateLimits
from .model import (
    ACTIVE,
    BotState,
    CallbackRecord,
    Chat,
    ChatLog,
    Signal,
    StoredMessage,
    Topic,
    private_chat,
    user_object,
)
from .privacy import reaches

__all__ = [
    "ACTIVE",
    "BotState",
    "CallbackRecord",
    "Chat",
    "ChatLog",
    "Signal",
    "StoredMessage",
    "Topic",
    "World",
    "private_chat",
    "user_object",
]

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
CALLBACK_TIMEOUT = 15.0  # seconds Telegram waits for answerCallbackQuery


class World:
    """All sandbox state. One instance per server; ``reset()`` empties it."""

    def __init__(
        self,
        *,
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        callback_timeout: float = CALLBACK_TIMEOUT,
    ) -> None:
        self.closing = False
        self.generation = 0  # bumped by reset(); long polls end when it changes
        self.limits = limits if limits is not None else RateLimits()
        self.clock = clock
        self.callback_timeout = callback_timeout
        self.webhook_tasks: dict[str, asyncio.Task[None]] = {}  # token -> delivery task
        self._init()

    def _init(self) -> None:
        self.limits.clear()
        self.faults = FaultBook()
        self.files = FileStore()  # what bots and people sent (:mod:`.media`)
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
            bot = self.bots[token] = BotState(token, self.chats)
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

    async def finish_tasks(self) -> None:
        """Wait for the webhook delivery tasks, which end on close() or reset()."""
        tasks = [t for t in self.webhook_tasks.values() if not t.done()]
        self.webhook_tasks.clear()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

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
        *,
        group: Chat | None = None,
        topic: Topic | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> tuple[int | None, int]:
        """A person writes; returns (update_id, message_id). In a group, the update is queued
        only if the bot would see the message (privacy mode, :func:`.privacy.reaches`);
        update_id is then None, but the message exists and later ones may reply to it."""
        log = bot.log(chat["id"])
        mid = log.allocate_id()
        msg: dict[str, Any] = {
            "message_id": mid,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        if topic is not None:
            msg["message_thread_id"] = topic.thread_id
            msg["is_topic_message"] = True
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        elif topic is not None:  # Telegram: a topic message replies to the topic's creation
            msg["reply_to_message"] = topic.created
        msg["text"] = text
        if entities:
            msg["entities"] = entities
        log.people[mid] = msg
        if group is not None and not reaches(bot, group, msg, log):
            return None, mid
        log.seen.add(mid)
        return bot.push_update("message", msg), mid

    def service_message(
        self,
        bot: BotState,
        chat: dict[str, Any],
        user: dict[str, Any],
        message_id: int | None = None,
        **fields: Any,
    ) -> int:
        """Queue a service message (always delivered); ``message_id`` lets several bots in
        one group get the same message."""
        log = bot.log(chat["id"])
        mid = log.allocate_id() if message_id is None else message_id
        msg = {"message_id": mid, "from": user, "chat": chat, "date": int(time.time()), **fields}
        log.people[mid] = msg  # reaches every bot, privacy mode or not, but is not "seen"
        return bot.push_update("message", msg)

    def member_update(
        self, bot: BotState, chat: Chat, by_user: dict[str, Any], old: str, new: str
    ) -> int:
        """Change the bot's status in a group and queue the my_chat_member update."""
        old_member = bot.bot_member(chat.id) if old == "restricted" else None
        if old not in ACTIVE and new in ACTIVE:  # the privacy setting as it is when added
            bot.group_privacy[chat.id] = bot.privacy
        bot.groups[chat.id] = new
        return bot.push_update(
            "my_chat_member",
            {
                "chat": chat.public,
                "from": by_user,
                "date": int(time.time()),
                "old_chat_member": old_member or bot.member(old),
                "new_chat_member": bot.bot_member(chat.id),
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
        new.admins = chat.admins
        new.permissions = chat.permissions
        self.chats[new.id] = new
        chat.migrated_to = new.id
        actor = by_user or chat.creator or {"id": 777000, "is_bot": False, "first_name": "Telegram"}
        ids = (chat.ids[0], new.ids[0])
        chat.ids[0] += 1
        new.ids[0] += 1
        for bot in self.bots.values():
            status = bot.groups.get(chat_id)
            if status is None:
                continue
            bot.groups[new.id] = status
            bot.group_privacy[new.id] = bot.group_privacy.get(chat_id, bot.privacy)
            if chat_id in bot.restrictions:
                bot.restrictions[new.id] = bot.restrictions[chat_id]
            if status in ACTIVE:  # Telegram's two service messages
                self.service_message(bot, chat.public, actor, ids[0], migrate_to_chat_id=new.id)
                self.service_message(bot, new.public, actor, ids[1], migrate_from_chat_id=chat_id)
        return new.id

    def new_callback_id(self, token: str) -> str:
        cq_id = str(4_242_000_000_000_000 + next(self._callback_ids))
        self.callbacks[cq_id] = CallbackRecord(token, self.clock())
        return cq_id
