"""Clocks for tests: results that do not depend on how busy the machine is.

`VirtualClock` is virtual time for tests with no I/O (the limiters): no real sleeping.
`JumpClock` is real time that a test can move forward at a moment it chooses, for tests
against the sandbox: "the paused bot has not resumed yet" then holds until the test jumps,
whatever the machine's speed, instead of until some wall-clock bound.

`VirtualClock.run(coro)` runs `coro` on an event loop whose time is the clock's: when every
task waits and the next timer is t seconds away, the loop jumps t seconds at once instead
of waiting. The clock is also the `Clock` the code under test is given, so both read one
time. When every task waits and no timer is set, nothing can ever happen: that is a
deadlock, and it fails the test rather than hanging it.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")

_EPOCH = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is set")
        self._clock.advance(timeout)
        return []


class _VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        self._virtual = clock
        super().__init__(_JumpingSelector(clock))

    def time(self) -> float:
        return self._virtual.monotonic()


class VirtualClock:
    """A `Clock` whose time moves only when everything waits for it."""

    def __init__(self) -> None:
        self._now = 1000.0

    def monotonic(self) -> float:
        return self._now

    def now(self) -> datetime:
        return _EPOCH + timedelta(seconds=self._now)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        self._now += max(0.0, seconds)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = _VirtualLoop(self)
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()


class JumpClock:
    """Real time plus an offset that `jump` moves forward, waking the sleepers it passes."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._jumped: asyncio.Event | None = None

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    async def sleep(self, seconds: float) -> None:
        end = self.monotonic() + seconds
        while (left := end - self.monotonic()) > 0:
            if self._jumped is None:
                self._jumped = asyncio.Event()
            jumped = self._jumped
            try:
                async with asyncio.timeout(left):
                    await jumped.wait()
            except TimeoutError:
                pass

    def jump(self, seconds: float) -> None:
        self._offset += seconds
        if self._jumped is not None:
            self._jumped.set()
            self._jumped = None
