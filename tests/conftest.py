"""Shared fixtures: a fresh, migrated database per test (SQLite and PostgreSQL), and Redis.

`database_url` runs each test that asks for it twice: on a SQLite file and on a new
PostgreSQL database. Both start from a template migrated once per test session (with
`broadcasts.migrate.upgrade_async`), so every test gets its own database without paying for
the migrations again. Tests never share rows.

PostgreSQL and Redis are expected on 127.0.0.1 (`LOA_TEST_POSTGRES_URL`,
`LOA_TEST_REDIS_URL` override that). When one is unreachable its tests are skipped, or
fail when `LOA_REQUIRE_SERVICES=1` (as in CI).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.migrate import upgrade_async
from broadcasts.tokens import use_token_key

POSTGRES_ADMIN_URL = os.environ.get(
    "LOA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LOA_TEST_REDIS_URL", "redis://127.0.0.1:6379")
CONNECT_TIMEOUT = 5.0

T = TypeVar("T")


def _unavailable(service: str, error: BaseException) -> NoReturn:
    message = f"{service} is not reachable: {error!r}"
    if os.environ.get("LOA_REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _run_in_thread(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on its own loop in a worker thread.

    Session-scoped setup runs outside the tests' event loops; a thread keeps it from
    touching the loop pytest-asyncio manages.
    """
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(factory())  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the calling thread below
            result["error"] = exc

    thread = threading.Thread(target=target, name="loa-test-setup")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]  # type: ignore[no-any-return]


# --- PostgreSQL --------------------------------------------------------------------------


def _pg_url(database: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


async def _pg_admin() -> asyncpg.Connection:
    url = make_url(POSTGRES_ADMIN_URL)
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
        timeout=CONNECT_TIMEOUT,
    )


async def _pg_execute(*statements: str) -> None:
    conn = await _pg_admin()
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class _PostgresTemplate:
    """A migrated template database, made on first use and dropped at the end."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.error: BaseException | None = None

    def get(self) -> str:
        if self.name is None and self.error is None:
            name = f"loa_test_tpl_{secrets.token_hex(4)}"
            try:
                _run_in_thread(lambda: _pg_execute(f'CREATE DATABASE "{name}"'))
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                self.error = exc
            else:
                self.name = name
                try:
                    _run_in_thread(lambda: upgrade_async(_pg_url(name)))
                except BaseException as exc:
                    self.error = exc
                    raise
        if self.error is not None:
            _unavailable("PostgreSQL", self.error)
        assert self.name is not None
        return self.name

    def drop(self) -> None:
        if self.name is not None:
            name, self.name = self.name, None
            _run_in_thread(lambda: _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[_PostgresTemplate]:
    template = _PostgresTemplate()
    yield template
    template.drop()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("loa-template") / "loa.db"
    _run_in_thread(lambda: upgrade_async(f"sqlite+aiosqlite:///{path}"))
    return path


def _copy_sqlite(template: Path, target: Path) -> None:
    # WAL mode: the -wal file (if any) holds committed pages not yet in the main file.
    for suffix in ("", "-wal", "-shm"):
        source = template.with_name(template.name + suffix)
        if source.exists():
            shutil.copyfile(source, target.with_name(target.name + suffix))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _sqlite_template: Path,
    _postgres_template: _PostgresTemplate,
) -> AsyncIterator[str]:
    """The URL of a fresh, migrated, empty database for this test alone."""
    if request.param == "sqlite":
        path = tmp_path / "loa.db"
        _copy_sqlite(_sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = _postgres_template.get()
    name = f"loa_test_{secrets.token_hex(6)}"
    # The default WAL-logged copy needs no checkpoint, so it stays quick on a busy server.
    await _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _pg_url(name)
    finally:
        await _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session; whatever the test did not commit is rolled back at the end."""
    async with sessionmaker() as session:
        yield session


# --- Redis -------------------------------------------------------------------------------

_REDIS_CLAIM = "loa:test:claimed"


async def _claim_redis_index() -> str:
    indexes = list(range(1, 16))
    secrets.SystemRandom().shuffle(indexes)
    for index in indexes:
        url = f"{REDIS_URL}/{index}"
        client = aioredis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
        try:
            if not await client.set(_REDIS_CLAIM, "1", nx=True, ex=3600):
                continue
            if await client.dbsize() == 1:
                return url
            await client.delete(_REDIS_CLAIM)  # in use by something else: leave it alone
        except (OSError, RedisError) as exc:
            _unavailable("Redis", exc)
        finally:
            await client.aclose()
    pytest.skip("no free Redis database index (1-15)")


@pytest.fixture(params=[pytest.param("redis", id="redis", marks=pytest.mark.redis)])
async def redis_url() -> AsyncIterator[str]:
    """The URL of a Redis database index (1-15) this test has to itself; flushed after.

    An index is claimed with a marker key (SET NX), so concurrent test runs on the same
    Redis do not flush each other's data.
    """
    url = await _claim_redis_index()
    try:
        yield url
    finally:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
        try:
            await client.flushdb()
        finally:
            await client.aclose()


# --- Bot tokens at rest ------------------------------------------------------------------

# The tests' Fernet key (a real deployment sets LOA_SECRET_KEY; see broadcasts/tokens.py).
TEST_SECRET_KEY = "SMjpLgltWId6okFXl1fTBYQ2e7Ra506_KxOu-I98YcU="


@pytest.fixture(autouse=True)
def token_key() -> Iterator[str]:
    """Every test may store bot tokens, as a process with LOA_SECRET_KEY set would."""
    use_token_key(TEST_SECRET_KEY)
    yield TEST_SECRET_KEY
    use_token_key(None)


def _aiosqlite_threads() -> list[threading.Thread]:
    return [
        t for t in threading.enumerate() if t.is_alive() and "_connection_worker_thread" in t.name
    ]


@pytest.fixture(autouse=True)
async def _aiosqlite_threads_settle() -> AsyncIterator[None]:
    """Before the test's loop closes, let every aiosqlite worker thread of the test finish.

    A connection that failed or was closed late hands its last result to the loop from its
    thread; if the loop is closed by then, the thread raises, and pytest reports it in
    whichever test runs next. Waiting here (a bounded number of loop turns; a thread that
    outlives a test is some other test's business) keeps each test's threads its own.
    """
    before = set(_aiosqlite_threads())
    yield
    for _ in range(300):
        if not [t for t in _aiosqlite_threads() if t not in before]:
            return
        await asyncio.sleep(0.01)
