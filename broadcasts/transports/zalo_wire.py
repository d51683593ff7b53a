"""The Zalo Bot API as documented (bot.zaloplatforms.com/docs, read late 2026), and the
safe readings Loa takes where the documentation is silent. One place for the wire format:
the client, the transport and the Zalo front read it from here.

What the documentation says:

- Every method is ``POST https://bot-api.zaloplatforms.com/bot<TOKEN>/<method>`` with a
  JSON body: getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, sendMessage,
  sendPhoto, sendSticker, sendChatAction. A token reads ``<bot id>:<secret>``.
- Answers are an envelope ``{ok, result, error_code, description}``.
- getUpdates is a long poll (``timeout``, a string of seconds, default 30) that answers
  with ONE update, ``{ok, result: {event_name, message}}``; there is no update_id and no
  offset. It does not work while a webhook is set (deleteWebhook first).
- setWebhook takes an HTTPS ``url`` and a ``secret_token`` of 8 to 256 characters; every
  event is POSTed there as the same envelope with the secret in the header
  ``X-Bot-Api-Secret-Token``. getWebhookInfo / deleteWebhook answer ``{url, updated_at}``.
- A message: ``message_id`` (a string), ``from {id, display_name|first_name}``,
  ``chat {id, chat_type: PRIVATE|GROUP}``, ``date`` (milliseconds), and ``text`` or
  ``photo`` (+ ``caption``) or ``sticker``; event names ``message.text.received``,
  ``message.image.received``, ``message.sticker.received``, ``message.unsupported.received``.
- sendMessage: ``chat_id``, ``text`` of 1 to 2,000 characters. sendPhoto: ``chat_id``,
  ``photo`` (a URL), ``caption`` (1 to 2,000). Both answer ``{message_id, date}``.
- No inline buttons, no callback queries, no edit or delete method.
- getMe answers ``{id, account_name, account_type, can_join_groups}``; only a bot with
  ``can_join_groups`` can be added to a group, and there it sees only the messages that
  @mention it or quote-reply one of its own messages.
- Quota: ``429 "Quota exceeded"``, with no published figures and no retry_after.

Where the documentation is silent, the safe reading:

- Characters are counted as Python counts them (code points): a text is cut well inside
  2,000 either way, since the acknowledgement line rides on it.
- A quote-reply arrives as ``message.quote`` with the quoted ``message_id`` (the field is
  not documented): when it is absent, a reply is taken for the latest notice of the chat.
- A 429 carries no wait: Loa pauses the bot for ``QUOTA_RETRY_SECONDS`` (a minute) and
  sends slowly by default (``LOA_ZALO__PER_BOT_PER_SECOND``).
- Duplicates: an event is the same event when ``(event_name, message_id)`` is.
- Error codes other than 429 are read as HTTP-like: 401 the token, 403 blocked / not
  allowed, 404 the chat is unknown, 400 the message is wrong, 5xx the platform.
- Files: no document method; a file goes as a link in the text (only a photo by URL).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from broadcasts.transports.base import TransportCapabilities

DEFAULT_API_BASE = "https://bot-api.zaloplatforms.com"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT = 2000
SECRET_MIN, SECRET_MAX = 8, 256
# A 429 says no wait: a minute is long for one bot's quota window, short for a notice.
QUOTA_RETRY_SECONDS = 60.0

ZALO_CAPABILITIES = TransportCapabilities(
    max_text=MAX_TEXT,
    max_caption=MAX_TEXT,
    can_edit=False,
    can_delete=False,
    has_buttons=False,
    markups=("plain",),
    delete_window_seconds=None,
    # Only a photo by URL can be sent; every other file goes as a link in the text, so
    # the engine is told it cannot send files and writes links instead.
    can_send_files=False,
    photo_by_url=True,
    max_album=1,
    max_file_bytes=0,
    # sendMessage documents no reply parameter: a follow-up names its notice instead.
    can_reply=False,
)

TEXT_EVENT = "message.text.received"
EVENTS = (
    TEXT_EVENT,
    "message.image.received",
    "message.sticker.received",
    "message.unsupported.received",
)


class _Loose(BaseModel):
    # Zalo adds fields without notice: keep what Loa reads, ignore the rest.
    model_config = ConfigDict(extra="ignore")


class Envelope(_Loose):
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None


class ZaloUser(_Loose):
    id: str
    display_name: str | None = None
    first_name: str | None = None
    is_bot: bool = False

    @property
    def name(self) -> str:
        return self.display_name or self.first_name or ""


class ZaloChat(_Loose):
    id: str
    chat_type: Literal["PRIVATE", "GROUP"] = "PRIVATE"


class ZaloQuote(_Loose):
    message_id: str


class ZaloMessage(_Loose):
    message_id: str
    from_: ZaloUser = Field(alias="from")
    chat: ZaloChat
    date: int = 0
    text: str | None = None
    photo: str | None = None
    caption: str | None = None
    sticker: str | None = None
    quote: ZaloQuote | None = None


class ZaloUpdate(_Loose):
    event_name: str
    message: ZaloMessage

    @property
    def key(self) -> tuple[str, str]:
        """What makes two deliveries of an event the same event."""
        return self.event_name, self.message.message_id


class ZaloBotInfo(_Loose):
    id: str
    account_name: str = ""
    account_type: str = ""
    can_join_groups: bool = False


class ZaloSent(_Loose):
    message_id: str
    date: int = 0


class ZaloWebhookInfo(_Loose):
    url: str = ""
    updated_at: int = 0
