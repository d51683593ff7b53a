"""The worker's pulse: renewing the leases of the deliveries it holds, every heartbeat.

A claimed delivery carries `lease_expires_at`; once it has passed, any worker may claim
the delivery again (`claims._due`). A live worker keeps its leases by renewing all of them
in one short UPDATE every heartbeat (`LOA_DELIVERY__HEARTBEAT_SECONDS`, 2 s) while it holds
anything; a worker killed with -9 stops beating, and its deliveries are free one lease
(`LOA_DELIVERY__LEASE_SECONDS`, 6 s) after its last beat.

Why 2 s and three beats (6 s):

* Recovery. A dead worker's deliveries are claimable at most one lease after the kill (less
  the time since its last beat), and a polling worker takes them within its poll interval
  (0.5 s): about 6.5 s in the worst case, which leaves 3.5 s of the promised 10 s for a
  busy machine. Four beats (8 s) would leave too little of it; two beats would lose a
  live worker's leases to one late write.
* A live worker that is merely slow keeps its leases. The heartbeat runs as its own task,
  so a long send (up to `send_timeout_seconds`), a bot paused by a 429 or a lane waiting
  for its turn do not delay it: the held jobs are renewed while they wait. What can delay
  a beat is the event loop being busy or the database's writer lock (SQLite has one
  writer; the recorder's batch writes are short). A lease of three beats lets a beat come
  up to two beats (4 s) late, or two beats in a row fail, before another worker may take
  over. The beats keep a fixed cadence (a slow renewal does not push the next one back)
  and a failed renewal is retried at once on the next beat.
* Each renewal sets the lease from the time the worker asked, never later, so a delayed
  write never stretches a lease past what the worker could vouch for.

If a worker nevertheless loses a lease (stalled for longer than a lease), the new owner
sends the delivery again: at most what was in flight is sent twice, as after a kill, and
the recorder writes an outcome only where `lease_owner` is still this worker, so the
late worker never records over the new owner.

Clocks: leases compare the claiming worker's wall clock with the renewing worker's; keep
the machines' clocks synchronised (NTP) to well under a heartbeat.

A lease shorter than three heartbeats (tests shorten it) is renewed every third of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.delivery.claims import renew_leases
from broadcasts.delivery.clock import Clock

log = logging.getLogger(__name__)

# Beats per lease: a lease outlives two missed (or late) beats.
BEATS_PER_LEASE = 3
_MIN_BEAT_SECONDS = 0.1


def beat_seconds(*, heartbeat_seconds: float, lease_seconds: float) -> float:
    """How often the leases are renewed: every heartbeat, and at least three times a lease."""
    return max(_MIN_BEAT_SECONDS, min(heartbeat_seconds, lease_seconds / BEATS_PER_LEASE))


async def keep_leases(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    worker_id: str,
    lease_seconds: float,
    heartbeat_seconds: float,
    clock: Clock,
    is_holding: Callable[[], bool],
    postgres: bool = False,
) -> None:
    """Renew this worker's leases every beat until cancelled."""
    every = beat_seconds(heartbeat_seconds=heartbeat_seconds, lease_seconds=lease_seconds)
    next_beat = clock.monotonic() + every
    while True:
        await clock.sleep(max(0.0, next_beat - clock.monotonic()))
        # A fixed cadence: a slow renewal does not push the next beat back; beats missed
        # while the loop was busy are not made up (this renewal covers them).
        next_beat += every
        if next_beat <= clock.monotonic():
            next_beat = clock.monotonic() + every
        if not is_holding():
            continue
        try:
            async with session_scope(sessionmaker) as session:
                await renew_leases(
                    session=session,
                    worker_id=worker_id,
                    now=clock.now(),
                    lease_seconds=lease_seconds,
                    postgres=postgres,
                )
        except SQLAlchemyError:
            log.exception("renewing leases failed")
