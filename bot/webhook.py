"""Webhook mode: updates that Telegram posts to the API, fed to the bot's dispatcher.

The API route checks the secret token; this receiver drops an update it has already
taken (Telegram posts an update again when it got no 2xx in time, so a slow answer or a
lost one means a redelivery), then hands the update to the dispatcher in the background
and answers Telegram as soon as the update has one of the `update_concurrency` turns
(at once, unless the bot is that busy). `close` waits for the updates still in hand.

Which update ids were taken is kept in memory (`RecentIds`, one process), or in Redis
(`SharedIds`) when several API processes behind one URL take a bot's updates: a
redelivery may reach another process than the first delivery did.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from redis.asyncio import Redis

from bot.ack_intake import AckIntake, AckPress, read_press
from broadcasts.errors import InvalidInput
from broadcasts.settings import TelegramSettings

log = logging.getLogger(__name__)

# Update ids remembered per bot. Telegram redelivers within minutes, and even a busy ward
# bot gets far fewer updates than this in that time.
RECENT_UPDATES = 10_000
# Telegram keeps an undelivered update for 24 hours: no redelivery comes later than that.
SHARED_SECONDS = 24 * 3600


class TakenIds(Protocol):
    async def add(self, update_id: int) -> bool:
        """Remember `update_id`; False if it was taken before."""
        ...


class RecentIds:
    """A bounded set in memory: remembers the last `size` ids added, forgets the oldest."""

    def __init__(self, size: int = RECENT_UPDATES) -> None:
        self._size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    async def add(self, update_id: int) -> bool:
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class SharedIds:
    """The ids taken by any process, in Redis: one SET NX per update, kept for 24 hours."""

    def __init__(self, redis: Redis, *, prefix: str, seconds: int = SHARED_SECONDS) -> None:
        self._redis = redis
        self._prefix = prefix
        self._seconds = seconds

    async def add(self, update_id: int) -> bool:
        return bool(
            await self._redis.set(f"{self._prefix}{update_id}", 1, nx=True, ex=self._seconds)
        )


class WebhookReceiver:
    """Takes the updates of one bot, each once."""

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        bot: Bot,
        secret: str,
        taken: TakenIds | None = None,
        concurrency: int = TelegramSettings.model_fields["update_concurrency"].default,
        intake: AckIntake | None = None,
    ) -> None:
        self.secret = secret
        self._dispatcher = dispatcher
        self._bot = bot
        self._intake = intake if intake is not None and intake.serves(bot) else None
        self._taken = taken or RecentIds()
        self._tasks: set[asyncio.Task[None]] = set()
        # Telegram gets its 200 at once; the handling waits its turn (`update_concurrency`).
        self._turns = asyncio.Semaphore(concurrency)

    async def receive(self, payload: dict[str, Any]) -> bool:
        """Start handling one posted update; False if it was a duplicate (ignored)."""
        pressed = read_press(payload) if self._intake is not None else None
        update: Update | None = None
        if pressed is not None:
            update_id = pressed.update_id
        else:
            try:
                update = Update.model_validate(payload, context={"bot": self._bot})
            except ValidationError as exc:
                raise InvalidInput(f"not a Telegram update: {exc.error_count()} errors") from exc
            update_id = update.update_id
        if not await self._taken.add(update_id):
            log.info("update %s arrived again; ignored", update_id)
            return False
        # Answered once the update has its turn: Telegram posts at most `max_connections`
        # (40) at once, so while every turn is taken it waits, and the updates wait in
        # Telegram's queue instead of this process's memory, where they were lost on a
        # crash, and where taking thousands of posts left no CPU to handle them.
        await self._turns.acquire()
        task = asyncio.create_task(
            self._handle(update_id, update, pressed), name=f"update-{update_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _handle(
        self, update_id: int, update: Update | None, pressed: AckPress | None
    ) -> None:
        try:
            if pressed is not None:
                assert self._intake is not None
                await self._intake.take(self._bot, pressed)
            else:
                assert update is not None
                await self._dispatcher.feed_update(self._bot, update)
        except Exception:  # the error router answered what it could; keep the receiver going
            log.exception("update %s failed", update_id)
        finally:
            self._turns.release()

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
