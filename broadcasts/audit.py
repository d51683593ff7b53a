"""The audit log: who did what, written in the same transaction as the change itself.

Every mutating API route and domain step an admin triggers records one event, so the log
and the data cannot disagree (a rolled-back change leaves no event either).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from broadcasts.models import AuditEvent, utcnow
from broadcasts.tenancy import CITY, Tenant


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    ward_id: int | None = None


def _jsonable(value: object) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


async def record(
    *,
    session: AsyncSession,
    actor: str,
    action: str,
    subject: str = "",
    ward_id: int | None = None,
    **detail: object,
) -> AuditEvent:
    """Add an event to the caller's transaction; `detail` is stored as JSON.

    `ward_id` is the ward the subject lies in: that ward's keys read the event; without
    it only city keys do."""
    event = new_event(actor=actor, action=action, subject=subject, ward_id=ward_id, **detail)
    session.add(event)
    await session.flush()
    return event


def new_event(
    *, actor: str, action: str, subject: str = "", ward_id: int | None = None, **detail: object
) -> AuditEvent:
    """The event `record` adds, for a caller that adds many at once (`session.add_all`)."""
    return AuditEvent(
        **event_row(actor=actor, action=action, subject=subject, ward_id=ward_id, **detail)
    )


def event_row(
    *, actor: str, action: str, subject: str = "", ward_id: int | None = None, **detail: object
) -> dict[str, Any]:
    """The same event as a plain row, for `add_rows` (no ORM object: a batch of presses
    writes a thousand at once)."""
    return {
        "at": utcnow(),
        "actor": actor[:100],
        "action": action[:100],
        "subject": subject[:100],
        "detail": {k: _jsonable(v) for k, v in detail.items()},
        "ward_id": ward_id,
    }


async def add_rows(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Write `event_row`s in the caller's transaction: one INSERT sent as an executemany."""
    if rows:
        await session.execute(insert(AuditEvent.__table__), rows)  # type: ignore[attr-defined]


async def list_events(
    *,
    session: AsyncSession,
    action: str | None = None,
    subject: str | None = None,
    offset: int = 0,
    limit: int = 50,
    within: Tenant = CITY,
) -> tuple[list[AuditEvent], int]:
    """Newest first, optionally only one action (`area.create`) or subject (`area:BT`);
    a ward sees the events of its own ward only."""
    query = select(AuditEvent).where(within.ward_condition(AuditEvent.ward_id))
    if action:
        query = query.where(col(AuditEvent.action) == action)
    if subject:
        query = query.where(col(AuditEvent.subject) == subject)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total or 0
