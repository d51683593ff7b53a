"""The one small interface every transport (Telegram and Zalo) implements.

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
    # How long after sending a message can still be deleted (None: any time).
    delete_window_seconds: int | None = None
    # Attachments: whether files can be sent at all, how many go in one album, how big.
    can_send_files: bool = False
    # Sends a photo given a public URL (Zalo's sendPhoto), when files cannot be uploaded.
    photo_by_url: bool = False
    max_album: int = 1
    max_file_bytes: int = 0
    # A message can answer another one (`OutgoingMessage.reply_to`); else it goes plain.
    can_reply: bool = True


# Every transport Loa speaks, by the name a bot account and a channel store.
TRANSPORTS = ("telegram", "zalo")


def transport_rank(name: str) -> tuple[int, str]:
    """How transports are listed: those of `TRANSPORTS` in its order, any other after."""
    return (TRANSPORTS.index(name) if name in TRANSPORTS else len(TRANSPORTS), name)


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file to send (`broadcasts.models.AttachmentKind`: photo, document, voice): by the
    platform's own id for this account when it has one, else from Loa's store."""

    kind: str
    file_name: str
    mime_type: str = ""
    file_ref: str | None = None  # e.g. Telegram's file_id for this bot
    path: str | None = None  # the file in Loa's attachment store
    url: str | None = None  # a public, signed download link of it (`photo_by_url`)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    chat_ref: str
    text: str  # written as `markup` says; plain text is never parsed as markup
    topic_ref: str | None = None  # a forum topic in the chat (None: its main thread)
    ack_delivery_id: int | None = None  # when set, the message carries an acknowledge button
    ack_label: str = ""  # the button's text, in the chat's language
    markup: Markup = "plain"  # "html" only for a transport whose capabilities list it
    reply_to: str | None = None  # a message of the chat this one answers, if `can_reply`
    # Sent with the text as caption (one file, or an album of photos / documents).
    files: tuple[OutgoingFile, ...] = ()


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who an account's token belongs to, as the platform reports it (Telegram's getMe)."""

    ref: str
    username: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_ref: str  # the last message sent (an album's last item)
    # Every message it took (an album sends several), and the platform's ids of the files
    # it uploaded, in the order given, so later sends reuse them instead of uploading.
    message_refs: tuple[str, ...] = ()
    file_refs: tuple[str, ...] = ()


class Transport(Protocol):
    """Sends through one account (one bot token)."""

    name: str
    capabilities: TransportCapabilities

    async def send(self, message: OutgoingMessage) -> SentMessage:
        """Send one message; raise a classified TransportError on failure."""
        ...

    async def edit(self, message_ref: str, message: OutgoingMessage) -> None:
        """Replace a sent message's text (or caption) and button, if `can_edit`."""
        ...

    async def delete(self, chat_ref: str, message_ref: str) -> None:
        """Delete a sent message, if `can_delete` (within `delete_window_seconds`)."""
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
