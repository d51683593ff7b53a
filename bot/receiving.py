"""Is the bot receiving updates? What `/health` reports about the bot.

Polling: the bot receives while its last getUpdates did not fail. A 409 (a webhook is
set, or another process polls with the same token) or a network error makes it "not
receiving" until a getUpdates succeeds again; the polling loop (`bot.polling`) keeps
retrying with backoff and tells the monitor of every attempt. Webhook: the bot receives
once setWebhook succeeded and while the webhook is ours; a failed setWebhook, or a webhook
that another tool replaced or deleted (see `loa.runtime`'s watch), makes it "not
receiving".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

log = logging.getLogger(__name__)

Mode = Literal["polling", "webhook"]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class ReceivingStatus:
    mode: Mode
    receiving: bool
    last_update_age_seconds: float | None  # None: no update since start
    error: str | None  # why not receiving, in English for operators


class UpdateMonitor:
    """What one bot's updates did lately; `clock` is monotonic seconds (injectable)."""

    def __init__(self, mode: Mode, *, clock: Clock = time.monotonic) -> None:
        self.mode: Mode = mode
        self._clock = clock
        self._last_update: float | None = None
        self._ready = mode == "polling"  # a webhook receives only once it is set
        self._error: str | None = None

    def saw_update(self) -> None:
        self._last_update = self._clock()

    def succeeded(self) -> None:
        """getUpdates answered, or the webhook is set (and still ours)."""
        if self._error is not None:
            log.info("the bot receives updates again (%s)", self.mode)
        self._ready, self._error = True, None

    def failed(self, error: str) -> None:
        if self._error is None:
            log.warning("the bot is not receiving updates (%s): %s", self.mode, error)
        self._ready, self._error = False, error

    def status(self) -> ReceivingStatus:
        age = None if self._last_update is None else round(self._clock() - self._last_update, 3)
        return ReceivingStatus(
            mode=self.mode,
            receiving=self._ready and self._error is None,
            last_update_age_seconds=age,
            error=self._error,
        )


class SeenUpdates(BaseMiddleware):
    """An outer update middleware: notes the time of every update, however it came."""

    def __init__(self, monitor: UpdateMonitor) -> None:
        self._monitor = monitor

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._monitor.saw_update()
        return await handler(event, data)
