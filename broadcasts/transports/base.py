"""The one small interface every transport (Telegram today, Zalo tomorrow) implements.

The domain speaks of accounts, chat refs (strings) and an acknowledgement ref; how a
transport draws the acknowledge button, or what its ids look like, stays behind it.
Failures are raised as `broadcasts.errors.TransportError` subclasses, already classified.
A `PermanentFailure` whose `detail["scope"]` is `"message"` rejects only that message;
any other `PermanentFailure` means the chat can no longer receive from this account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    chat_ref: str
    text: str  # plain text, never markup: the transport escapes it for its format
    topic_ref: str | None = None  # a forum topic in the chat (None: its main thread)
    ack_ref: str | None = None  # when set, the message carries an acknowledge button
    ack_label: str = "✅ Đã nhận"


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_ref: str


class Transport(Protocol):
    """Sends through one account (one bot token)."""

    name: str
    # Longest text one message may carry, counted in UTF-16 code units; the engine
    # splits longer texts before sending.
    max_text_length: int

    async def send(self, message: OutgoingMessage) -> SentMessage:
        """Send one message; raise a classified TransportError on failure."""
        ...

    async def close(self) -> None: ...


class TransportRegistry(Protocol):
    """Hands out the transport of each account (`BotAccount.id`), creating it on first use."""

    async def transport_for(self, account_id: int) -> Transport:
        """Return the account's transport; raise a TransportError if it cannot be had."""
        ...

    async def close(self) -> None:
        """Close every transport handed out (their HTTP sessions)."""
        ...
