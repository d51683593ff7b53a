"""Keeping the leases of held deliveries alive while they wait or are sent.

A bot paused by a 429, or a lane waiting for its turn, may hold jobs longer than a lease:
renewing them every third of a lease keeps other workers from taking them over. A worker
that dies stops renewing, and its jobs become claimable once their leases run out.
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


async def keep_leases(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    worker_id: str,
    lease_seconds: float,
    clock: Clock,
    is_holding: Callable[[], bool],
) -> None:
    """Renew this worker's leases until cancelled."""
    every = max(0.5, lease_seconds / 3)
    while True:
        await clock.sleep(every)
        if not is_holding():
            continue
        try:
            async with session_scope(sessionmaker) as session:
                await renew_leases(
                    session=session,
                    worker_id=worker_id,
                    now=clock.now(),
                    lease_seconds=lease_seconds,
                )
        except SQLAlchemyError:
            log.exception("renewing leases failed")
