"""Wrong codes are limited: per person and per group, with a cooling-off period.

Invite and registration codes are 8 characters from 32 (about 10^12): guessing one takes
many tries, so after `max_attempts` wrong codes within `window_seconds` from one person
or in one group, no code is read from them (not even the right one) for
`cooloff_seconds`. Failures are written in a transaction of their own: the attempt's own
transaction rolls back with the refused code, the count must not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.errors import CodeRejected, TooManyAttempts
from broadcasts.models import CodeAttempt, utcnow
from broadcasts.settings import CodeSettings


class CodeAttempts:
    """Counts wrong codes by who typed them (`"telegram:user:42"`, `"telegram:chat:-100"`)."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: CodeSettings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock

    @asynccontextmanager
    async def guard(self, *who: str) -> AsyncIterator[None]:
        """Refuse at once while any of `who` cools off (TooManyAttempts); count a
        CodeRejected raised inside against each of them."""
        await self.check(*who)
        try:
            yield
        except TooManyAttempts:
            raise
        except CodeRejected:
            await self.failed(*who)
            raise

    async def check(self, *who: str) -> None:
        now = self._clock()
        async with session_scope(self._sessionmaker) as session:
            rows = await session.scalars(
                select(CodeAttempt).where(
                    col(CodeAttempt.who).in_(who), col(CodeAttempt.blocked_until) > now
                )
            )
            until = max((r.blocked_until for r in rows if r.blocked_until), default=None)
        if until is not None:
            raise TooManyAttempts("too many wrong codes", until=until)

    async def failed(self, *who: str) -> None:
        now = self._clock()
        window = timedelta(seconds=self._settings.window_seconds)
        async with session_scope(self._sessionmaker) as session:
            for key in who:
                row = await session.get(CodeAttempt, key[:80])
                if row is None:
                    row = CodeAttempt(who=key[:80], failures=0, window_start=now)
                if now - row.window_start > window:
                    row.failures, row.window_start = 0, now
                row.failures += 1
                if row.failures >= self._settings.max_attempts:
                    row.blocked_until = now + timedelta(seconds=self._settings.cooloff_seconds)
                    row.failures, row.window_start = 0, now
                session.add(row)
