"""Per-update context: a database session (committed once per update) and who is writing.

At most `session_concurrency` updates hold a session at once (a semaphore), below the
database pool: without a bound, a burst of updates became that many sessions and
exhausted the pool (lost presses, answers too late for Telegram). A press of Đã nhận
takes no session here: `broadcasts.ack_batch` writes presses many to a transaction with
its own session, so a storm of presses never waits behind the officials' screens, nor
they behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.officials import get_official_by_user
from broadcasts.settings import TelegramSettings
from broadcasts.transports.telegram_wire import parse_ack_data


def is_ack_press(event: TelegramObject) -> bool:
    """A press of the Đã nhận button (by its callback data; the handler checks the rest)."""
    query = event.callback_query if isinstance(event, Update) else None
    return query is not None and parse_ack_data(query.data or "") is not None


class DbSessionMiddleware(BaseMiddleware):
    """Opens one session per update and finds the official behind it, if any."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        concurrency: int = TelegramSettings.model_fields["session_concurrency"].default,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._turns = asyncio.Semaphore(concurrency)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if is_ack_press(event):
            # Said in the group's language (the default), whoever presses: no lookup.
            data["official"] = None
            return await handler(event, data)
        async with self._turns, session_scope(self._sessionmaker) as session:
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
