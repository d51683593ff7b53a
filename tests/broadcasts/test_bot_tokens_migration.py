"""The 0004 migration encrypts the tokens stored in clear before it, or stops without a key."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.migrate import upgrade
from broadcasts.models import BotAccount
from broadcasts.tokens import use_token_key

PLAIN = "760001:TokenStoredInClearBefore"


def _old_database(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0002_webhook")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO bot_account (transport, token, username, created_at) "
            "VALUES ('telegram', ?, 'loa760001_bot', '2026-11-01 00:00:00.000000')",
            (PLAIN,),
        )
    return url, path


def _raw(path: Path) -> tuple[str, str]:
    with sqlite3.connect(path) as db:
        token, digest = db.execute("SELECT token, token_hash FROM bot_account").fetchone()
    return str(token), str(digest)


async def _read(url: str) -> str:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return (await session.scalars(select(BotAccount))).one().token
    finally:
        await engine.dispose()


def test_tokens_in_clear_are_encrypted_by_the_upgrade(tmp_path: Path, token_key: str) -> None:
    url, path = _old_database(tmp_path)
    upgrade(url)
    token, digest = _raw(path)
    assert token != PLAIN and token.startswith("gAAAAA")
    assert digest == hashlib.sha256(PLAIN.encode()).hexdigest()
    assert asyncio.run(_read(url)) == PLAIN


def test_the_upgrade_stops_without_a_key(
    tmp_path: Path, token_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, path = _old_database(tmp_path)
    use_token_key(None)
    monkeypatch.delenv("LOA_SECRET_KEY", raising=False)
    with pytest.raises(SystemExit, match="LOA_SECRET_KEY"):
        upgrade(url)
    with sqlite3.connect(path) as db:  # nothing changed
        assert db.execute("SELECT token FROM bot_account").fetchone() == (PLAIN,)
    monkeypatch.setenv("LOA_SECRET_KEY", token_key)  # the key from the environment
    upgrade(url)
    use_token_key(token_key)
    assert _raw(path)[0] != PLAIN and asyncio.run(_read(url)) == PLAIN
