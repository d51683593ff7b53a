"""The sandbox's records: bots, group chats, forum topics, messages, callback queries, counters.

Everything is a slotted object or a plain dict so that the Bot API hot path (sendMessage) is
O(1): a message is appended to its chat's log, the chat's duplicate hash set and the bot's
counters are updated, and nothing else grows per request.

Ids follow Telegram's conventions: a private chat's id is the user's id, basic groups get
negative ids (-4000000001, ...), supergroups -100... ids (-1001000000001, ...). Message ids
count up per private (bot, user) chat and per group chat (shared by every bot and person in
it, so a topic's thread id and a reply target mean the same message for everyone); update ids
count up per bot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from .errors import ControlError

ACTIVE = frozenset({"member", "administrator", "creator", "restricted"})
ADMINS = frozenset({"administrator", "creator"})
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
# ChatPermissions / ChatMemberRestricted fields, all granted unless a restriction says not.
PERMISSIONS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


def permissions(overrides: Any) -> dict[str, bool]:
    """A full ChatPermissions object: every right granted except those ``overrides`` set."""
    if not isinstance(overrides, dict):
        raise ControlError("permissions must be an object of can_* booleans")
    unknown = set(overrides) - set(PERMISSIONS)
    if unknown:
        raise ControlError(f"unknown permissions: {', '.join(sorted(unknown))}")
    return {name: bool(overrides.get(name, True)) for name in PERMISSIONS}


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
        "thread_id",
        "reply_to",
        "media",
        "media_group_id",
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
        self.thread_id: int | None = None  # forum topic, None = General / not a forum
        self.reply_to: dict[str, Any] | None = None  # the Message it replies to
        # A photo / document / voice message (:mod:`.media`): (kind, the file's object);
        # its text is then the caption, which may be empty.
        self.media: tuple[str, dict[str, Any]] | None = None
        self.media_group_id: str | None = None

    def telegram(self, bot: BotState, chat: dict[str, Any]) -> dict[str, Any]:
        """The Message object as the Bot API returns it (plain text + entities)."""
        msg: dict[str, Any] = {
            "message_id": self.message_id,
            "from": bot.user,
            "chat": chat,
            "date": self.date,
        }
        if self.media is None:
            msg["text"] = self.plain
        else:
            kind, obj = self.media
            msg[kind] = [obj] if kind == "photo" else obj
            if self.plain:
                msg["caption"] = self.plain
            if self.media_group_id is not None:
                msg["media_group_id"] = self.media_group_id
        if self.thread_id is not None:
            msg["message_thread_id"] = self.thread_id
            msg["is_topic_message"] = True
        if self.reply_to is not None:
            msg["reply_to_message"] = self.reply_to
        if self.entities:
            msg["entities" if self.media is None else "caption_entities"] = self.entities
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            msg["reply_markup"] = self.reply_markup  # Telegram only echoes inline keyboards
        if self.edit_date is not None:
            msg["edit_date"] = self.edit_date
        return msg

    def control(self) -> dict[str, Any]:
        """The record /_sandbox/messages lists: text as sent (with its parse_mode), the plain
        text Telegram would show and its ``entities`` (bold, links, ...), the forum topic
        (``message_thread_id``, None for General), and ``edits``: the earlier versions,
        oldest first, each {text, parse_mode, reply_markup, date} with the date that
        version appeared."""
        return {
            "message_id": self.message_id,
            "text": self.text,
            "plain_text": self.plain,
            "entities": self.entities,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "message_thread_id": self.thread_id,
            "reply_to_message_id": None if self.reply_to is None else self.reply_to["message_id"],
            "date": self.date,
            "edit_date": self.edit_date,
            "edits": self.edits,
            # A media message: its kind ("photo", "document", "voice"), file and album.
            "media": None if self.media is None else self.media[0],
            "file": None if self.media is None else self.media[1],
            "media_group_id": self.media_group_id,
        }


class ChatLog:
    """One (bot, chat) conversation: the bot's messages, what people wrote (``people``, with
    ``seen`` the ids that reached the bot), duplicate hashes. ``ids`` is the chat's message id
    counter: the log's own in a private chat, the group's (shared) in a group."""

    __slots__ = ("ids", "messages", "people", "seen", "hashes", "signal")

    def __init__(self, ids: list[int] | None = None) -> None:
        self.ids = ids if ids is not None else [1]
        self.messages: dict[int, StoredMessage] = {}
        self.people: dict[int, dict[str, Any]] = {}
        self.seen: set[int] = set()
        self.hashes: set[int] = set()
        self.signal = Signal()

    def allocate_id(self) -> int:
        ids = self.ids
        mid = ids[0]
        ids[0] = mid + 1
        return mid


class Stats:
    __slots__ = (
        "sent",
        "edited",
        "rejected_429",
        "errors_by_code",
        "per_chat",
        "per_chat_429",
        "duplicates",
    )

    def __init__(self) -> None:
        self.sent = 0
        self.edited = 0
        self.rejected_429 = 0
        self.errors_by_code: dict[int, int] = {}
        self.per_chat: dict[int, int] = {}
        self.per_chat_429: dict[int, int] = {}
        self.duplicates = 0

    def error(self, code: int, chat_id: Any) -> None:
        self.errors_by_code[code] = self.errors_by_code.get(code, 0) + 1
        if code == 429:
            self.rejected_429 += 1
            if isinstance(chat_id, int):
                self.per_chat_429[chat_id] = self.per_chat_429.get(chat_id, 0) + 1


class Topic:
    """A forum topic: its thread id is the id of its forum_topic_created service message."""

    __slots__ = ("thread_id", "name", "closed", "created")

    def __init__(self, thread_id: int, name: str, created: dict[str, Any]) -> None:
        self.thread_id = thread_id
        self.name = name
        self.closed = False
        self.created = created  # the service message, which topic messages reply to


class Chat:
    """A basic group or supergroup, shared by every bot that was added to it.

    ``permissions`` are the default member permissions (None = everything allowed);
    ``is_forum`` supergroups have ``topics`` and a General topic that may be closed;
    ``last_bot`` is the id of the last bot that sent a message here (privacy mode)."""

    __slots__ = (
        "id",
        "type",
        "title",
        "migrated_to",
        "members",
        "admins",
        "creator",
        "public",
        "ids",
        "permissions",
        "topics",
        "general_closed",
        "last_bot",
    )

    def __init__(
        self, chat_id: int, chat_type: str, title: str, creator: dict[str, Any] | None
    ) -> None:
        self.id = chat_id
        self.type = chat_type
        self.title = title
        self.migrated_to: int | None = None
        self.members: set[int] = set()
        self.admins: set[int] = set()  # people promoted to administrator (not the creator)
        self.creator = creator
        self.public: dict[str, Any] = {"id": chat_id, "type": chat_type, "title": title}
        self.ids = [1]
        self.permissions: dict[str, bool] | None = None
        self.topics: dict[int, Topic] = {}
        self.general_closed = False
        self.last_bot: int | None = None

    @property
    def is_forum(self) -> bool:
        return bool(self.public.get("is_forum"))

    def make_forum(self, enabled: bool = True) -> None:
        """Turn topics on or off. Message id 1 stays unused in a forum: it is the General
        topic's, which is addressed by leaving message_thread_id out, never as 1."""
        if enabled:
            self.public["is_forum"] = True
            self.ids[0] = max(self.ids[0], 2)
        else:
            self.public.pop("is_forum", None)


