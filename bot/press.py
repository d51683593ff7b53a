"""The answer to a button press, given at most once.

Telegram takes one `answerCallbackQuery` per press, and only for a few seconds after it;
a second answer is refused. `Press` remembers whether the press was answered, so that the
error router knows whether it can still show an error as an alert on the press or must
write a message instead. `PressMiddleware` puts one `Press` into every update's data
(None-safe: updates without a press get one that cannot answer); it answers through
aiogram. A Đã nhận press taken ahead of aiogram (`bot.ack_intake`) gets a `Press` that
answers on the lean path (`broadcasts.transports.telegram_lean`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, TelegramObject, Update

from broadcasts.errors import PermanentFailure
from broadcasts.transports.telegram_lean import CallbackAnswers

log = logging.getLogger(__name__)

MAX_ANSWER_LENGTH = 200  # Telegram: text of an answerCallbackQuery, 0-200 characters


class Press:
    def __init__(
        self, query: CallbackQuery | None, *, lean: tuple[CallbackAnswers, str] | None = None
    ) -> None:
        """`query` answers through aiogram; `lean` (the bot's answers, the query's id)
        on the lean path."""
        self.query = query
        self._lean = lean
        self._answered = query is None and lean is None

    @property
    def answered(self) -> bool:
        return self._answered

    async def answer(self, text: str | None = None, *, alert: bool = False) -> bool:
        """Answer the press (a toast, or an alert); False if it was answered already or
        Telegram no longer takes an answer for it."""
        if self._answered:
            return False
        self._answered = True
        if text is not None and len(text) > MAX_ANSWER_LENGTH:
            text = text[: MAX_ANSWER_LENGTH - 1] + "…"
        if self._lean is not None:
            answers, query_id = self._lean
            try:
                await answers.answer(query_id, text, alert=alert)
            except PermanentFailure as exc:  # too old (answered late) or already answered
                log.warning("press %s not answered: %s", query_id, exc.message)
                return False
            return True
        assert self.query is not None
        try:
            await self.query.answer(text, show_alert=alert)
        except TelegramBadRequest as exc:  # too old (answered late) or already answered
            log.warning("press %s not answered: %s", self.query.id, exc.message)
            return False
        return True


class PressMiddleware(BaseMiddleware):
    """An update-level outer middleware: the error router reads the same `Press`."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["press"] = Press(event.callback_query if isinstance(event, Update) else None)
        return await handler(event, data)
