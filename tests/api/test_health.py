"""/health tells apart up, receiving updates and delivering, from the heartbeats in the
database: each state of each part, and which of them answer 503."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.app import create_app
from api.schemas import BotHealth
from broadcasts.db import session_scope
from broadcasts.delivery.clock import Clock
from broadcasts.health import Role, keep_beating, record_beat
from broadcasts.models import DeliveryStatus, ProcessHeartbeat, utcnow
from broadcasts.settings import HealthSettings, Settings
from tests.api.conftest import BASE_URL, assert_problem
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree

HOUR = timedelta(hours=1)
# A window no test run outlasts: a beat written "now" is fresh when read, however slow
# the machine (no wall-clock bound on the test).
WIDE = 7 * 24 * 3600.0


@asynccontextmanager
async def _health_client(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    stale_seconds: float = WIDE,
    bot_health: Callable[[], BotHealth] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        health=HealthSettings(beat_seconds=1, stale_seconds=stale_seconds),
    )
    app = create_app(sessionmaker=sessionmaker, settings=settings, bot_health=bot_health)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield client


async def _beat(
    sessionmaker: async_sessionmaker[AsyncSession], role: Role, process: str, at: datetime
) -> None:
    async with session_scope(sessionmaker) as session:
        await record_beat(session=session, role=role, process_id=process, now=at)


async def _due_delivery(sessionmaker: async_sessionmaker[AsyncSession], since: datetime) -> None:
    """One notice delivery waiting for a worker since `since`."""
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        chans = await add_channels(session, await add_bot(session), [areas["BT-KP1"]])
        _, (delivery,) = await add_notice(session, areas["BT"], chans, [DeliveryStatus.pending])
        delivery.next_attempt_at = since


async def test_fresh_worker_and_bot_beats_are_ok(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    await _beat(sessionmaker, "worker", "w1", now)
    await _beat(sessionmaker, "worker", "w2", now - timedelta(seconds=30))
    await _beat(sessionmaker, "bot", "b1", now)
    async with _health_client(database_url, sessionmaker) as client:
        response = await client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["up"], body["database"]) == ("ok", True, "ok")
    assert (body["delivering"]["state"], body["delivering"]["processes"]) == ("ok", 2)
    assert (body["receiving"]["state"], body["receiving"]["processes"]) == ("ok", 1)
    assert body["delivering"]["age_seconds"] >= 0
    assert body["delivering"]["oldest_due_age_seconds"] == 0


async def test_a_stale_worker_with_nothing_due_degrades(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _beat(sessionmaker, "worker", "w1", utcnow() - HOUR)
    await _beat(sessionmaker, "bot", "b1", utcnow())
    async with _health_client(database_url, sessionmaker, stale_seconds=60) as client:
        response = await client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "degraded"
    assert body["delivering"]["state"] == "stale" and body["delivering"]["processes"] == 0
    assert body["delivering"]["age_seconds"] >= 3600


async def test_deliveries_waiting_with_no_worker_is_down(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _beat(sessionmaker, "worker", "w1", utcnow() - HOUR)
    await _due_delivery(sessionmaker, utcnow() - HOUR)
    async with _health_client(database_url, sessionmaker, stale_seconds=60) as client:
        assert_problem(await client.get("/health"), 503, "nothing is delivering", "60s")
        # A worker beating again: the queue is only busy, not abandoned.
        await _beat(sessionmaker, "worker", "w2", utcnow())
        body = (await client.get("/health")).json()
    assert body["status"] == "ok" and body["delivering"]["state"] == "ok"
    assert body["delivering"]["oldest_due_age_seconds"] >= 3600


async def test_no_worker_ever_is_down_only_once_deliveries_wait(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _due_delivery(sessionmaker, utcnow() - HOUR)
    async with _health_client(database_url, sessionmaker, stale_seconds=60) as client:
        assert_problem(await client.get("/health"), 503, "nothing is delivering")
    async with _health_client(database_url, sessionmaker, stale_seconds=WIDE) as client:
        body = (await client.get("/health")).json()  # due for less than the window
    assert body["status"] == "ok" and body["delivering"]["state"] == "none"


async def test_a_stale_bot_front_degrades_but_is_not_required(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _beat(sessionmaker, "worker", "w1", utcnow())
    await _beat(sessionmaker, "bot", "b1", utcnow() - HOUR)
    async with _health_client(database_url, sessionmaker, stale_seconds=60) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["receiving"]["state"] == "stale" and body["receiving"]["age_seconds"] >= 3600


async def test_this_process_bot_not_receiving_degrades(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    refused = BotHealth(
        mode="polling", receiving=False, last_update_age_seconds=None, error="409 conflict"
    )
    async with _health_client(database_url, sessionmaker, bot_health=lambda: refused) as client:
        body = (await client.get("/health")).json()
    assert body["status"] == "degraded" and body["bot"]["error"] == "409 conflict"
    assert body["receiving"]["state"] == "none"


class _OneBeat(Clock):
    """A clock whose first sleep ends the loop: `keep_beating` writes exactly one beat."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        raise _Stop


class _Stop(Exception):
    pass


async def test_keep_beating_writes_only_while_the_part_works(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async def rows() -> int:
        async with sessionmaker() as session:
            count = await session.scalar(select(func.count()).select_from(ProcessHeartbeat))
            return int(count or 0)

    for doing, expected in ((False, 0), (True, 1)):
        try:
            await keep_beating(
                sessionmaker=sessionmaker,
                role="bot",
                process_id="bot:test",
                every=1,
                clock=_OneBeat(utcnow()),
                is_doing=lambda doing=doing: doing,  # type: ignore[misc]
            )
        except _Stop:
            pass
        assert await rows() == expected
    # A day-old row of a vanished process is forgotten by the next beat of anyone.
    await _beat(sessionmaker, "worker", "gone", utcnow() - timedelta(days=2))
    try:
        await keep_beating(
            sessionmaker=sessionmaker,
            role="bot",
            process_id="bot:test",
            every=1,
            clock=_OneBeat(utcnow()),
        )
    except _Stop:
        pass
    async with sessionmaker() as session:
        left = set(await session.scalars(select(col(ProcessHeartbeat.process_id))))
    assert left == {"bot:test"}
