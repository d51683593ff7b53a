"""Liveness and database reachability, for load balancers and uptime checks (no key)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SessionDep
from api.errors import problem_responses
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health", summary="Is the API up and the database reachable?", responses=problem_responses(503)
)
async def health(session: SessionDep) -> Health:
    try:
        await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise HTTPException(503, f"the database is not reachable: {type(exc).__name__}") from exc
    return Health(status="ok", database="ok")
