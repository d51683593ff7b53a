"""Polling on the lean path: getUpdates read as raw JSON, so that a Đã nhận press reaches
`bot.ack_intake` without aiogram building an `Update` for it.

aiogram's polling parses every answer of getUpdates into `Update` models: about 0.1 ms an
update, a fifth of the bot's CPU in an acknowledgement storm once the presses skipped its
dispatch (README, "Acknowledgement storm"). `Polling` asks for updates as aiogram's
polling does (the offset of the last update taken, the long-poll timeout, the update types
the routers use, its backoff after a failure), with an orjson body on the HTTP session
aiogram's `Bot` pools, and hands each update over as a task of its own, at most
`concurrency` at once (backpressure: the next getUpdates waits for room). A press goes to
the intake; anything else is validated into an `Update` and fed to the dispatcher, as
aiogram's polling would. The `UpdateMonitor` hears how each getUpdates went, for `/health`.

Not aiogram's loop with a hook: aiogram has no public seam between the HTTP answer and
its parsing, and the loop itself is short.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.dispatcher.dispatcher import DEFAULT_BACKOFF_CONFIG
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.utils.backoff import Backoff

from bot.ack_intake import IntakeDispatcher, read_press
from bot.receiving import UpdateMonitor
from broadcasts.errors import TransportError
from broadcasts.transports.telegram_lean import LeanCalls, is_ok

log = logging.getLogger(__name__)


class PollFailed(Exception):
    """Raised when getUpdates got no list of updates (said to the monitor, then retried)."""


class Polling:
    """Takes the updates of one bot by getUpdates, until stopped."""

    def __init__(
        self,
        *,
        dispatcher: IntakeDispatcher,
        bot: Bot,
        timeout: int,
        concurrency: int,
        monitor: UpdateMonitor | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._monitor = monitor
        self._calls = LeanCalls(bot)
        self._url = self._calls.url("getUpdates")
        self._body: dict[str, Any] = {
            "timeout": timeout,
            "allowed_updates": dispatcher.resolve_used_update_types(),
        }
        # Longer than the long poll, as aiogram waits: a quiet minute is not a failure.
        self._timeout = aiohttp.ClientTimeout(total=bot.session.timeout + timeout)
        self._turns = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        backoff = Backoff(config=DEFAULT_BACKOFF_CONFIG)
        failed = False
        while True:
            try:
                updates = await self._get_updates()
            except PollFailed as exc:
                failed = True
                if self._monitor is not None:
                    self._monitor.failed(str(exc))
                log.error("%s; trying again in %.1f s", exc, backoff.next_delay)
                await backoff.asleep()
                continue
            if failed:
                log.info("getUpdates works again")
                backoff.reset()
                failed = False
            if self._monitor is not None:
                self._monitor.succeeded()
            for update in updates:
                # Taken: the next getUpdates confirms it, whatever its handling does.
                self._body["offset"] = int(update["update_id"]) + 1
                await self._turns.acquire()
                task = asyncio.create_task(self._handle(update), name="update")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _get_updates(self) -> list[dict[str, Any]]:
        try:
            status, answer = await self._calls.post(self._url, self._body, timeout=self._timeout)
        except TransportError as exc:
            raise PollFailed(f"getUpdates failed: {exc.message}") from exc
        result = answer.get("result")
        if is_ok(status, answer) and isinstance(result, list):
            if all(isinstance(u, dict) and type(u.get("update_id")) is int for u in result):
                return result
            raise PollFailed("getUpdates failed: an update without an update_id")
        description = answer.get("description") or f"HTTP {status}"
        if status == 409:
            raise PollFailed(
                f"getUpdates refused with 409 (a webhook is set, or another process polls "
                f"with this token): {description}"
            )
        raise PollFailed(f"getUpdates failed: HTTP {status}: {description}")

    async def _handle(self, raw: dict[str, Any]) -> None:
        bot, dispatcher = self._bot, self._dispatcher
        try:
            intake = dispatcher.intake
            pressed = read_press(raw) if intake is not None and intake.serves(bot) else None
            if pressed is not None and intake is not None:
                await intake.take(bot, pressed)
                return
            update = Update.model_validate(raw, context={"bot": bot})
            response = await dispatcher.feed_update(bot, update)
            if isinstance(response, TelegramMethod):  # a handler's answer as a method
                await dispatcher.silent_call_request(bot, response)
        except Exception:  # the error router answered what it could; keep polling
            log.exception("update %s failed", raw.get("update_id"))
        finally:
            self._turns.release()

    async def close(self) -> None:
        """Wait for the updates in hand (call once `run` was cancelled)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
