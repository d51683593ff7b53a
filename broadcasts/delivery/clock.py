"""The time the delivery engine reads and waits on, behind one small protocol.

The limiters and the worker ask a `Clock` for monotonic seconds (pacing, pauses, leases'
renewal), for the current UTC time (what is written to the database) and to sleep. The
default, `LoopClock`, is the running event loop's clock and `asyncio.sleep`; tests pass a
clock of their own (virtual time with no real sleeping, or one they can move forward),
so that no test of the engine depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from broadcasts.models import utcnow


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary start; never goes back."""
        ...

    def now(self) -> datetime:
        """The current time, aware, in UTC (for the database)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class LoopClock:
    """The running event loop's clock: what asyncio's own timers use."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def now(self) -> datetime:
        return utcnow()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


LOOP_CLOCK = LoopClock()
