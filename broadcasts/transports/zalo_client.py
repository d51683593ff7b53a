"""A thin typed client of the Zalo Bot API on aiohttp (the HTTP library Loa already uses).

Why not a PyPI client: the ones published need Python 3.14, or hard-code an old host
(bot-api.zapps.me) and drop fields Loa reads; the API is nine JSON methods, so a page of
code typed with pydantic (`zalo_wire`) is less to trust than a dependency.

Every call is a POST of a JSON body to ``<api_base>/bot<token>/<method>``; the answer is
read as the envelope. A refused call raises `ZaloApiError` (its code and description); a
call that got no answer raises `aiohttp.ClientError` or `TimeoutError`, unchanged, for
the transport to classify. The session is shared: one pool for every Zalo bot.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from pydantic import ValidationError

from broadcasts.transports.zalo_wire import (
    Envelope,
    ZaloBotInfo,
    ZaloSent,
    ZaloUpdate,
    ZaloWebhookInfo,
)


class ZaloApiError(Exception):
    """The Bot API answered ok=false (or not with an envelope)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class ZaloClient:
    """The methods of one bot token."""

    def __init__(
        self, token: str, *, session: aiohttp.ClientSession, api_base: str, timeout: float = 15.0
    ) -> None:
        self._token = token
        self._session = session
        self._base = api_base.rstrip("/")
        self._timeout = timeout

    async def call(self, method: str, body: dict[str, Any], *, timeout: float | None = None) -> Any:
        url = f"{self._base}/bot{self._token}/{method}"
        limit = aiohttp.ClientTimeout(total=timeout if timeout is not None else self._timeout)
        async with self._session.post(url, json=body, timeout=limit) as response:
            try:
                envelope = Envelope.model_validate(await response.json(content_type=None))
            except (ValueError, ValidationError):
                raise ZaloApiError(response.status, f"HTTP {response.status}") from None
        if not envelope.ok:
            code = envelope.error_code or response.status
            raise ZaloApiError(code, envelope.description or f"error {code}")
        return envelope.result

    async def get_me(self) -> ZaloBotInfo:
        return ZaloBotInfo.model_validate(await self.call("getMe", {}))

    async def get_update(self, *, timeout: int = 30) -> ZaloUpdate | None:
        """One update, or None when the long poll ended without one (or with an event
        Loa does not read)."""
        try:
            result = await self.call(
                "getUpdates", {"timeout": str(timeout)}, timeout=timeout + self._timeout
            )
        except ZaloApiError as exc:
            if exc.code == 408:  # the documented "Request timeout": nothing came
                return None
            raise
        if not result:
            return None
        try:
            return ZaloUpdate.model_validate(result)
        except ValidationError:
            return None

    async def send_message(self, chat_id: str, text: str) -> ZaloSent:
        return ZaloSent.model_validate(
            await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        )

    async def send_photo(self, chat_id: str, photo: str, caption: str = "") -> ZaloSent:
        body = {"chat_id": chat_id, "photo": photo}
        if caption:
            body["caption"] = caption
        return ZaloSent.model_validate(await self.call("sendPhoto", body))

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def set_webhook(self, url: str, secret_token: str) -> ZaloWebhookInfo:
        return ZaloWebhookInfo.model_validate(
            await self.call("setWebhook", {"url": url, "secret_token": secret_token})
        )

    async def delete_webhook(self) -> ZaloWebhookInfo:
        return ZaloWebhookInfo.model_validate(await self.call("deleteWebhook", {}))

    async def get_webhook_info(self) -> ZaloWebhookInfo:
        return ZaloWebhookInfo.model_validate(await self.call("getWebhookInfo", {}))
