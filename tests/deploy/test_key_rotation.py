"""`loa rotate-key`: after LOA_SECRET_KEY becomes «new,old», every stored bot token is
sealed with the new key, so the old one can be dropped; a key that opens nothing changes
nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.models import BotAccount
from broadcasts.tokens import use_token_key

LOA = Path(sys.executable).with_name("loa")


def _loa(database_url: str, keys: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOA_DATABASE_URL": database_url, "LOA_SECRET_KEY": keys}
    return subprocess.run(
        [str(LOA), "rotate-key"], env=env, capture_output=True, text=True, check=False
    )


async def _sealed(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.execute(text("SELECT token FROM bot_account ORDER BY id"))
        return [r[0] for r in rows]


async def test_rotate_key_reseals_every_token(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], token_key: str
) -> None:
    tokens = ["700:first-bot-token", "701:second-bot-token"]
    async with session_scope(sessionmaker) as session:
        session.add_all(BotAccount(token=t, username=f"bot{i}") for i, t in enumerate(tokens))
    old_sealed = await _sealed(sessionmaker)
    new = Fernet.generate_key().decode()

    wrong = _loa(database_url, Fernet.generate_key().decode())  # opens none of them
    assert wrong.returncode == 2 and "nothing was changed" in wrong.stderr
    assert await _sealed(sessionmaker) == old_sealed

    done = _loa(database_url, f"{new},{token_key}")
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 2 bot tokens" in done.stdout
    sealed = await _sealed(sessionmaker)
    assert all(s != o for s, o in zip(sealed, old_sealed, strict=True))
    assert [Fernet(new.encode()).decrypt(s.encode()).decode() for s in sealed] == tokens
    use_token_key(new)  # the old key is gone: every token still reads
    async with sessionmaker() as session:
        assert (
            list(await session.scalars(select(BotAccount.token).order_by(BotAccount.id))) == tokens
        )
