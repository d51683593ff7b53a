"""Follow-up delivery rows (reminders, corrections, recalls): queueing them, and how far
the latest round has come. One place for the row's shape, whoever queues it
(`broadcasts.reminders`, `broadcasts.corrections`).

A follow-up copies from its notice delivery (the parent) what the engine needs to act on
the sent message: its ids (`target_refs`) and when it went out (`target_sent_at`). Each
channel's follow-ups of one kind are numbered by `round` per occurrence, so the same notice
may be reminded or corrected more than once.

A recall reaches further than the other follow-ups: every notice delivery that left a
message in its group (`recall_parents`: sent, or stopped part-way with some parts out),
whenever that is recorded. The recall itself queues those known when it runs; a delivery
recorded later (the provider took it while the recall ran) gets its own recall from the
recorder (`queue_late_recalls`), so none is missed and none recalled twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import and_, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.models import Delivery, DeliveryKind, DeliveryStatus, Notice, utcnow

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
            # A delivery stopped part-way has no sending time: its last try is the nearest.
            "target_sent_at": p.sent_at or p.updated_at,
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


_LEFT_IN_GROUP = (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.cancelled)


async def recall_parents(
    session: AsyncSession,
    *,
    notice_ids: Collection[int],
    delivery_ids: Collection[int] | None = None,
) -> list[Delivery]:
    """The notice deliveries of `notice_ids` (of those, `delivery_ids` only) that left a
    message in their group and are settled, and have no recall yet."""
    recall = Delivery.__table__.alias("recall")  # type: ignore[attr-defined]
    recalled_already = exists().where(
        recall.c.notice_id == col(Delivery.notice_id),
        recall.c.kind == DeliveryKind.recall,
        recall.c.parent_id == col(Delivery.id),
    )
    query = select(Delivery).where(
        col(Delivery.notice_id).in_(sorted(notice_ids)),
        col(Delivery.kind) == DeliveryKind.notice,
        col(Delivery.status).in_(_LEFT_IN_GROUP),
        col(Delivery.provider_message_ref).is_not(None),
        col(Delivery.provider_message_ref) != "",
        ~recalled_already,
    )
    if delivery_ids is not None:
        query = query.where(col(Delivery.id).in_(sorted(delivery_ids)))
    return list(await session.scalars(query.order_by(col(Delivery.id))))


async def queue_late_recalls(
    session: AsyncSession, *, deliveries: Mapping[int, Collection[int]]
) -> int:
    """A recall for each of these notice deliveries (by notice id), just recorded as
    having sent something, whose notice was recalled meanwhile; the caller commits. One
    query on the notices' keys when none was recalled, the usual case."""
    if not deliveries:
        return 0
    recalled = sorted(
        notice_id
        for notice_id in await session.scalars(
            select(col(Notice.id)).where(
                col(Notice.id).in_(sorted(deliveries)), col(Notice.recalled_at).is_not(None)
            )
        )
        if notice_id is not None
    )
    count = 0
    for notice_id in recalled:
        parents = await recall_parents(
            session, notice_ids=[notice_id], delivery_ids=deliveries[notice_id]
        )
        count += await queue_follow_ups(
            session, notice_id=notice_id, kind=DeliveryKind.recall, parents=parents
        )
    return count


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
