"""The sandbox's in-memory Zalo: bots, people, chats, what each chat received, the events
waiting for each bot, webhooks, the quota and injected faults.

The rules, from the Zalo Bot API documentation (see broadcasts/transports/zalo_wire.py
for the safe readings Loa takes where it is silent):

- getUpdates hands out ONE event per call and has no update_id; it is refused while a
  webhook is set. A webhook gets each event POSTed with ``X-Bot-Api-Secret-Token``, and is
  sent every event ``duplicates`` extra times when told to (Zalo says to expect them).
- sendMessage takes 1 to 2,000 characters; there are no buttons, no parse modes, no edits.
- A bot joins a group only with ``can_join_groups``; in a group it sees only the messages
  that @mention it or quote-reply one of its own messages.
- A bot past its quota gets 429 «Quota exceeded» (no retry_after: Zalo gives none).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"


class ApiError(Exception):
    """A Bot API refusal: answered as ``{ok: false, error_code, description}``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class ControlError(Exception):
    """A mistake in a control request (answered 400 ``{"error": ...}``)."""


def new_id() -> str:
    return secrets.token_hex(10)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Chat:
    id: str
    chat_type: str  # PRIVATE or GROUP
    title: str = ""
    # The messages the bot sent here, oldest first: what a person sees from the bot.
    received: list[dict[str, Any]] = field(default_factory=list)
    blocked: bool = False  # the person blocked the bot / the group removed it


@dataclass
class Bot:
    token: str
    id: str
    account_name: str
    can_join_groups: bool = False
    chats: dict[str, Chat] = field(default_factory=dict)
    events: deque[dict[str, Any]] = field(default_factory=deque)
    event_added: asyncio.Event = field(default_factory=asyncio.Event)
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_updated_at: int = 0
    duplicates: int = 0  # extra deliveries of every webhook event
    quota: int | None = None  # sends left before 429 (None: no limit)
    faults: deque[int] = field(default_factory=deque)  # HTTP errors for the next sends
    sent: int = 0
    rejected_429: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    webhook_posts: list[int] = field(default_factory=list)  # the status of each POST
    own_messages: set[str] = field(default_factory=set)

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": self.can_join_groups,
        }


class ZaloWorld:
    """Everything the sandbox knows; one per server."""

    def __init__(self) -> None:
        self.bots: dict[str, Bot] = {}
        self.closing = False
        self.tasks: set[asyncio.Task[None]] = set()

    def bot(self, token: str) -> Bot:
        bot = self.bots.get(token)
        if bot is None:
            raise ApiError(401, "Unauthorized")
        return bot

    def control_bot(self, token: Any) -> Bot:
        if not isinstance(token, str) or token not in self.bots:
            raise ControlError("unknown bot token (create it with POST /_sandbox/bots)")
        return self.bots[token]

    def add_bot(self, token: str, account_name: str, can_join_groups: bool) -> Bot:
        bot_id, sep, rest = token.partition(":")
        if not (bot_id.isdigit() and sep and rest):
            raise ControlError("a Zalo token reads <bot id>:<secret>")
        bot = self.bots.get(token)
        if bot is None:
            bot = self.bots[token] = Bot(token, bot_id, account_name, can_join_groups)
        return bot

    def close(self) -> None:
        self.closing = True
        for bot in self.bots.values():
            bot.event_added.set()

    async def finish_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    # ---------------------------------------------------------------- people act

    def incoming(
        self,
        bot: Bot,
        chat: Chat,
        person: dict[str, Any],
        *,
        text: str | None = None,
        photo: str | None = None,
        quote: str | None = None,
    ) -> dict[str, Any] | None:
        """A person's message in `chat`; the event the bot gets, or None if it sees nothing."""
        if not isinstance(person.get("id"), str) or not person["id"]:
            raise ControlError("from.id must be a non-empty string")
        if quote is not None and not any(m["message_id"] == quote for m in chat.received):
            raise ControlError("the quoted message is not one of the bot's in this chat")
        if chat.chat_type == "GROUP":
            mentioned = text is not None and f"@{bot.account_name}" in text
            if not mentioned and quote is None:
                return None  # Zalo shows a group bot only mentions and quote-replies
        message: dict[str, Any] = {
            "from": {
                "id": person["id"],
                "display_name": person.get("display_name", ""),
                "is_bot": False,
            },
            "chat": {"id": chat.id, "chat_type": chat.chat_type},
            "message_id": new_id(),
            "date": now_ms(),
        }
        if text is not None:
            message["text"] = text
            event_name = "message.text.received"
        elif photo is not None:
            message["photo"] = photo
            event_name = "message.image.received"
        else:
            raise ControlError("a message needs text or photo")
        if quote is not None:
            message["quote"] = {"message_id": quote}
        event = {"event_name": event_name, "message": message}
        bot.events.append(event)
        bot.event_added.set()
        return event

    # ---------------------------------------------------------------- the bot sends

    def charge(self, bot: Bot) -> None:
        """Faults and quota, before any send is accepted."""
        if bot.faults:
            status = bot.faults.popleft()
            bot.errors[str(status)] = bot.errors.get(str(status), 0) + 1
            raise ApiError(status, "Internal Server Error" if status >= 500 else "Error")
        if bot.quota is not None:
            if bot.quota <= 0:
                bot.rejected_429 += 1
                raise ApiError(429, "Quota exceeded")
            bot.quota -= 1

    def chat_for_send(self, bot: Bot, chat_id: Any) -> Chat:
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError(400, "chat_id is required")
        chat = bot.chats.get(chat_id)
        if chat is None:
            raise ApiError(404, "Chat not found")
        if chat.blocked:
            raise ApiError(403, "The user has blocked the bot or left the chat")
        return chat

    def record_sent(self, bot: Bot, chat: Chat, content: dict[str, Any]) -> dict[str, Any]:
        message = {"message_id": new_id(), "date": now_ms(), **content}
        chat.received.append(message)
        bot.own_messages.add(message["message_id"])
        bot.sent += 1
        return {"message_id": message["message_id"], "date": message["date"]}