class BotState:
    """One bot token: identity, update queue, memberships, conversations and counters.

    ``privacy`` is @BotFather's /setprivacy (on by default); like Telegram, a change applies
    to groups the bot joins afterwards, so ``group_privacy`` keeps the setting per group as it
    was when the bot was added. ``restrictions`` holds, per group where the bot's status is
    "restricted", its ChatPermissions."""

    def __init__(self, token: str, chats: dict[int, Chat]) -> None:
        self.token = token
        self.id = int(token.split(":", 1)[0])
        self.username = f"loa{self.id}_bot"
        self.user = {"id": self.id, "is_bot": True, "first_name": "Loa", "username": self.username}
        self.updates: deque[tuple[int, str, dict[str, Any]]] = deque()
        self.next_update_id = 1
        self.update_signal = Signal()
        self.allowed_updates: list[str] | None = None
        self.webhook: dict[str, Any] = {"url": ""}
        self.poll_serial = 0  # bumped by every getUpdates; an older long poll then ends in 409
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.groups: dict[int, str] = {}  # chat id -> the bot's status there
        self.privacy = True
        self.group_privacy: dict[int, bool] = {}
        self.restrictions: dict[int, dict[str, bool]] = {}
        self.private: dict[int, dict[str, Any]] = {}  # user id -> private Chat, once they wrote
        self.logs: dict[int, ChatLog] = {}
        self.stats = Stats()
        self._chats = chats

    def log(self, chat_id: int) -> ChatLog:
        log = self.logs.get(chat_id)
        if log is None:
            chat = self._chats.get(chat_id) if chat_id < 0 else None
            log = self.logs[chat_id] = ChatLog(chat.ids if chat is not None else None)
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

    def bot_member(self, chat_id: int) -> dict[str, Any]:
        """The bot's own ChatMember in a group, restrictions included."""
        status = self.groups.get(chat_id, "left")
        member = self.member(status)
        if status == "restricted":
            member.update(self.restrictions.get(chat_id) or permissions({}))
            member.update(is_member=True, until_date=0)
        return member


class CallbackRecord:
    __slots__ = ("token", "answer", "created", "answered")

    def __init__(self, token: str, created: float) -> None:
        self.token = token
        self.answer: dict[str, Any] | None = None
        self.created = created
        self.answered: float | None = None  # World.clock() when answerCallbackQuery came


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
