"""The one small interface every transport (Telegram today, Zalo tomorrow) implements.

The domain speaks of accounts, chat refs (strings) and the delivery a person acknowledges;
how a transport draws the acknowledge button, or what its ids look like, stays behind it.
Each transport declares what it can do (`TransportCapabilities`), and the engine, reports
and fronts read that instead of restating a platform's limits.
Failures are raised as `broadcasts.errors.TransportError` subclasses, already classified.
A `MessageRejected` rejects only that message; any other `PermanentFailure` means the chat
can no longer receive from this account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

# How a message's text is written: "plain" is sent as is; "html" is the platform's HTML
# subset (Telegram's parse mode), every piece of user text in it already escaped.
Markup = Literal["plain", "html"]


@dataclass(frozen=True, slots=True)
class TransportCapabilities:
    """What one platform takes: lengths are counted as the platform counts them."""

    max_text: int  # longest text of one message; the engine splits longer ones
    max_caption: int  # longest caption of a photo or file
    can_edit: bool  # a sent message can be corrected in place
    can_delete: bool  # a sent message can be recalled
    has_buttons: bool  # inline buttons (the acknowledge button); else reply or link
    markups: tuple[Markup, ...] = ("plain",)  # the text formats it takes, best first


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    chat_ref: str
    text: str  # written as `markup` says; plain text is never parsed as markup
    topic_ref: str | None = None  # a forum topic in the chat (None: its main thread)
    ack_delivery_id: int | None = None  # when set, the message carries an acknowledge button
    ack_label: str = ""  # the button's text, in the chat's language
    markup: Markup = "plain"  # "html" only for a transport whose capabilities list it


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who an account's token belongs to, as the platform reports it (Telegram's getMe)."""

    ref: str
    username: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_ref: str


class Transport(Protocol):
    """Sends through one account (one bot token)."""

    name: str
    capabilities: TransportCapabilities

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
