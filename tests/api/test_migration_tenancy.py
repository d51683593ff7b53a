"""Migration 0003_tenancy: matches the models, goes down and up again, and marks a
bootstrap key stored the old way."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from broadcasts.db import make_engine
from broadcasts.migrate import alembic_config, upgrade_async

TABLES = {"api_key", "audit_event"}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    diffs = compare_metadata(context, SQLModel.metadata)
    found = []
    for diff in diffs:
        items = diff if isinstance(diff, list) else [diff]
        for item in items:
            names = {getattr(part, "name", None) for part in item if hasattr(part, "name")}
            tables = {getattr(getattr(part, "table", None), "name", None) for part in item}
            if (names | tables | {p for p in item if isinstance(p, str)}) & TABLES:
                found.append(item)
    return found


async def test_down_up_and_the_old_bootstrap_row(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0002_webhook")
        async with engine.begin() as conn:
            columns = "name, prefix, key_hash, scopes, created_at"
            await conn.execute(
                text(
                    f"INSERT INTO api_key ({columns}) VALUES "
                    "('bootstrap', 'x1234567', 'abc', 'admin', CURRENT_TIMESTAMP), "
                    "('ops', 'k3x9q2ab', 'def', 'admin', CURRENT_TIMESTAMP)"
                )
            )
        await upgrade_async(database_url)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT name, bootstrap, ward_id FROM api_key"))).all()
            assert sorted((n, bool(b), w) for n, b, w in rows) == [
                ("bootstrap", True, None),
                ("ops", False, None),
            ]
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()
