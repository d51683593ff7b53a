"""Webhook mode: updates that Telegram posts to the API, fed to the bot's dispatcher.

The API route checks the secret token; this receiver drops an update it has already
taken (Telegram posts an update again when it got no 2xx in time, so a slow answer or a
lost one means a redelivery), then hands the update to the dispatcher in the background
so that Telegram gets its answer at once. `close` waits for the updates still in hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError

from broadcasts.errors import InvalidInput

log = logging.getLogger(__name__)

# Update ids remembered per bot. Telegram redelivers within minutes, and even a busy ward
# bot gets far fewer updates than this in that time.
RECENT_UPDATES = 10_000


class RecentIds:
    """A bounded set: remembers the last `size` ids added, forgets the oldest."""

    def __init__(self, size: int = RECENT_UPDATES) -> None:
        self._size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def add(self, value: int) -> bool:
        """Remember `value`; False if it was already remembered."""
        if value in self._ids:
            return False
        self._ids[value] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class WebhookReceiver:
    """Takes the updates of one bot, each once."""

    def __init__(
        self, *, dispatcher: Dispatcher, bot: Bot, secret: str, remember: int = RECENT_UPDATES
    ) -> None:
        self.secret = secret
        self._dispatcher = dispatcher
        self._bot = bot
        self._recent = RecentIds(remember)
        self._tasks: set[asyncio.Task[None]] = set()

    async def receive(self, payload: dict[str, Any]) -> bool:
        """Start handling one posted update; False if it was a duplicate (ignored)."""
        try:
            update = Update.model_validate(payload, context={"bot": self._bot})
        except ValidationError as exc:
            raise InvalidInput(f"not a Telegram update: {exc.error_count()} errors") from exc
        if not self._recent.add(update.update_id):
            log.info("update %s arrived again; ignored", update.update_id)
            return False
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _handle(self, update: Update) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except Exception:  # the error router answered what it could; keep the receiver going
            log.exception("update %s failed", update.update_id)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
