"""The Telegram transport: aiogram's `Bot`, one per token, all sharing one HTTP session.

Text messages (the deliveries' hot loop) take a lean path: a JSON body encoded with orjson,
posted on a keep-alive connection of `http1.Http1Pool` (one pool per Bot API server, shared
by every bot; the request's head is made once per bot), and only the fields the engine
reads taken from the answer (ok, message_id; description, retry_after, migrate_to_chat_id
on a refusal). aiogram would validate the request into pydantic models, build a multipart
form and validate what it gets back, and aiohttp's client builds a request and a response
object around each post: together most of a delivery's CPU in the benchmark (README,
Benchmarks). Files, edits and deletes still go through
aiogram (rarer, and uploads need its multipart). Both paths end in `_refusal`, so an
answer means the same whichever path sent it.

A message marked "html" goes out with parse mode HTML (its user text escaped by whoever
wrote it, `broadcasts.message`); any other goes out as plain text, never parsed. The
acknowledge button is an inline keyboard whose callback data `telegram_wire` defines.
Files go by the bot's own file id when the engine knows it, else uploaded from Loa's store
(sendPhoto / sendDocument / sendVoice, or sendMediaGroup for an album).
Telegram's refusals (and aiogram's exceptions) are mapped to the domain's `TransportError`
classes here and nowhere else; a send that got no answer is a `NoAnswer`, as the message
may still have arrived.
Corrections edit a sent message (editMessageText, or editMessageCaption for one sent with
files) keeping its acknowledge button, and recalls delete it; "message is not modified"
counts as done, and "message to edit not found", "message can't be edited / deleted"
reject that message only (`MessageRejected`), so the engine falls back to a reply.
`TelegramTransports` is the factory the transport registry asks for Telegram accounts.
"""

from __future__ import annotations

import contextlib
import math
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import certifi
import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    DeleteMessage,
    EditMessageCaption,
    EditMessageText,
    SendDocument,
    SendMediaGroup,
    SendPhoto,
    SendVoice,
)
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)
from aiogram.utils.token import TokenValidationError

from broadcasts.errors import (
    ChatMigrated,
    InvalidInput,
    MessageRejected,
    NoAnswer,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
    TransportError,
)
from broadcasts.transports.base import (
    BotIdentity,
    OutgoingFile,
    OutgoingMessage,
    SentMessage,
    TransportCapabilities,
)
from broadcasts.transports.http1 import Http1Pool
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES, encode_ack_data

_JSON = {"Content-Type": "application/json"}

# 400 answers that mean this chat will never take a message from this bot again.
_CHAT_GONE = (
    "chat not found",
    "group chat was deactivated",
    "not enough rights",
    "have no rights",
    "need administrator rights",
    "bot was kicked",
    "bot is not a member",
    "chat_write_forbidden",
    "peer_id_invalid",
)
_PREFIX = re.compile(r"^(bad request|forbidden|unauthorized|conflict)\s*:\s*", re.IGNORECASE)
_NUMERIC = re.compile(r"^-?\d+$")


def _input_file(file: OutgoingFile) -> str | InputFile:
    """The bot's own file id when it has one, else the file from Loa's store."""
    if file.file_ref:
        return file.file_ref
    if file.path is None or not Path(file.path).is_file():
        raise MessageRejected(f"the file {file.file_name!r} is not in Loa's store")
    return FSInputFile(file.path, filename=file.file_name)


def _input_media(file: OutgoingFile) -> InputMediaPhoto | InputMediaDocument:
    if file.kind == "photo":
        return InputMediaPhoto(media=_input_file(file))
    if file.kind == "document":
        return InputMediaDocument(media=_input_file(file))
    raise MessageRejected(f"a {file.kind} cannot go in an album")


def _file_id(sent: Message) -> str:
    """The file id Telegram gave a sent photo (its largest size), document or voice."""
    if sent.photo:
        return sent.photo[-1].file_id
    if sent.document is not None:
        return sent.document.file_id
    if sent.voice is not None:
        return sent.voice.file_id
    return ""


def _chat_id(chat_ref: str) -> int | str:
    return int(chat_ref) if _NUMERIC.match(chat_ref) else chat_ref


def ack_keyboard(delivery_id: int, label: str) -> InlineKeyboardMarkup:
    if not label:
        raise ValueError("the acknowledge button needs a label")
    button = InlineKeyboardButton(text=label, callback_data=encode_ack_data(delivery_id))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


