"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL through the same code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

POOL_SIZE, MAX_OVERFLOW = 10, 20  # connections kept, and opened beyond them at peaks


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def is_postgres(engine_or_url: AsyncEngine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("postgresql")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API and the bot read while the delivery worker writes;
    # busy_timeout makes writers queue instead of failing with "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    # Bound values never reach logs or error messages: they hold invite codes, sealed
    # tokens and residents' names (SQLAlchemy logs statements at DEBUG/INFO).
    if is_sqlite(url):
        # The same pool as PostgreSQL's (SQLAlchemy's default for SQLite is 5 + 10): the
        # bot's updates take up to `LOA_TELEGRAM__SESSION_CONCURRENCY` (10) at once, the
        # live-message renders 4, the press batch, the worker and the scheduler one each,
        # and the API its requests'.
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30},
            hide_parameters=True,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_pre_ping=True,
        hide_parameters=True,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits on success and rolls back on any error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
