"""Bot API calls on the lean path besides sendMessage: press answers, and the plumbing of
lean polling (`bot.polling`).

An acknowledgement storm answers every press, so the answer is the bot's most frequent
request: through aiogram, each one validated an `AnswerCallbackQuery` model, built a
multipart form (a fifth of the bot's CPU in the storm benchmark, README "Acknowledgement
storm") and validated the answer. Here the body is one orjson encode, posted on the aiohttp
session (and connection pool) aiogram's `Bot` already keeps, as the deliveries' lean
sendMessage does (`broadcasts.transports.telegram`, whose header and refusal classes this
reuses, so that a refusal reads the same whichever request got it).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from broadcasts.errors import NoAnswer, TemporaryFailure
from broadcasts.transports.telegram import _JSON, _refusal

# Telegram takes an answer up to 15 s after the press; one that has not gone out by then
# would be refused anyway.
ANSWER_TIMEOUT_SECONDS = 10.0


class LeanCalls:
    """Bot API calls of one bot as orjson bodies on the session aiogram pools for it."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._http: aiohttp.ClientSession | None = None  # aiogram's, opened on first call

    def url(self, method: str) -> str:
        return self._bot.session.api.api_url(token=self._bot.token, method=method)

    async def post(
        self, url: str, body: dict[str, Any], *, timeout: aiohttp.ClientTimeout
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP status and the decoded answer; `NoAnswer` if none came,
        `TemporaryFailure` if it cannot be read."""
        http = self._http
        if http is None or http.closed:
            http = await self._open_http()
        try:
            async with http.post(
                url, data=orjson.dumps(body), headers=_JSON, timeout=timeout
            ) as response:
                status, raw = response.status, await response.read()
        except TimeoutError as exc:  # aiogram's words for it, as the lean send path says
            raise NoAnswer("network error: Request timeout error") from exc
        except aiohttp.ClientError as exc:
            raise NoAnswer(f"network error: {type(exc).__name__}: {exc}") from exc
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise TemporaryFailure(f"telegram error: unreadable answer (HTTP {status})") from exc
        if not isinstance(answer, dict):
            raise TemporaryFailure(f"telegram error: unreadable answer (HTTP {status})")
        return status, answer

    async def _open_http(self) -> aiohttp.ClientSession:
        session = self._bot.session
        if not isinstance(session, AiohttpSession):
            raise TypeError("the lean path needs aiogram's AiohttpSession")
        self._http = await session.create_session()
        return self._http


def is_ok(status: int, answer: dict[str, Any]) -> bool:
    return 200 <= status <= 226 and answer.get("ok") is True


class CallbackAnswers:
    """Answers the button presses of one bot."""

    def __init__(self, bot: Bot, *, timeout: float = ANSWER_TIMEOUT_SECONDS) -> None:
        self._calls = LeanCalls(bot)
        self._url = self._calls.url("answerCallbackQuery")
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def answer(self, query_id: str, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the press `query_id`; a refusal raises as the transport's error classes
        (a press answered already, or too late for Telegram, is a `MessageRejected`)."""
        body: dict[str, Any] = {"callback_query_id": query_id}
        if text is not None:
            body["text"] = text
        if alert:
            body["show_alert"] = True
        status, answer = await self._calls.post(self._url, body, timeout=self._timeout)
        if is_ok(status, answer):
            return
        parameters = answer.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        raise _refusal(status, str(answer.get("description") or ""), retry_after=retry_after)
