"""What the dashboard shows: one notice's funnel and groups, and a ward's last weeks.

Read-only queries over what the reports (`broadcasts.reports`) and the acknowledgement
lists (`broadcasts.reminders.notice_acks_by_area`) already count; the pages draw them. A
notice's view is of one occurrence (the latest fired), like the bot's status message.

The ward's view covers the notices created in the window (default four weeks): per khu phố
the share of sent deliveries that someone acknowledged and the median time from sending
to the first «Đã nhận»; the groups that failed at least twice or never acknowledged any of
at least two notices; and the channels that stopped receiving, with why.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.areas import natural_key
from broadcasts.failures import Failure, classify
from broadcasts.models import (
    Acknowledgement,
    Area,
    AreaLevel,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    utcnow,
)
from broadcasts.reminders import (
    GroupState,
    NoticeAcks,
    ReminderProgress,
    khu_pho_code,
    notice_acks_by_area,
    reminder_progress,
    silent_count,
)
from broadcasts.reports import NoticeSummary, list_notices, notice_summary
from broadcasts.tenancy import CITY, Tenant

WINDOW_DAYS = 28
TROUBLE_AT_LEAST = 2  # failures, or notices sent with no acknowledgement


@dataclass(frozen=True, slots=True)
class FailureLine:
    """The failed groups of one kind of failure, for one plain sentence."""

    failure: Failure
    groups: list[str]


@dataclass(frozen=True, slots=True)
class TransportLine:
    transport: str
    targeted: int = 0
    sent: int = 0
    failed: int = 0
    acknowledged: int = 0


@dataclass(slots=True)
class NoticeView:
    summary: NoticeSummary
    acks: NoticeAcks
    failures: list[FailureLine]
    ack_times: list[datetime]  # the first «Đã nhận» of each group, in order
    sent_from: datetime | None  # when the occurrence started going out
    transports: list[TransportLine]
    to_remind: int  # silent groups a reminder would reach now
    reminders: ReminderProgress | None

    @property
    def funnel(self) -> Funnel:
        a, state = self.acks, GroupState
        acknowledged = a.count(state.acknowledged)
        return Funnel(
            targeted=a.total,
            sent=acknowledged + a.count(state.silent),
            failed=a.count(state.failed),
            waiting=a.count(state.waiting),
            acknowledged=acknowledged,
        )


@dataclass(frozen=True, slots=True)
class Funnel:
    """The occurrence's groups: targeted = sent + failed + waiting (+ cancelled)."""

    targeted: int
    sent: int
    failed: int
    waiting: int
    acknowledged: int


async def notice_view(
    *, session: AsyncSession, notice_id: int, within: Tenant = CITY
) -> NoticeView:
    """One notice for its page (NotFound outside `within`, like every notice lookup)."""
    summary = await notice_summary(session=session, notice_id=notice_id, within=within)
    acks = await notice_acks_by_area(session=session, notice_id=notice_id, within=within)
    groups = [g for a in acks.areas for g in a.groups]
    failed: dict[Failure, list[str]] = defaultdict(list)
    for g in groups:
        if g.state is GroupState.failed:
            failed[g.failure or classify(g.reason)].append(g.chat_title or g.area_name)
    sent = [g.sent_at for g in groups if g.sent_at is not None]
    transports = await _transport_lines(session, notice_id, acks)
    return NoticeView(
        summary=summary,
        acks=acks,
        failures=[FailureLine(f, names) for f, names in failed.items()],
        ack_times=sorted(g.first_at for g in groups if g.first_at is not None),
        sent_from=min(sent) if sent else summary.dispatched_at,
        transports=transports,
        to_remind=await silent_count(session=session, notice_id=notice_id),
        reminders=await reminder_progress(session=session, notice_id=notice_id),
    )


async def _transport_lines(
    session: AsyncSession, notice_id: int, acks: NoticeAcks
) -> list[TransportLine]:
    ids = [g.channel_id for a in acks.areas for g in a.groups]
    rows = await session.execute(
        select(col(Channel.id), col(Channel.transport)).where(col(Channel.id).in_(ids))
    )
    kinds: dict[int | None, str] = {channel_id: kind for channel_id, kind in rows}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for area in acks.areas:
        for g in area.groups:
            c = counts[kinds.get(g.channel_id, "telegram")]
            c["targeted"] += 1
            if g.state in (GroupState.acknowledged, GroupState.silent):
                c["sent"] += 1
            if g.state is GroupState.acknowledged:
                c["acknowledged"] += 1
            if g.state is GroupState.failed:
                c["failed"] += 1
    return [
        TransportLine(t, c["targeted"], c["sent"], c["failed"], c["acknowledged"])
        for t, c in sorted(counts.items())
    ]


@dataclass(frozen=True, slots=True)
class AreaRate:
    """A khu phố over the window: sent deliveries, how many were acknowledged, how fast."""

    area_code: str
    area_name: str
    sent: int
    acknowledged: int
    median_seconds: float | None

    @property
    def rate(self) -> float:
        return self.acknowledged / self.sent if self.sent else 0.0


@dataclass(frozen=True, slots=True)
class TroubledGroup:
    channel_id: int
    title: str
    area_name: str
    sent: int
    failed: int
    acknowledged: int
    last_failure: Failure | None


@dataclass(frozen=True, slots=True)
class InactiveChannel:
    channel_id: int
    title: str
    area_name: str
    since: datetime
    failure: Failure