class TelegramTransport:
    """Sends through one bot token."""

    name = "telegram"
    capabilities: TransportCapabilities = TELEGRAM_CAPABILITIES

    def __init__(self, bot: Bot, *, timeout: float = 15.0, http: Http1Pool | None = None) -> None:
        self.bot = bot
        self._timeout = max(1, math.ceil(timeout))
        self._upload_timeout = max(self._timeout, 60)  # a 20 MB upload on a slow line
        self._send_url = bot.session.api.api_url(token=bot.token, method="sendMessage")
        # The lean path's connections: the factory's, shared by every bot, or its own.
        self._own_pool = http is None
        self._pool = http if http is not None else _pool_for(self._send_url, limit=16)
        self._send_head = self._pool.post_head(self._send_url)

    async def send(self, message: OutgoingMessage) -> SentMessage:
        if message.files:
            markup = (
                ack_keyboard(message.ack_delivery_id, message.ack_label)
                if message.ack_delivery_id is not None
                else None
            )
            try:
                return await self._send_files(message, markup)
            except (TelegramAPIError, TimeoutError, aiohttp.ClientError) as exc:
                raise _mapped(exc) from exc
        return SentMessage(message_ref=str(await self._send_text(message)))

    async def _send_text(self, message: OutgoingMessage) -> int:
        """sendMessage on the lean path: the message id, or the refusal as a TransportError."""
        body: dict[str, Any] = {"chat_id": _chat_id(message.chat_ref), "text": message.text}
        if message.topic_ref:
            body["message_thread_id"] = int(message.topic_ref)
        if message.markup == "html":
            body["parse_mode"] = "HTML"
        if message.ack_delivery_id is not None:
            if not message.ack_label:
                raise ValueError("the acknowledge button needs a label")
            button = {
                "text": message.ack_label,
                "callback_data": encode_ack_data(message.ack_delivery_id),
            }
            body["reply_markup"] = {"inline_keyboard": [[button]]}
        if message.reply_to is not None:
            # A reply to a message deleted meanwhile still goes out, as a plain message.
            body["reply_parameters"] = {
                "message_id": int(message.reply_to),
                "allow_sending_without_reply": True,
            }
        try:
            status, raw = await self._pool.post(
                self._send_head, orjson.dumps(body), timeout=self._timeout
            )
        except TimeoutError as exc:  # aiogram's words for it, so both paths read the same
            raise NoAnswer("network error: Request timeout error") from exc
        except OSError as exc:  # unreachable, connection lost, not HTTP: it may have arrived
            raise NoAnswer(f"network error: {type(exc).__name__}: {exc}") from exc
        try:
            answer = orjson.loads(raw)
            if 200 <= status <= 226 and answer["ok"]:
                return int(answer["result"]["message_id"])
            description = str(answer.get("description") or "")
            parameters = answer.get("parameters") or {}
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TemporaryFailure(f"telegram error: unreadable answer (HTTP {status})") from exc
        raise _refusal(
            status,
            description,
            retry_after=parameters.get("retry_after"),
            migrate_to=parameters.get("migrate_to_chat_id"),
        )

    async def _send_files(
        self, message: OutgoingMessage, markup: InlineKeyboardMarkup | None
    ) -> SentMessage:
        """One file (the text as its caption, the button under it) or an album (no text,
        no button: sendMediaGroup takes neither a keyboard nor, here, a caption)."""
        chat_id = _chat_id(message.chat_ref)
        thread = int(message.topic_ref) if message.topic_ref else None
        caption = message.text or None
        parse_mode = "HTML" if caption and message.markup == "html" else None
        if len(message.files) > 1:
            if markup is not None:
                raise MessageRejected("an album cannot carry the acknowledge button")
            items: list[Any] = [_input_media(f) for f in message.files]
            sent_all = await self.bot(
                SendMediaGroup(chat_id=chat_id, message_thread_id=thread, media=items),
                request_timeout=self._upload_timeout,
            )
            return SentMessage(
                message_ref=str(sent_all[-1].message_id),
                message_refs=tuple(str(m.message_id) for m in sent_all),
                file_refs=tuple(_file_id(m) for m in sent_all),
            )
        (file,) = message.files
        source = _input_file(file)
        method: SendPhoto | SendDocument | SendVoice
        if file.kind == "photo":
            method = SendPhoto(
                chat_id=chat_id,
                message_thread_id=thread,
                photo=source,
                caption=caption,
                parse_mode=parse_mode,
                reply_markup=markup,
            )
        elif file.kind == "voice":
            method = SendVoice(
                chat_id=chat_id,
                message_thread_id=thread,
                voice=source,
                caption=caption,
                parse_mode=parse_mode,
                reply_markup=markup,
            )
        else:
            method = SendDocument(
                chat_id=chat_id,
                message_thread_id=thread,
                document=source,
                caption=caption,
                parse_mode=parse_mode,
                reply_markup=markup,
            )
        sent = await self.bot(method, request_timeout=self._upload_timeout)
        return SentMessage(
            message_ref=str(sent.message_id),
            message_refs=(str(sent.message_id),),
            file_refs=(_file_id(sent),),
        )

    async def edit(self, message_ref: str, message: OutgoingMessage) -> None:
        """Replace the text (or, for a message sent with files, the caption) of a sent
        message; its acknowledge button is sent again, else Telegram would drop it."""
        markup = (
            ack_keyboard(message.ack_delivery_id, message.ack_label)
            if message.ack_delivery_id is not None
            else None
        )
        chat_id, message_id = _chat_id(message.chat_ref), int(message_ref)
        parse_mode = "HTML" if message.markup == "html" else None
        method: EditMessageText | EditMessageCaption
        if message.files:
            method = EditMessageCaption(
                chat_id=chat_id,
                message_id=message_id,
                caption=message.text,
                parse_mode=parse_mode,
                reply_markup=markup,
            )
        else:
            method = EditMessageText(
                chat_id=chat_id,
                message_id=message_id,
                text=message.text,
                parse_mode=parse_mode,
                reply_markup=markup,
            )
        try:
            async with _mapped_errors():
                await self.bot(method, request_timeout=self._timeout)
        except MessageRejected as exc:
            if _NOT_MODIFIED not in exc.message.lower():
                raise  # not modified: the message already reads as wanted

    async def delete(self, chat_ref: str, message_ref: str) -> None:
        async with _mapped_errors():
            await self.bot(
                DeleteMessage(chat_id=_chat_id(chat_ref), message_id=int(message_ref)),
                request_timeout=self._timeout,
            )

    async def close(self) -> None:
        """Close the lean path's connections if they are this transport's own (the
        factory owns the shared ones, and aiogram's session)."""
        if self._own_pool:
            await self._pool.close()


