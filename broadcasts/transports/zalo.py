"""The Zalo transport: `ZaloClient` per token, all sharing one aiohttp session.

Zalo takes plain text up to 2,000 characters and has no buttons, edits or deletes
(`ZALO_CAPABILITIES`): the engine cuts the text, the group message carries the
«Trả lời 1 …» line instead of a button, and a correction or recall goes as a follow-up
message. `edit` and `delete` therefore refuse (MessageRejected) without asking Zalo.
Files: Zalo has no document method, so `can_send_files` is False and files go as links
in the text; a photo with a public URL (Loa's signed link, `OutgoingFile.url`) is sent
with sendPhoto.

Errors are mapped here and nowhere else, like Telegram's: blocked / not found →
PermanentFailure (the channel stops), a wrong message → MessageRejected, 429 «Quota
exceeded» → RateLimited with a conservative wait (Zalo gives none), 5xx → TemporaryFailure,
no answer → NoAnswer (it may still have arrived). A refused token is the account's
fault, never the chat's: TemporaryFailure.
"""

from __future__ import annotations

import re

import aiohttp

from broadcasts.errors import (
    InvalidInput,
    MessageRejected,
    NoAnswer,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from broadcasts.transports.base import (
    BotIdentity,
    OutgoingMessage,
    SentMessage,
    TransportCapabilities,
)
from broadcasts.transports.zalo_client import ZaloApiError, ZaloClient
from broadcasts.transports.zalo_wire import QUOTA_RETRY_SECONDS, ZALO_CAPABILITIES

TOKEN = re.compile(r"^\d{1,30}:[A-Za-z0-9_-]{1,200}$")
_CHAT_GONE = ("not found", "blocked", "not allowed", "not a member", "unfollow", "removed")


def is_zalo_token(token: str) -> bool:
    return bool(TOKEN.match(token))


def classify(
    exc: ZaloApiError, *, quota_retry: float = QUOTA_RETRY_SECONDS
) -> TemporaryFailure | PermanentFailure | RateLimited:
    """The domain's failure for a refused call (`quota_retry`: the wait after a 429)."""
    code, description = exc.code, exc.description
    text = f"zalo {code}: {description}"
    if code == 429:
        return RateLimited(
            f"rate limited: {description} (retry after {quota_retry:g}s)",
            retry_after=quota_retry,
        )
    if code == 401:
        return TemporaryFailure(text)  # the token, not the chat
    if code in (403, 404):
        return PermanentFailure(text)
    if code == 400:
        if any(phrase in description.lower() for phrase in _CHAT_GONE):
            return PermanentFailure(text)
        return MessageRejected(text)
    return TemporaryFailure(text)


class ZaloTransport:
    """Sends through one Zalo bot token."""

    name = "zalo"
    capabilities: TransportCapabilities = ZALO_CAPABILITIES

    def __init__(self, client: ZaloClient, *, quota_retry: float = QUOTA_RETRY_SECONDS) -> None:
        self.client = client
        self._quota_retry = quota_retry

    async def send(self, message: OutgoingMessage) -> SentMessage:
        if len(message.text) > self.capabilities.max_text:
            # The engine cuts texts first; one that slips through is this message's fault.
            raise MessageRejected(f"text of {len(message.text)} characters, over 2000")
        photo = next(
            (
                url
                for f in message.files
                if f.kind == "photo"
                and (url := f.url or f.file_ref or "").startswith(("https://", "http://"))
            ),
            None,
        )
        try:
            if photo is not None:
                sent = await self.client.send_photo(message.chat_ref, photo, message.text)
            else:
                sent = await self.client.send_message(message.chat_ref, message.text)
        except ZaloApiError as exc:
            raise classify(exc, quota_retry=self._quota_retry) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NoAnswer(f"network error: {type(exc).__name__}: {exc}") from exc
        return SentMessage(message_ref=sent.message_id, message_refs=(sent.message_id,))

    async def edit(self, message_ref: str, message: OutgoingMessage) -> None:
        raise MessageRejected("Zalo cannot edit a sent message")

    async def delete(self, chat_ref: str, message_ref: str) -> None:
        raise MessageRejected("Zalo cannot delete a sent message")

    async def close(self) -> None:
        """Nothing to do: the factory owns the shared HTTP session."""


class ZaloTransports:
    """Makes the transport of each Zalo token; one aiohttp session serves them all."""

    name = "zalo"
    capabilities = ZALO_CAPABILITIES

    def __init__(
        self,
        *,
        api_base: str,
        timeout: float = 15.0,
        connection_limit: int = 256,
        quota_retry: float = QUOTA_RETRY_SECONDS,
    ) -> None:
        self._api_base = api_base
        self._quota_retry = quota_retry
        self._timeout = timeout
        self._connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        self._transports: dict[str, ZaloTransport] = {}

    def open(self, token: str) -> ZaloTransport:
        transport = self._transports.get(token)
        if transport is None:
            if not is_zalo_token(token):
                raise TemporaryFailure("invalid Zalo bot token")  # the row, not the chat
            if self._session is None:
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=self._connection_limit)
                )
            client = ZaloClient(
                token, session=self._session, api_base=self._api_base, timeout=self._timeout
            )
            transport = self._transports[token] = ZaloTransport(
                client, quota_retry=self._quota_retry
            )
        return transport

    async def close(self) -> None:
        self._transports.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None


async def zalo_identity(*, token: str, api_base: str, timeout: float = 15.0) -> BotIdentity:
    """Who a Zalo token belongs to (getMe). InvalidInput with a readable reason when the
    token is malformed or refused; TemporaryFailure when Zalo cannot be reached."""
    if not is_zalo_token(token):
        raise InvalidInput(
            "this is not a Zalo bot token (it looks like 1234567890:AbCd…, from Zalo Bot Creator)",
            field="token",
        )
    async with aiohttp.ClientSession() as session:
        client = ZaloClient(token, session=session, api_base=api_base, timeout=timeout)
        try:
            me = await client.get_me()
        except ZaloApiError as exc:
            if exc.code in (401, 403, 404):
                raise InvalidInput(
                    f"Zalo refused this token ({exc.description}): it is wrong or was revoked",
                    field="token",
                ) from exc
            raise TemporaryFailure(f"getMe failed: {exc.description}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TemporaryFailure(f"getMe failed: {type(exc).__name__}") from exc
    return BotIdentity(ref=me.id, username=me.account_name or me.id, name=me.account_name)