@dataclass(slots=True)
class WardView:
    since: datetime
    notices: list[NoticeSummary]
    areas: list[AreaRate] = field(default_factory=list)
    failing: list[TroubledGroup] = field(default_factory=list)
    never_acknowledging: list[TroubledGroup] = field(default_factory=list)
    inactive: list[InactiveChannel] = field(default_factory=list)


@dataclass(slots=True)
class _Tally:
    title: str
    area_name: str
    sent: int = 0
    failed: int = 0
    acknowledged: int = 0
    error: str | None = None  # the latest failure's reason


async def ward_view(
    *,
    session: AsyncSession,
    within: Tenant = CITY,
    days: int = WINDOW_DAYS,
    now: datetime | None = None,
    limit: int = 50,
) -> WardView:
    """The notices of the last `days` and how the ward's groups answered them."""
    since = (now or utcnow()) - timedelta(days=days)
    recent, _count = await list_notices(session=session, limit=limit, within=within)
    notices = [n for n in recent if n.created_at >= since]
    ids = [n.id for n in notices]
    view = WardView(since=since, notices=notices)
    view.inactive = await _inactive(session, within)
    if not ids:
        return view
    first_ack = (
        select(
            col(Acknowledgement.notice_id),
            col(Acknowledgement.channel_id),
            col(Acknowledgement.occurrence),
            func.min(col(Acknowledgement.created_at)).label("first_at"),
        )
        .where(col(Acknowledgement.notice_id).in_(ids))
        .group_by(
            col(Acknowledgement.notice_id),
            col(Acknowledgement.channel_id),
            col(Acknowledgement.occurrence),
        )
        .subquery()
    )
    rows = await session.execute(
        select(
            col(Delivery.channel_id),
            col(Delivery.status),
            col(Delivery.sent_at),
            col(Delivery.error),
            col(Channel.title),
            col(Area.name),
            col(Area.path),
            first_ack.c.first_at,
        )
        .join(Channel, col(Channel.id) == col(Delivery.channel_id))
        .join(Area, col(Area.id) == col(Channel.area_id))
        .outerjoin(
            first_ack,
            (first_ack.c.notice_id == col(Delivery.notice_id))
            & (first_ack.c.channel_id == col(Delivery.channel_id))
            & (first_ack.c.occurrence == col(Delivery.occurrence)),
        )
        .where(col(Delivery.notice_id).in_(ids), col(Delivery.kind) == DeliveryKind.notice)
        .order_by(col(Delivery.id))
    )
    per_area: dict[str, list[float | None]] = defaultdict(list)
    per_channel: dict[int, _Tally] = {}
    for channel_id, status, sent_at, error, title, area_name, path, first_at in rows:
        tally = per_channel.setdefault(channel_id, _Tally(title or "", area_name))
        if DeliveryStatus(status) is DeliveryStatus.failed:
            tally.failed += 1
            tally.error = error or ""
        if first_at is not None:
            tally.acknowledged += 1
        if DeliveryStatus(status) is not DeliveryStatus.sent:
            continue
        tally.sent += 1
        pressed = first_at is not None and sent_at is not None
        per_area[khu_pho_code(path)].append(
            max(0.0, (first_at - sent_at).total_seconds()) if pressed else None
        )
    named = await session.execute(
        select(col(Area.code), col(Area.name)).where(col(Area.code).in_(list(per_area)))
    )
    names = {code: name for code, name in named}
    for code in sorted(per_area, key=natural_key):
        answered = [d for d in per_area[code] if d is not None]
        view.areas.append(
            AreaRate(
                area_code=code,
                area_name=names.get(code, code),
                sent=len(per_area[code]),
                acknowledged=len(answered),
                median_seconds=statistics.median(answered) if answered else None,
            )
        )
    for channel_id, t in per_channel.items():
        group = TroubledGroup(
            channel_id=channel_id,
            title=t.title,
            area_name=t.area_name,
            sent=t.sent,
            failed=t.failed,
            acknowledged=t.acknowledged,
            last_failure=classify(t.error) if t.error is not None else None,
        )
        if group.failed >= TROUBLE_AT_LEAST:
            view.failing.append(group)
        if group.sent >= TROUBLE_AT_LEAST and group.acknowledged == 0:
            view.never_acknowledging.append(group)
    view.failing.sort(key=lambda g: (-g.failed, g.title))
    view.never_acknowledging.sort(key=lambda g: (-g.sent, g.title))
    return view


async def _inactive(session: AsyncSession, within: Tenant) -> list[InactiveChannel]:
    rows = await session.execute(
        select(Channel, col(Area.name))
        .join(Area, col(Area.id) == col(Channel.area_id))
        .where(~col(Channel.active), within.area_condition())
        .order_by(col(Channel.updated_at).desc(), col(Channel.id))
    )
    return [
        InactiveChannel(
            channel_id=c.id or 0,
            title=c.title,
            area_name=name,
            since=c.updated_at,
            failure=classify(c.inactive_reason or ""),
        )
        for c, name in rows
    ]


async def wards_of(*, session: AsyncSession, within: Tenant = CITY) -> list[Area]:
    """The wards a viewer may pick from (a city viewer: all of them)."""
    wards = await session.scalars(
        select(Area).where(col(Area.level) == AreaLevel.ward, within.area_condition())
    )
    return sorted(wards, key=lambda a: natural_key(a.code))


async def notice_ward_id(*, session: AsyncSession, notice_id: int) -> int | None:
    notice = await session.get(Notice, notice_id)
    return notice.ward_id if notice is not None else None
