"""The throttled hook that tells the bot which notices' deliveries changed.

`ProgressReporter` gathers the ids of notices whose deliveries changed and calls the hook
at most once per `interval` (the official's status message is edited from it, and Telegram
frowns on editing a message many times a second), and at once when a notice completes.
The counts themselves come from `broadcasts.reports.count_deliveries`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

ProgressHook = Callable[[set[int]], Awaitable[None]]


class ProgressReporter:
    """Calls `hook` with changed notice ids, throttled; never lets the hook stop delivery."""

    def __init__(self, hook: ProgressHook | None, *, interval: float = 1.0) -> None:
        self._hook = hook
        self._interval = interval
        self._changed: set[int] = set()
        self._urgent = asyncio.Event()

    def touch(self, notice_ids: Iterable[int]) -> None:
        if self._hook is not None:
            self._changed.update(notice_ids)

    def completed(self, notice_ids: Iterable[int]) -> None:
        if self._hook is not None:
            self._changed.update(notice_ids)
            self._urgent.set()

    async def run(self) -> None:
        """Report until cancelled."""
        if self._hook is None:
            return
        while True:
            try:
                async with asyncio.timeout(self._interval):
                    await self._urgent.wait()
            except TimeoutError:
                pass
            await self.report()

    async def report(self) -> None:
        self._urgent.clear()
        if self._hook is None or not self._changed:
            return
        changed, self._changed = self._changed, set()
        try:
            await self._hook(changed)
        except Exception:  # the hook is the caller's code; delivery must go on regardless
            log.exception("progress hook failed for notices %s", sorted(changed))
