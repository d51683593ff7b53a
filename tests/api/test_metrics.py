"""/metrics: who may read it, the queue figures read from the database at each scrape, and
the AI step's counters, parsed with prometheus-client's parser."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.ai.models import AISettings
from broadcasts.ai.prepare import prepare_notice
from broadcasts.db import session_scope
from broadcasts.models import DeliveryStatus, NoticeStatus, utcnow
from broadcasts.settings import MetricsSettings, Settings
from tests.api.conftest import BASE_URL, assert_problem
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree
from tests.support.metrics import sample

S = DeliveryStatus
NOTICE = "Thông báo cúp điện từ 7 giờ 30 đến 16 giờ thứ Bảy ngày 12/12/2026 tại khu phố 1."


@asynccontextmanager
async def _client(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    token: str | None = None,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> AsyncIterator[httpx.AsyncClient]:
    metrics = MetricsSettings(token=SecretStr(token) if token else None)
    app = create_app(
        sessionmaker=sessionmaker,
        settings=Settings(database_url=database_url, metrics=metrics),
    )
    transport = httpx.ASGITransport(app=app, client=client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http,
    ):
        yield http


async def test_without_a_token_only_this_machine_may_scrape(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with _client(database_url, sessionmaker) as local:
        ok = await local.get("/metrics")
        assert ok.status_code == 200, ok.text
        assert ok.headers["content-type"].startswith("text/plain; version=")
        names = {f.name for f in text_string_to_metric_families(ok.text)}
        assert {"loa_deliveries", "loa_delivery_queue_depth", "loa_send_seconds"} <= names
        # Through a proxy on this machine, the client could be anyone.
        proxied = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
        assert_problem(proxied, 403, "LOA_METRICS__TOKEN")
    async with _client(database_url, sessionmaker, client=("203.0.113.7", 4000)) as remote:
        assert_problem(await remote.get("/metrics"), 403, "only this machine")


async def test_with_a_token_the_token_is_needed_from_anywhere(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = "metrics-token-0123456789abcdef"
    async with _client(
        database_url, sessionmaker, token=token, client=("203.0.113.7", 4000)
    ) as remote:
        missing = await remote.get("/metrics")
        assert_problem(missing, 401, "metrics token")
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert_problem(wrong, 401)
        right = await remote.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200 and "loa_delivery_queue_depth" in right.text
    async with _client(database_url, sessionmaker, token=token) as local:
        assert_problem(await local.get("/metrics"), 401)  # the token binds local clients too


async def test_queue_and_schedule_figures_come_from_the_database(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        chans = await add_channels(session, await add_bot(session), [areas["BT-KP1"]] * 6)
        _, ds = await add_notice(
            session,
            areas["BT"],
            chans,
            [S.pending, S.pending, S.pending, S.sending, S.sent, S.failed],
        )
        ds[0].next_attempt_at = now - timedelta(minutes=10)  # the oldest due
        ds[1].next_attempt_at = now - timedelta(minutes=1)
        ds[2].next_attempt_at = now + timedelta(hours=1)  # a retry's backoff: waiting
        late, _ = await add_notice(session, areas["BT"], [], [], status=NoticeStatus.scheduled)
        late.scheduled_at = now - timedelta(minutes=5)
        later, _ = await add_notice(session, areas["BT"], [], [], status=NoticeStatus.scheduled)
        later.scheduled_at = now + timedelta(days=1)
    async with _client(database_url, sessionmaker) as client:
        text = (await client.get("/metrics")).text
    depth = "loa_delivery_queue_depth"
    assert sample(text, depth, state="due") == 2
    assert sample(text, depth, state="waiting") == 1
    assert sample(text, depth, state="sending") == 1
    assert sample(text, "loa_delivery_oldest_due_age_seconds") >= 600
    assert sample(text, "loa_scheduler_overdue_notices") == 1
    assert sample(text, "loa_scheduler_overdue_seconds") >= 300


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_the_ai_step_is_timed_and_its_fallbacks_counted(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with _client(database_url, sessionmaker) as client:
        before = (await client.get("/metrics")).text
        dead = AISettings(
            base_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=0, timeout_seconds=2
        )
        prep = await prepare_notice(NOTICE, ["vi"], settings=dead)
        assert prep.engine == "offline"
        await prepare_notice(NOTICE, ["vi"], settings=AISettings(base_url=None))
        after = (await client.get("/metrics")).text

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("loa_ai_step_seconds_count", engine="offline") == 2
    assert moved("loa_ai_fallbacks_total", reason="endpoint") == 1
    assert moved("loa_ai_fallbacks_total") == 1  # no endpoint configured is not a fallback