_NOT_MODIFIED = "message is not modified"


def _refusal(
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    migrate_to: int | str | None = None,
) -> TransportError:
    """Telegram's refusal as the domain's error: the one place every answer is classified
    (the lean path's answers and aiogram's exceptions alike), in aiogram's order: the
    parameters first, then the HTTP status."""
    if retry_after:
        return RateLimited(
            f"rate limited: retry after {retry_after:g}s", retry_after=float(retry_after)
        )
    if migrate_to:
        return ChatMigrated(f"migrated to {migrate_to}", new_chat_ref=str(migrate_to))
    description = _PREFIX.sub("", message).strip()
    if status == 403:
        return PermanentFailure(f"forbidden: {description}")
    if status == 400:
        lowered = description.lower()
        if any(phrase in lowered for phrase in _CHAT_GONE):
            return PermanentFailure(f"bad request: {description}")
        # "message is too long", "can't parse entities", ...: this message is wrong, the
        # chat is fine; the engine fails the delivery without deactivating the channel.
        return MessageRejected(f"bad request: {description}")
    if status == 401:
        # The token, not the chat, is at fault: never deactivate channels for it.
        return TemporaryFailure(f"unauthorized: {description}")
    if status >= 500:
        return TemporaryFailure(f"server error: {description}")
    if status == 413:  # aiogram reads "entity too large" as a network error: so does Loa
        return NoAnswer(f"network error: {description}")
    # 404 method, 409, 413: unexpected, worth a bounded retry.
    return TemporaryFailure(f"telegram error: {description}")


# aiogram's exception classes by the HTTP status they stand for (`_refusal` reads statuses).
_STATUS_OF: tuple[tuple[type[TelegramAPIError], int], ...] = (
    (TelegramForbiddenError, 403),
    (TelegramBadRequest, 400),
    (TelegramUnauthorizedError, 401),
    (TelegramServerError, 500),
)


