"""Who has not acknowledged a notice, reminders to them, and escalation at the deadline.

One occurrence of a notice at a time (default: the latest fired). Each of its `notice`
deliveries is a group in one of four states (`GroupState`): acknowledged (someone pressed
«Đã nhận»: the first presser, when, and whether the group's registered leader did),
silent (sent, nobody pressed), failed (with the reason's `FailureKind`) or waiting (not
sent yet). `notice_acks_by_area` groups them by khu phố (the area under the ward on the
channel's path, so a tổ's group shows under its khu phố), for the bot's status message,
the API and the escalation summary.

`remind_silent` queues one `reminder` delivery per silent group: a row the delivery
engine sends like the notice itself (`broadcasts.delivery.remind`), as a reply to the
notice's message with the same button. A group that acknowledges before its reminder
goes out is skipped by the engine (recorded `cancelled`). A group with a reminder still
queued gets no second one, so pressing «Nhắc» twice reminds once.

What happens at a deadline is `broadcasts.escalation`; the API's lists are
`broadcasts.ack_lists`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts.errors import Conflict
from broadcasts.failures import Failure, classify
from broadcasts.followup_rows import latest_round_counts, queue_follow_ups
from broadcasts.models import (
    Acknowledgement,
    Area,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeStatus,
)
from broadcasts.notices import URGENT_PRIORITY, get_notice
from broadcasts.tenancy import CITY, Tenant


class GroupState(StrEnum):
    acknowledged = "acknowledged"
    silent = "silent"  # sent, nobody has pressed «Đã nhận»
    failed = "failed"
    waiting = "waiting"  # not sent yet (pending or being sent)
    cancelled = "cancelled"


@dataclass(frozen=True, slots=True)
class GroupAcks:
    """One group (channel) of the occurrence and where it stands."""

    channel_id: int
    delivery_id: int
    area_code: str
    area_name: str  # the channel's own area («Tổ dân phố 5»)
    chat_title: str
    state: GroupState
    transport: str = "telegram"  # the channel's platform (`transports.base.TRANSPORTS`)
    sent_at: datetime | None = None
    first_name: str = ""  # the first presser
    first_at: datetime | None = None
    first_by_leader: bool = False
    leader_acknowledged: bool = False  # the leader pressed (first or later)
    people: int = 0
    reason: str = ""  # a failure as stored (for logs and the API)
    failure: Failure | None = None  # … and its kind, for a plain sentence


@dataclass(slots=True)
class AreaAcks:
    """A khu phố (or the ward itself, for a ward-wide group) and its groups."""

    area_code: str
    area_name: str
    contact_name: str = ""
    contact_ref: str | None = None
    groups: list[GroupAcks] = field(default_factory=list)

    def _in(self, state: GroupState) -> list[GroupAcks]:
        return [g for g in self.groups if g.state is state]

    @property
    def acknowledged(self) -> list[GroupAcks]:
        return self._in(GroupState.acknowledged)

    @property
    def silent(self) -> list[GroupAcks]:
        return self._in(GroupState.silent)

    @property
    def failed(self) -> list[GroupAcks]:
        return self._in(GroupState.failed)

    @property
    def waiting(self) -> list[GroupAcks]:
        return self._in(GroupState.waiting)


@dataclass(slots=True)
class NoticeAcks:
    notice_id: int
    occurrence: int
    areas: list[AreaAcks] = field(default_factory=list)

    def count(self, state: GroupState) -> int:
        return sum(1 for a in self.areas for g in a.groups if g.state is state)

    @property
    def transports(self) -> list[str]:
        """The platforms of the groups, in the order first met."""
        return list(dict.fromkeys(g.transport for a in self.areas for g in a.groups))

    @property
    def total(self) -> int:
        return sum(len(a.groups) for a in self.areas)


async def latest_occurrence(*, session: AsyncSession, notice_id: int) -> int | None:
    """The latest occurrence with deliveries; None when the notice has none."""
    value = await session.scalar(
        select(func.max(col(Delivery.occurrence))).where(
            col(Delivery.notice_id) == notice_id, col(Delivery.kind) == DeliveryKind.notice
        )
    )
    return int(value) if value is not None else None


def khu_pho_code(path: str) -> str:
    """The khu phố a channel's area lies in: the code under the ward on its path (the
    area itself when it is the ward or a khu phố)."""
    codes = [c for c in path.split("/") if c]
    return codes[2] if len(codes) > 2 else codes[-1]


def _state(status: DeliveryStatus, acked: bool) -> GroupState:
    if acked:
        return GroupState.acknowledged
    return {
        DeliveryStatus.sent: GroupState.silent,
        DeliveryStatus.failed: GroupState.failed,
        DeliveryStatus.cancelled: GroupState.cancelled,
    }.get(status, GroupState.waiting)


async def notice_acks_by_area(
    *,
    session: AsyncSession,
    notice_id: int,
    occurrence: int | None = None,
    within: Tenant = CITY,
) -> NoticeAcks:
    """Every group of one occurrence (default: the latest) by khu phố, in tree order."""
    await get_notice(session=session, notice_id=notice_id, within=within)
    if occurrence is None:
        occurrence = await latest_occurrence(session=session, notice_id=notice_id) or 0
    rows = (
        await session.execute(
            select(
                col(Delivery.id),
                col(Delivery.channel_id),
                col(Delivery.status),
                col(Delivery.error),
                col(Delivery.sent_at),
                col(Channel.title),
                col(Channel.transport),
                col(Area.code),
                col(Area.name),
                col(Area.path),
            )
            .join(Channel, col(Channel.id) == col(Delivery.channel_id))
            .join(Area, col(Area.id) == col(Channel.area_id))
            .where(
                col(Delivery.notice_id) == notice_id,
                col(Delivery.occurrence) == occurrence,
                col(Delivery.kind) == DeliveryKind.notice,
            )
            .order_by(col(Area.path), col(Channel.id))
        )
    ).all()
    acks: dict[int, list[Acknowledgement]] = defaultdict(list)
    for ack in await session.scalars(
        select(Acknowledgement)
        .where(
            col(Acknowledgement.notice_id) == notice_id,
            col(Acknowledgement.occurrence) == occurrence,
        )
        .order_by(col(Acknowledgement.created_at), col(Acknowledgement.id))
    ):
        acks[ack.channel_id].append(ack)
    tops = {khu_pho_code(r.path) for r in rows}
    areas: dict[str, AreaAcks] = {
        a.code: AreaAcks(a.code, a.name, a.contact_name, a.contact_ref)
        for a in await session.scalars(select(Area).where(col(Area.code).in_(tops)))
    }
    for r in rows:
        pressed = acks.get(r.channel_id, [])
        state = _state(DeliveryStatus(r.status), bool(pressed))
        first = pressed[0] if pressed else None
        group = GroupAcks(
            channel_id=r.channel_id,
            delivery_id=r.id or 0,
            area_code=r.code,
            area_name=r.name,
            chat_title=r.title or "",
            state=state,
            transport=r.transport,
            sent_at=r.sent_at,
            first_name=first.person_name if first else "",
            first_at=first.created_at if first else None,
            first_by_leader=first.by_leader if first else False,
            leader_acknowledged=any(a.by_leader for a in pressed),
            people=len(pressed),
            reason=(r.error or "") if state is GroupState.failed else "",
            failure=classify(r.error or "") if state is GroupState.failed else None,
        )
        top = khu_pho_code(r.path)
        areas.setdefault(top, AreaAcks(top, top)).groups.append(group)
    return NoticeAcks(notice_id, occurrence, [a for a in areas.values() if a.groups])


@dataclass(frozen=True, slots=True)
class PendingChannel:
    """A channel the notice reached (sent) where nobody has acknowledged it yet."""

    delivery_id: int
    channel_id: int
    occurrence: int
    area_code: str
    area_name: str
    chat_title: str
    active: bool
    sent_at: datetime | None
    bot_id: int
    locale: str
    provider_message_ref: str | None
    transport: str = "telegram"


def _silent_query(notice_id: int, occurrence: int) -> Any:
    acked = exists().where(
        and_(
            col(Acknowledgement.notice_id) == notice_id,
            col(Acknowledgement.channel_id) == col(Delivery.channel_id),
            col(Acknowledgement.occurrence) == occurrence,
        )
    )
    return (
        select(Delivery, Channel, Area)
        .join(Channel, col(Channel.id) == col(Delivery.channel_id))
        .join(Area, col(Area.id) == col(Channel.area_id))
        .where(
            col(Delivery.notice_id) == notice_id,
            col(Delivery.occurrence) == occurrence,
            col(Delivery.kind) == DeliveryKind.notice,
            col(Delivery.status) == DeliveryStatus.sent,
            ~acked,
        )
        .order_by(col(Area.path), col(Channel.id))
    )


async def pending_channels(
    *,
    session: AsyncSession,
    notice_id: int,
    occurrence: int | None = None,
    within: Tenant = CITY,
) -> list[PendingChannel]:
    """The channels with a sent delivery of the occurrence (default: the latest) and no
    acknowledgement, in tree order."""
    await get_notice(session=session, notice_id=notice_id, within=within)
    if occurrence is None:
        occurrence = await latest_occurrence(session=session, notice_id=notice_id) or 0
    return [
        PendingChannel(
            delivery_id=d.id or 0,
            channel_id=d.channel_id,
            occurrence=d.occurrence,
            area_code=a.code,
            area_name=a.name,
            chat_title=c.title,
            active=c.active,
            sent_at=d.sent_at,
            bot_id=d.bot_id,
            locale=d.locale,
            provider_message_ref=d.provider_message_ref,
            transport=c.transport,
        )
        for d, c, a in await session.execute(_silent_query(notice_id, occurrence))
    ]


def _remindable(notice: Notice) -> None:
    """A `Conflict` (with a `reason` the fronts word) when the notice takes no reminder."""
    if notice.recalled_at is not None:
        raise Conflict(f"notice {notice.id} was recalled", reason="recalled", notice_id=notice.id)
    # A recurring notice waits "scheduled" between occurrences: the fired ones count.
    unsent = (
        notice.status in (NoticeStatus.draft, NoticeStatus.scheduled) and not notice.occurrences
    )
    if notice.status is NoticeStatus.cancelled or unsent:
        reason = "cancelled" if notice.status is NoticeStatus.cancelled else "not_sent"
        raise Conflict(
            f"notice {notice.id} is {notice.status.value}: there is nothing to remind of",
            reason=reason,
            notice_id=notice.id,
        )


async def silent_count(
    *, session: AsyncSession, notice_id: int, occurrence: int | None = None
) -> int:
    """How many groups a reminder would go to now (for the confirmation question)."""
    if occurrence is None:
        occurrence = await latest_occurrence(session=session, notice_id=notice_id)
        if occurrence is None:
            return 0
    return len(await _to_remind(session, notice_id, occurrence))


async def _to_remind(
    session: AsyncSession, notice_id: int, occurrence: int
) -> list[tuple[Delivery, Channel]]:
    """Silent groups of active channels without a reminder still on its way."""
    queued = set(
        await session.scalars(
            select(col(Delivery.channel_id)).where(
                col(Delivery.notice_id) == notice_id,
                col(Delivery.occurrence) == occurrence,
                col(Delivery.kind) == DeliveryKind.reminder,
                col(Delivery.status).in_((DeliveryStatus.pending, DeliveryStatus.sending)),
            )
        )
    )
    return [
        (d, c)
        for d, c, _a in await session.execute(_silent_query(notice_id, occurrence))
        if c.active and d.channel_id not in queued
    ]


async def remind_silent(
    *,
    session: AsyncSession,
    notice_id: int,
    occurrence: int | None = None,
    actor: str = "",
    within: Tenant = CITY,
    automatic: bool = False,
) -> int:
    """Queue one reminder for each silent group of the occurrence (default: the latest);
    returns how many. A recalled, cancelled or unsent notice is a `Conflict`."""
    notice = await get_notice(session=session, notice_id=notice_id, within=within)
    _remindable(notice)
    if occurrence is None:
        occurrence = await latest_occurrence(session=session, notice_id=notice_id)
    sent = occurrence is not None and await session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            col(Delivery.notice_id) == notice_id,
            col(Delivery.occurrence) == occurrence,
            col(Delivery.kind) == DeliveryKind.notice,
            col(Delivery.status) == DeliveryStatus.sent,
        )
    )
    if occurrence is None or not sent:
        raise Conflict(
            f"notice {notice_id} has not reached any group yet",
            reason="not_sent",
            notice_id=notice_id,
        )
    silent = await _to_remind(session, notice_id, occurrence)
    reminded = await queue_follow_ups(
        session,
        notice_id=notice_id,
        kind=DeliveryKind.reminder,
        parents=[d for d, _channel in silent],
        priority=URGENT_PRIORITY if notice.urgent else 0,
    )
    await audit.record(
        session=session,
        actor=actor or "loa",
        action="notice.remind",
        subject=f"notice:{notice_id}",
        ward_id=notice.ward_id,
        occurrence=occurrence,
        reminded=reminded,
        automatic=automatic,
    )
    await session.flush()
    return reminded


@dataclass(frozen=True, slots=True)
class ReminderProgress:
    total: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # acknowledged before the reminder went out
    pending: int = 0


async def reminder_progress(
    *, session: AsyncSession, notice_id: int, occurrence: int | None = None
) -> ReminderProgress | None:
    """The latest round of reminders of the occurrence; None when none was sent."""
    if occurrence is None:
        occurrence = await latest_occurrence(session=session, notice_id=notice_id)
        if occurrence is None:
            return None
    counts = await latest_round_counts(
        session, notice_id=notice_id, kind=DeliveryKind.reminder, occurrence=occurrence
    )
    total = sum(counts.values())
    if not total:
        return None
    return ReminderProgress(
        total=total,
        sent=counts[DeliveryStatus.sent],
        failed=counts[DeliveryStatus.failed],
        skipped=counts[DeliveryStatus.cancelled],
        pending=counts[DeliveryStatus.pending] + counts[DeliveryStatus.sending],
    )
