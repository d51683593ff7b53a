"""Liveness, database reachability and whether the bot receives updates (no key).

A bot that is not receiving (getUpdates refused with 409, or no webhook) makes the status
"degraded" with HTTP 200: the API itself is up, and restarting it would not help.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SessionDep
from api.errors import problem_responses
from api.schemas import BotHealth, Health

router = APIRouter(tags=["health"])

BotHealthSource = Callable[[], BotHealth]


@router.get(
    "/health",
    summary="Is the API up, the database reachable, the bot receiving?",
    responses=problem_responses(503),
)
async def health(session: SessionDep, request: Request) -> Health:
    try:
        await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise HTTPException(503, f"the database is not reachable: {type(exc).__name__}") from exc
    source: BotHealthSource | None = request.app.state.bot_health
    bot = source() if source is not None else None
    status = "ok" if bot is None or bot.receiving else "degraded"
    return Health(status=status, database="ok", bot=bot)
