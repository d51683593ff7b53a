"""Per-update context: a database session (committed once per update) and who is writing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.officials import get_official_by_user


class DbSessionMiddleware(BaseMiddleware):
    """Opens one session per update and finds the official behind it, if any."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with session_scope(self._sessionmaker) as session:
            data["session"] = session
            user: User | None = data.get("event_from_user")
            official = (
                await get_official_by_user(
                    session=session, transport="telegram", user_ref=str(user.id)
                )
                if user is not None
                else None
            )
            services = data.get("services")
            if official is not None and services is not None and services.ward_id is not None:
                # Officials belong to the bot's ward: another ward's bot does not know them.
                official = official if official.ward_id == services.ward_id else None
            if official is not None:
                # Detached, so that a rollback cannot expire it under the error handler.
                session.expunge(official)
            data["official"] = official
            return await handler(event, data)