def _mapped(exc: TelegramAPIError | TimeoutError | aiohttp.ClientError) -> TransportError:
    """aiogram's exception (files, edits, deletes) as the domain's, through `_refusal`."""
    match exc:
        case TelegramRetryAfter():
            return _refusal(429, exc.message, retry_after=exc.retry_after)
        case TelegramMigrateToChat():
            return _refusal(400, exc.message, migrate_to=exc.migrate_to_chat_id)
        case TelegramNetworkError():
            return NoAnswer(f"network error: {_PREFIX.sub('', exc.message).strip()}")
        case TelegramAPIError():
            status = next((code for cls, code in _STATUS_OF if isinstance(exc, cls)), 0)
            return _refusal(status, exc.message)
        case _:
            return NoAnswer(f"network error: {type(exc).__name__}: {exc}")


@contextlib.asynccontextmanager
async def _mapped_errors() -> AsyncIterator[None]:
    """`_mapped` around an edit or a delete."""
    try:
        yield
    except (TelegramAPIError, TimeoutError, aiohttp.ClientError) as exc:
        raise _mapped(exc) from exc


def _pool_for(url: str, *, limit: int) -> Http1Pool:
    """Keep-alive connections to the Bot API server of `url`, trusting the CAs aiogram's
    session trusts (certifi's), so that both paths accept the same certificates."""
    https = url.startswith("https:")
    context = ssl.create_default_context(cafile=certifi.where()) if https else None
    return Http1Pool(url, limit=limit, ssl_context=context)


class TelegramTransports:
    """Makes the transport of each Telegram token; every `Bot` shares one HTTP session.

    One `AiohttpSession` (one connection pool) pointed at `api_base` serves every account,
    so 168 ward bots cost one pool, not 168; so does one `Http1Pool` for the lean path.
    """

    name = "telegram"
    capabilities = TELEGRAM_CAPABILITIES

    def __init__(
        self, *, api_base: str, timeout: float = 15.0, connection_limit: int = 256
    ) -> None:
        self._api = TelegramAPIServer.from_base(api_base)
        self._timeout = timeout
        self._connection_limit = connection_limit
        self._session: AiohttpSession | None = None
        self._pool: Http1Pool | None = None
        self._transports: dict[str, TelegramTransport] = {}

    def open(self, token: str) -> TelegramTransport:
        """The transport of `token` (made on first use); TemporaryFailure if it is malformed."""
        transport = self._transports.get(token)
        if transport is None:
            if self._session is None:
                self._session = AiohttpSession(api=self._api, limit=self._connection_limit)
            try:
                bot = Bot(token, session=self._session)
            except TokenValidationError as exc:
                # The account's row is wrong, not the chat: never deactivate channels for it.
                raise TemporaryFailure("invalid bot token") from exc
            if self._pool is None:
                url = self._api.api_url(token=token, method="sendMessage")
                self._pool = _pool_for(url, limit=self._connection_limit)
            transport = self._transports[token] = TelegramTransport(
                bot, timeout=self._timeout, http=self._pool
            )
        return transport

    async def close(self) -> None:
        self._transports.clear()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._session is not None:
            await self._session.close()
            self._session = None


async def telegram_identity(*, token: str, api_base: str, timeout: float = 15.0) -> BotIdentity:
    """Who a token belongs to (getMe through the configured Bot API server).

    InvalidInput with a readable reason when the token is malformed or refused;
    TemporaryFailure when the server cannot be reached (the token may well be right).
    """
    try:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    except TokenValidationError as exc:
        raise InvalidInput(
            "this is not a Telegram bot token (it looks like 123456789:AAE…, from @BotFather)",
            field="token",
        ) from exc
    try:
        me = await bot.get_me(request_timeout=int(math.ceil(timeout)))
    except TelegramUnauthorizedError as exc:
        raise InvalidInput(
            "Telegram refused this token (Unauthorized): it is wrong or was revoked; "
            "get the current one from @BotFather",
            field="token",
        ) from exc
    except TelegramAPIError as exc:
        raise TemporaryFailure(f"getMe failed: {exc.message}") from exc
    finally:
        await bot.session.close()
    if not me.is_bot or not me.username:
        raise InvalidInput("this token does not belong to a bot", field="token")
    return BotIdentity(ref=str(me.id), username=me.username, name=me.full_name)
