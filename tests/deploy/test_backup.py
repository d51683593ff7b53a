"""deploy/backup: a dump with loa-backup.sh, restored with loa-restore.sh into a fresh
PostgreSQL database, keeps every notice and every acknowledgement, row for row."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.models import Acknowledgement, Delivery, DeliveryStatus, Notice, Rendition
from tests.api.factories import add_ack, add_bot, add_channels, add_notice, seed_tree
from tests.conftest import _pg_execute

BACKUP = Path(__file__).parents[2] / "deploy" / "backup"


async def _rows(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    async with sessionmaker() as session:
        tables = {}
        for model in (Notice, Rendition, Delivery, Acknowledgement):
            rows = (await session.execute(select(model.__table__))).all()  # type: ignore[attr-defined]
            tables[model.__tablename__] = sorted(repr(tuple(r)) for r in rows)  # type: ignore[attr-defined]
        return tables


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        channels = await add_channels(
            session, await add_bot(session), [areas["BT-KP1"], areas["BT-KP2"], areas["TD-A1"]]
        )
        for n in range(3):
            notice, deliveries = await add_notice(
                session, areas["BT"], channels, [DeliveryStatus.sent] * 3, targets=[areas["BT"]]
            )
            notice.text = f"Thông báo số {n}: cúp điện, «đường Lê Lợi» — 7 giờ 30."
            session.add(Rendition(notice_id=notice.id or 0, locale="vi", text=notice.text))
            for delivery in deliveries[: n + 1]:
                await add_ack(session, delivery, f"person-{n}-{delivery.id}")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_backup_restores_every_notice_and_acknowledgement(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore are not installed (postgresql-client)")
    await _seed(sessionmaker)
    before = await _rows(sessionmaker)
    assert len(before["notice"]) == 3 and len(before["acknowledgement"]) == 1 + 2 + 3
    files = tmp_path / "attachments"
    (files / "ab").mkdir(parents=True)
    (files / "ab" / "abcdef").write_bytes(b"%PDF-1.4 test")
    env = {
        **os.environ,
        "LOA_DATABASE_URL": database_url,
        "LOA_BACKUP_DIR": str(tmp_path / "backups"),
        "LOA_ATTACHMENTS__DIR": str(files),
    }
    made = subprocess.run(
        [str(BACKUP / "loa-backup.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    dump = Path(made.stdout.strip())
    assert dump.is_file() and dump.parent == tmp_path / "backups"
    assert list((tmp_path / "backups").glob("attachments-*.tar.gz"))
    assert oct(dump.stat().st_mode & 0o777) == "0o600"

    fresh = f"loa_restore_{secrets.token_hex(6)}"
    await _pg_execute(f'CREATE DATABASE "{fresh}"')
    try:
        url = make_url(database_url).set(database=fresh).render_as_string(hide_password=False)
        restored = subprocess.run(
            [str(BACKUP / "loa-restore.sh"), str(dump), url],
            capture_output=True,
            text=True,
            check=False,
        )
        assert restored.returncode == 0, restored.stderr
        engine = make_engine(url)
        try:
            assert await _rows(make_sessionmaker(engine)) == before
        finally:
            await engine.dispose()
    finally:
        await _pg_execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


def test_the_backup_refuses_a_database_that_is_not_postgresql(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BACKUP / "loa-backup.sh")],
        env={
            **os.environ,
            "LOA_DATABASE_URL": "sqlite+aiosqlite:///loa.db",
            "LOA_BACKUP_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "not a PostgreSQL URL" in done.stderr
    assert not list(tmp_path.iterdir())
