"""The Telegram transport: aiogram's `Bot`, one per token, all sharing one HTTP session.

Texts go out as plain text (no parse mode), so user text can never break markup. The
acknowledge button is an inline keyboard with `ack:<ack_ref>` as callback data. aiogram's
exceptions are mapped to the domain's `TransportError` classes here and nowhere else.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable

import aiohttp
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
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, MessageId
from aiogram.utils.token import TokenValidationError

from broadcasts.errors import (
    ChatMigrated,
    MessageRejected,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from broadcasts.transports.base import OutgoingMessage, SentMessage

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64

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

TokenLookup = Callable[[int], Awaitable[str]]


class _SendMessage(SendMessage):
    """sendMessage, reading back only the message id.

    Telegram answers with the whole Message; validating it into aiogram's nested models
    costs about a quarter of the CPU of a send, and the engine keeps only the id.
    """

    __returning__ = MessageId  # type: ignore[assignment]  # a narrower answer, on purpose


def _description(exc: TelegramAPIError) -> str:
    return _PREFIX.sub("", exc.message).strip()


def _chat_id(chat_ref: str) -> int | str:
    return int(chat_ref) if _NUMERIC.match(chat_ref) else chat_ref


def ack_keyboard(ack_ref: str, label: str) -> InlineKeyboardMarkup:
    data = f"ack:{ack_ref}"
    if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_DATA_BYTES} bytes: {data!r}")
    button = InlineKeyboardButton(text=label, callback_data=data)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


class TelegramTransport:
    """Sends through one bot token."""

    name = "telegram"
    max_text_length = MAX_TEXT_LENGTH

    def __init__(self, bot: Bot, *, timeout: float = 15.0) -> None:
        self.bot = bot
        self._timeout = max(1, math.ceil(timeout))

    async def send(self, message: OutgoingMessage) -> SentMessage:
        markup = (
            ack_keyboard(message.ack_ref, message.ack_label)
            if message.ack_ref is not None
            else None
        )
        try:
            sent = await self.bot(
                _SendMessage(
                    chat_id=_chat_id(message.chat_ref),
                    message_thread_id=int(message.topic_ref) if message.topic_ref else None,
                    text=message.text,
                    parse_mode=None,
                    reply_markup=markup,
                ),
                request_timeout=self._timeout,
            )
        except TelegramRetryAfter as exc:
            raise RateLimited(
                f"rate limited: retry after {exc.retry_after}s", retry_after=float(exc.retry_after)
            ) from exc
        except TelegramMigrateToChat as exc:
            raise ChatMigrated(
                f"migrated to {exc.migrate_to_chat_id}", new_chat_ref=str(exc.migrate_to_chat_id)
            ) from exc
        except TelegramForbiddenError as exc:
            raise PermanentFailure(f"forbidden: {_description(exc)}") from exc
        except TelegramBadRequest as exc:
            raise _classify_bad_request(exc) from exc
        except TelegramUnauthorizedError as exc:
            # The token, not the chat, is at fault: never deactivate channels for it.
            raise TemporaryFailure(f"unauthorized: {_description(exc)}") from exc
        except TelegramServerError as exc:
            raise TemporaryFailure(f"server error: {_description(exc)}") from exc
        except TelegramNetworkError as exc:
            raise TemporaryFailure(f"network error: {_description(exc)}") from exc
        except TelegramAPIError as exc:  # 404 method, 409, 413: unexpected, worth a bounded retry
            raise TemporaryFailure(f"telegram error: {_description(exc)}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TemporaryFailure(f"network error: {type(exc).__name__}: {exc}") from exc
        return SentMessage(message_ref=str(sent.message_id))

    async def close(self) -> None:
        """Nothing to do: the registry owns the shared HTTP session."""


def _classify_bad_request(exc: TelegramBadRequest) -> PermanentFailure:
    description = _description(exc)
    lowered = description.lower()
    if any(phrase in lowered for phrase in _CHAT_GONE):
        return PermanentFailure(f"bad request: {description}")
    # "message is too long", "can't parse entities", ...: this message is wrong, the chat
    # is fine; the engine fails the delivery without deactivating the channel.
    return MessageRejected(f"bad request: {description}")


class TelegramTransports:
    """The registry of Telegram transports, keyed by bot account id.

    Every `Bot` shares one `AiohttpSession` (one connection pool) pointed at `api_base`;
    `token_for` looks an account's token up the first time the account is used.
    """

    def __init__(
        self,
        *,
        api_base: str,
        token_for: TokenLookup,
        timeout: float = 15.0,
        connection_limit: int = 256,
    ) -> None:
        self._api = TelegramAPIServer.from_base(api_base)
        self._token_for = token_for
        self._timeout = timeout
        self._connection_limit = connection_limit
        self._session: AiohttpSession | None = None
        self._transports: dict[int, TelegramTransport] = {}
        self._lock = asyncio.Lock()

    async def transport_for(self, account_id: int) -> TelegramTransport:
        transport = self._transports.get(account_id)
        if transport is not None:
            return transport
        async with self._lock:
            transport = self._transports.get(account_id)
            if transport is None:
                token = await self._token_for(account_id)
                if self._session is None:
                    self._session = AiohttpSession(api=self._api, limit=self._connection_limit)
                try:
                    bot = Bot(token, session=self._session)
                except TokenValidationError as exc:
                    raise TemporaryFailure(f"bot account {account_id}: invalid token") from exc
                transport = TelegramTransport(bot, timeout=self._timeout)
                self._transports[account_id] = transport
        return transport

    async def close(self) -> None:
        self._transports.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
