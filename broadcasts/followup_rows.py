"""Follow-up delivery rows (reminders, corrections, recalls): queueing them, and how far
the latest round has come. One place for the row's shape, whoever queues it
(`broadcasts.reminders`, `broadcasts.corrections`).

A follow-up copies from its notice delivery (the parent) what the engine needs to act on
the sent message: its ids (`target_refs`) and when it went out (`target_sent_at`). Each
channel's follow-ups of one kind are numbered by `round` per occurrence, so the same notice
may be reminded or corrected more than once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.models import Delivery, DeliveryKind, DeliveryStatus, utcnow

_CHUNK = 5000


async def queue_follow_ups(
    session: AsyncSession,
    *,
    notice_id: int,
    kind: DeliveryKind,
    parents: Iterable[Delivery],
    priority: int | None = None,
) -> int:
    """Insert one `kind` row per parent (a sent notice delivery), each in the next round
    of its channel and occurrence; `priority` overrides the parent's. Returns how many."""
    parents = list(parents)
    if not parents:
        return 0
    rounds = {
        (channel_id, occurrence): int(last or 0)
        for channel_id, occurrence, last in await session.execute(
            select(
                col(Delivery.channel_id), col(Delivery.occurrence), func.max(col(Delivery.round))
            )
            .where(col(Delivery.notice_id) == notice_id, col(Delivery.kind) == kind)
            .group_by(col(Delivery.channel_id), col(Delivery.occurrence))
        )
    }
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "notice_id": notice_id,
            "channel_id": p.channel_id,
            "bot_id": p.bot_id,
            "occurrence": p.occurrence,
            "kind": kind,
            "round": rounds.get((p.channel_id, p.occurrence), 0) + 1,
            "parent_id": p.id,
            "target_refs": p.provider_message_ref,
            "target_sent_at": p.sent_at,
            "locale": p.locale,
            "priority": p.priority if priority is None else priority,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            "next_attempt_at": now,
            "updated_at": now,
        }
        for p in parents
    ]
    for start in range(0, len(rows), _CHUNK):
        await session.execute(insert(Delivery), rows[start : start + _CHUNK])
    await session.flush()
    return len(rows)


async def latest_round_counts(
    session: AsyncSession,
    *,
    notice_id: int,
    kind: DeliveryKind,
    occurrence: int | None = None,
) -> dict[DeliveryStatus, int]:
    """The statuses of the latest round of `kind` in each channel (of one occurrence, or
    of all): «Đính chính: 8/12 nhóm», «Đã nhắc 5/6 nhóm»."""
    scope = [col(Delivery.notice_id) == notice_id, col(Delivery.kind) == kind]
    if occurrence is not None:
        scope.append(col(Delivery.occurrence) == occurrence)
    latest = (
        select(
            col(Delivery.channel_id),
            col(Delivery.occurrence),
            func.max(col(Delivery.round)).label("last"),
        )
        .where(*scope)
        .group_by(col(Delivery.channel_id), col(Delivery.occurrence))
        .subquery()
    )
    counts: dict[DeliveryStatus, int] = defaultdict(int)
    for status, count in await session.execute(
        select(col(Delivery.status), func.count())
        .join(
            latest,
            and_(
                latest.c.channel_id == col(Delivery.channel_id),
                latest.c.occurrence == col(Delivery.occurrence),
                latest.c.last == col(Delivery.round),
            ),
        )
        .where(*scope)
        .group_by(col(Delivery.status))
    ):
        counts[DeliveryStatus(status)] += int(count)
    return counts
