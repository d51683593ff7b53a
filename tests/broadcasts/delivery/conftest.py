"""Delivery fixtures: a sandbox Telegram Bot API server per test and a worker factory."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.delivery import DeliveryWorker
from broadcasts.settings import DeliverySettings, Settings, TelegramSettings
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer

_tokens = itertools.count(7000001)

# For tests of the engine's own logic: the database does not change what they check, and
# each one runs for seconds of paced sending.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PERSON = {"id": 501, "first_name": "Lan", "username": "tt_lan"}
# Waits in these tests are for events; this only keeps a broken run from hanging forever.
HANG_GUARD_SECONDS = 120.0


def new_token() -> str:
    return f"{next(_tokens)}:TEST-delivery_{next(_tokens)}"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer()
    await server.start(port=0)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def tg(sandbox: SandboxServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url) as client:
        yield client


async def make_groups(tg: SandboxClient, token: str, count: int) -> list[int]:
    return [
        await tg.add_bot_to_group(token, f"Tổ dân phố {i}", PERSON) for i in range(1, count + 1)
    ]


def make_settings(
    database_url: str, api_base: str, redis_url: str | None = None, **delivery: Any
) -> Settings:
    options: dict[str, Any] = {
        "send_timeout_seconds": 2.0,
        "lease_seconds": 10.0,
        "poll_interval_seconds": 0.05,
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "max_attempts": 3,
    }
    options.update(delivery)
    return Settings(
        _env_file=None,
        database_url=database_url,
        redis_url=redis_url,
        telegram=TelegramSettings(api_base=api_base),
        delivery=DeliverySettings(**options),
    )


WorkerFactory = Callable[..., DeliveryWorker]


@pytest.fixture
def make_worker(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], sandbox: SandboxServer
) -> WorkerFactory:
    def factory(**options: Any) -> DeliveryWorker:
        worker_options = {
            k: options.pop(k)
            for k in ("on_progress", "worker_id", "clock", "transports", "limits")
            if k in options
        }
        redis_url = options.pop("redis_url", None)
        settings = make_settings(database_url, sandbox.url, redis_url, **options)
        return DeliveryWorker(sessionmaker=sessionmaker, settings=settings, **worker_options)

    return factory
