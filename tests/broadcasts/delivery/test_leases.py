"""Short leases, kept by the heartbeat: a live worker whose send takes longer than a whole
lease keeps it, and a second worker polling meanwhile never takes the delivery over."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.delivery.heartbeat import BEATS_PER_LEASE, beat_seconds
from broadcasts.models import Delivery, DeliveryStatus
from broadcasts.settings import DeliverySettings
from sandbox.telegram.client import SandboxClient
from tests.broadcasts.delivery.conftest import WorkerFactory, make_groups, new_token
from tests.broadcasts.delivery.world import seed

DEFAULTS = DeliverySettings()


def test_the_default_lease_is_three_heartbeats() -> None:
    assert DEFAULTS.heartbeat_seconds == 2.0
    assert DEFAULTS.lease_seconds == BEATS_PER_LEASE * DEFAULTS.heartbeat_seconds
    # A lease shorter than three heartbeats is still renewed three times a lease.
    assert beat_seconds(heartbeat_seconds=2.0, lease_seconds=1.5) == 0.5


async def test_a_send_longer_than_a_lease_keeps_its_lease(
    make_worker: WorkerFactory,
    tg: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 3)
    seeded = await seed(sessionmaker, groups={token: chats})
    slow_seconds = DEFAULTS.lease_seconds + 3  # the send outlasts a lease by half of one
    await tg.add_fault("delay", token=token, chat_id=chats[0], delay=slow_seconds)
    settings = {
        "lease_seconds": DEFAULTS.lease_seconds,  # the defaults, not the harness's 10 s
        "heartbeat_seconds": DEFAULTS.heartbeat_seconds,
        "send_timeout_seconds": slow_seconds + 5,
    }
    first = make_worker(worker_id="first", **settings)
    second = make_worker(worker_id="second", **settings)

    first_run = asyncio.create_task(first.run_until_idle(timeout=60))

    async def claimed_by_first() -> bool:
        async with sessionmaker() as session:
            owners = set(
                await session.scalars(
                    select(Delivery.lease_owner).where(  # type: ignore[call-overload]
                        Delivery.notice_id == seeded.notice_id
                    )
                )
            )
        return owners == {"first"}

    while not await claimed_by_first():
        assert not first_run.done()
        await asyncio.sleep(0.02)
    # The second worker polls all along the slow send, past the lease's first expiry.
    second_run = asyncio.create_task(second.run())
    assert await first_run
    second.request_stop()
    await second_run

    assert second.sent_count == 0
    stats = await tg.stats()
    assert stats["duplicates"] == 0 and stats["sent"] == 3
    async with sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(Delivery).where(col(Delivery.notice_id) == seeded.notice_id)
            )
        )
    assert {row.status for row in rows} == {DeliveryStatus.sent}
    assert {row.attempts for row in rows} == {1}
