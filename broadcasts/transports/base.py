"""The one small interface every transport (Telegram today, Zalo tomorrow) implements.

The domain speaks of accounts, chat refs (strings) and an acknowledgement ref; how a
transport draws the acknowledge button, or what its ids look like, stays behind it.
Failures are raised as `broadcasts.errors.TransportError` subclasses, already classified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    chat_ref: str
    text: str  # plain text, never markup: the transport escapes it for its format
    ack_ref: str | None = None  # when set, the message carries an acknowledge button
    ack_label: str = "✅ Đã nhận"


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_ref: str


class Transport(Protocol):
    """Sends through one account (one bot token)."""

    name: str

    async def send(self, message: OutgoingMessage) -> SentMessage:
        """Send one message; raise a classified TransportError on failure."""
        ...

    async def close(self) -> None: ...
