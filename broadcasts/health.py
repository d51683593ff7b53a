"""Which parts of Loa are doing their job: heartbeats in the database, read by `/health`.

Each delivery worker writes a beat ("worker") every `LOA_HEALTH__BEAT_SECONDS`; the
process that receives a bot's updates writes one ("bot") while its getUpdates (or its
webhook) works. They go to the database, not to memory, because in a scale-out the API,
the bot and the workers are different processes, often on different machines: any API
process can then tell whether anyone delivers and anyone receives.

A part is "ok" when some process beat within `LOA_HEALTH__STALE_SECONDS`, "stale" when
the last beat is older (its processes died, hung, or lost the database), and "none" when
no process of that kind has ever beaten (not deployed, or stopped cleanly: a worker that
stops removes its row). What is required (503) and what only degrades (200) is decided
in `judge`, explained there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.models import Delivery, DeliveryStatus, ProcessHeartbeat

if TYPE_CHECKING:  # the delivery package imports this module (its worker beats)
    from broadcasts.delivery.clock import Clock

log = logging.getLogger(__name__)

Role = Literal["worker", "bot"]
PartState = Literal["ok", "stale", "none"]
# A row nobody has renewed for this long belongs to a process long gone: dropped.
_FORGET_AFTER = timedelta(days=1)


class PartHealth(BaseModel):
    state: PartState = Field(
        description="ok: a process beat recently; stale: the last beat is too old; "
        "none: no such process has ever beaten (or all stopped cleanly)"
    )
    age_seconds: float | None = Field(description="seconds since the latest beat; null: none")
    processes: int = Field(description="processes that beat within the stale window")


class DeliveringHealth(PartHealth):
    oldest_due_age_seconds: float = Field(
        description="how long the oldest due delivery has waited for a worker (0: none due)"
    )


class Parts(BaseModel):
    receiving: PartHealth
    delivering: DeliveringHealth


async def record_beat(*, session: AsyncSession, role: Role, process_id: str, now: datetime) -> None:
    """Upsert this process's beat; the caller commits."""
    values: dict[str, Any] = {"process_id": process_id, "role": role, "beat_at": now}
    dialect = session.get_bind().dialect.name
    table = ProcessHeartbeat.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).values(**values)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values)
    else:
        raise NotImplementedError(f"heartbeats are not supported on {dialect}")
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["process_id"], set_={"role": role, "beat_at": now}
        )
    )


async def forget_beat(*, session: AsyncSession, process_id: str) -> None:
    """A process that stops cleanly takes its row away (it is not stale: it is gone)."""
    await session.execute(
        delete(ProcessHeartbeat).where(col(ProcessHeartbeat.process_id) == process_id)
    )


async def keep_beating(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    role: Role,
    process_id: str,
    every: float,
    clock: Clock,
    is_doing: Callable[[], bool] = lambda: True,
) -> None:
    """Beat every `every` seconds while `is_doing()` says the part works, until
    cancelled; the first beat is at once. A failed write is logged and retried next beat."""
    while True:
        if is_doing():
            try:
                async with session_scope(sessionmaker) as session:
                    now = clock.now()
                    await record_beat(session=session, role=role, process_id=process_id, now=now)
                    await session.execute(
                        delete(ProcessHeartbeat).where(
                            col(ProcessHeartbeat.beat_at) < now - _FORGET_AFTER
                        )
                    )
            except SQLAlchemyError:
                log.exception("writing the %s heartbeat failed", role)
        await clock.sleep(every)


async def _part(
    session: AsyncSession, role: Role, now: datetime, stale_seconds: float
) -> PartHealth:
    since = now - timedelta(seconds=stale_seconds)
    latest, processes = (
        await session.execute(
            select(
                func.max(col(ProcessHeartbeat.beat_at)),
                func.count().filter(col(ProcessHeartbeat.beat_at) >= since),
            ).where(col(ProcessHeartbeat.role) == role)
        )
    ).one()
    if latest is None:
        return PartHealth(state="none", age_seconds=None, processes=0)
    age = _seconds(now, latest)
    return PartHealth(
        state="ok" if age <= stale_seconds else "stale",
        age_seconds=round(age, 3),
        processes=int(processes),
    )


def _seconds(now: datetime, then: datetime) -> float:
    if then.tzinfo is None:  # SQLite hands back naive UTC
        then = then.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - then).total_seconds())


async def read_parts(*, session: AsyncSession, now: datetime, stale_seconds: float) -> Parts:
    """The receiving and delivering parts as the heartbeats and the queue show them."""
    oldest = await session.scalar(
        select(func.min(col(Delivery.next_attempt_at))).where(
            col(Delivery.status) == DeliveryStatus.pending, col(Delivery.next_attempt_at) <= now
        )
    )
    delivering = await _part(session, "worker", now, stale_seconds)
    return Parts(
        receiving=await _part(session, "bot", now, stale_seconds),
        delivering=DeliveringHealth(
            **delivering.model_dump(),
            oldest_due_age_seconds=round(_seconds(now, oldest), 3) if oldest else 0.0,
        ),
    )


Verdict = Literal["ok", "degraded", "down"]


def judge(parts: Parts, *, stale_seconds: float, bot_receiving: bool | None = None) -> Verdict:
    """What the parts add up to (the database answered, or there would be no parts).

    Required, "down" (503): delivering. Not a fresh worker beat alone: deliveries waiting
    for a worker for longer than the stale window while no worker beats, which is the
    one state where a notice a ward sent is not going out and someone must act.

    Degraded (200): a stale part (workers or bot fronts that beat before and stopped: the
    next notice would wait, or officials' messages are not read), or this process's own
    bot not receiving (`bot_receiving`, e.g. getUpdates refused with 409). The API still
    works, and restarting it would not help. "none" is not degraded: a deployment without
    that kind of process (an API-only host, a test) is not broken for lacking it.
    """
    delivering = parts.delivering
    if delivering.state != "ok" and delivering.oldest_due_age_seconds > stale_seconds:
        return "down"
    if "stale" in (delivering.state, parts.receiving.state) or bot_receiving is False:
        return "degraded"
    return "ok"
