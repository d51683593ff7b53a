"""Is Loa up, receiving updates and delivering? (no key)

Three parts: "up" (this API answers and the database too), "receiving" (some process
receives the bots' updates: its heartbeat), "delivering" (some delivery worker beats). The
heartbeats are rows in the database (`broadcasts.health`), so any API process sees the
whole deployment; `bot` adds what this process's own bot sees (getUpdates or webhook).

503 when the database does not answer, or when delivering is down: deliveries have been
due longer than `LOA_HEALTH__STALE_SECONDS` and no worker beats. A stale part otherwise,
or a bot that is not receiving (getUpdates refused with 409, or no webhook), makes the
status "degraded" with HTTP 200: the API itself is up, and restarting it would not help.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ServicesDep, SessionDep
from api.errors import problem_responses
from api.schemas import BotHealth, Health
from broadcasts.health import judge, read_parts
from broadcasts.models import utcnow

router = APIRouter(tags=["health"])

BotHealthSource = Callable[[], BotHealth]


@router.get(
    "/health",
    summary="Is the API up, the database reachable, the bot receiving, a worker delivering?",
    responses=problem_responses(503),
)
async def health(session: SessionDep, request: Request, services: ServicesDep) -> Health:
    stale = services.settings.health.stale_seconds
    try:
        await session.execute(text("SELECT 1"))
        parts = await read_parts(session=session, now=utcnow(), stale_seconds=stale)
    except (SQLAlchemyError, OSError) as exc:
        raise HTTPException(503, f"the database is not reachable: {type(exc).__name__}") from exc
    source: BotHealthSource | None = request.app.state.bot_health
    bot = source() if source is not None else None
    verdict = judge(parts, stale_seconds=stale, bot_receiving=bot.receiving if bot else None)
    if verdict == "down":
        age = parts.delivering.oldest_due_age_seconds
        raise HTTPException(
            503,
            f"nothing is delivering: a delivery has waited {age:.0f}s and no delivery worker "
            f"has beaten in the last {stale:g}s",
        )
    return Health(
        status=verdict,
        database="ok",
        receiving=parts.receiving,
        delivering=parts.delivering,
        bot=bot,
    )
