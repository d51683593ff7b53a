"""What happened to notices: lists, per-channel detail, per-area reports and their sheet.

Deliveries are counted in one place, `count_deliveries` (per notice or per area), and
acknowledgements in `count_acks`; the bot's status message (`notices.notice_progress`),
these reports and the API all read those. A notice reaches Telegram groups and Zalo chats
alike, so the totals are also split by the channel's transport (`transport_totals`, per
notice or per area and transport): `by_transport` in the report, per area and in all,
and the `<transport>_*` columns of the CSV. Everything is aggregated in SQL (GROUP BY), a
fixed handful of queries per call whatever the number of deliveries: one city-wide notice
has up to 50,000 of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, JsonValue
from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from broadcasts.areas import natural_key
from broadcasts.errors import NotFound
from broadcasts.exports import Sheet, Value, to_csv
from broadcasts.models import (
    Acknowledgement,
    Area,
    AreaLevel,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeOccurrence,
    NoticeStatus,
    NoticeTarget,
    utcnow,
)
from broadcasts.settings import DEFAULT_TIMEZONE
from broadcasts.tenancy import CITY, Tenant
from broadcasts.transports.base import TRANSPORTS, transport_rank

_TOTALS_EXAMPLE: dict[str, JsonValue] = {
    "targeted": 40,
    "sent": 38,
    "failed": 1,
    "pending": 1,
    "cancelled": 0,
    "acknowledged": 25,
    "acknowledgements": 27,
    "leader_acknowledged": 20,
    "member_acknowledged": 5,
}


# Reports count the notice itself; reminders, corrections and recalls follow it.
NOTICE_ROWS = col(Delivery.kind) == DeliveryKind.notice


class ReportTotals(SQLModel):
    targeted: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0  # pending or being sent
    cancelled: int = 0
    acknowledged: int = Field(default=0, description="channels with at least one acknowledgement")
    acknowledgements: int = Field(default=0, description="people who acknowledged")
    leader_acknowledged: int = Field(
        default=0, description="channels whose registered leader acknowledged («tổ trưởng đã nhận»)"
    )
    member_acknowledged: int = Field(
        default=0,
        description="channels acknowledged by members only, not (yet) by the leader "
        "(«thành viên đã nhận»); leader_acknowledged + member_acknowledged = acknowledged",
    )


class OccurrenceTotals(ReportTotals):
    """One firing of the notice (0 the first; a recurring notice has one per time)."""

    occurrence: int
    due_at: datetime | None = None
    fired_at: datetime | None = None


def _by_transport() -> Any:
    return Field(
        default_factory=dict,
        description="the same totals per transport of the channels (telegram, zalo); "
        "a transport without channels here is left out",
    )


class AreaReportRow(ReportTotals):
    area_code: str
    area_name: str
    level: AreaLevel
    by_transport: dict[str, ReportTotals] = _by_transport()


class NoticeReport(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "notice_id": 7,
                    "title": "Cúp điện ngày 12/3",
                    "status": "done",
                    "generated_at": "2026-03-11T08:00:00Z",
                    "rows": [
                        {
                            "area_code": "BT-KP3",
                            "area_name": "Khu phố 3",
                            "level": "neighbourhood",
                            **_TOTALS_EXAMPLE,
                            "by_transport": {"telegram": _TOTALS_EXAMPLE},
                        }
                    ],
                    "totals": _TOTALS_EXAMPLE,
                    "by_transport": {"telegram": _TOTALS_EXAMPLE},
                }
            ]
        }
    )

    notice_id: int
    title: str
    status: NoticeStatus
    generated_at: datetime
    rows: list[AreaReportRow]
    totals: ReportTotals
    by_transport: dict[str, ReportTotals] = _by_transport()
    rrule: str | None = None
    occurrences: list[OccurrenceTotals] = Field(default_factory=list)


class NoticeSummary(SQLModel):
    id: int
    ward_id: int
    ward_code: str
    ward_name: str
    title: str
    excerpt: str
    status: NoticeStatus
    urgent: bool
    created_at: datetime
    scheduled_at: datetime | None
    dispatched_at: datetime | None
    completed_at: datetime | None
    totals: ReportTotals = Field(default_factory=ReportTotals)


class AckPerson(SQLModel):
    person_ref: str
    person_name: str
    method: str
    at: datetime
    by_leader: bool = Field(default=False, description="the group's registered leader")


class ChannelDeliveryRow(SQLModel):
    delivery_id: int
    channel_id: int
    occurrence: int
    area_code: str
    area_name: str
    chat_title: str
    transport: str = Field(default="telegram", description="the channel's platform")
    channel_active: bool
    locale: str
    status: DeliveryStatus
    attempts: int
    error: str | None
    sent_at: datetime | None
    acknowledgements: int = 0
    acknowledged_by: list[AckPerson] = Field(default_factory=list)


class NoticeDetail(NoticeSummary):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "ward_id": 2,
                    "ward_code": "BT",
                    "ward_name": "Phường Bến Thành",
                    "title": "Cúp điện ngày 12/3",
                    "excerpt": "Thông báo cúp điện...",
                    "status": "done",
                    "urgent": False,
                    "created_at": "2026-03-11T07:00:00Z",
                    "scheduled_at": "2026-03-11T07:05:00Z",
                    "dispatched_at": "2026-03-11T07:05:01Z",
                    "completed_at": "2026-03-11T07:05:09Z",
                    "totals": _TOTALS_EXAMPLE,
                    "by_transport": {"telegram": _TOTALS_EXAMPLE},
                    "text": "Thông báo cúp điện...",
                    "ack_deadline": None,
                    "targets": ["BT-KP3"],
                    "channels_count": 1,
                    "channels": [
                        {
                            "delivery_id": 90,
                            "channel_id": 12,
                            "occurrence": 0,
                            "area_code": "BT-KP3",
                            "area_name": "Khu phố 3",
                            "chat_title": "Khu phố 3 - Bến Thành",
                            "transport": "telegram",
                            "channel_active": True,
                            "locale": "vi",
                            "status": "sent",
                            "attempts": 1,
                            "error": None,
                            "sent_at": "2026-03-11T07:05:02Z",
                            "acknowledgements": 1,
                            "acknowledged_by": [
                                {
                                    "person_ref": "telegram:5550001",
                                    "person_name": "Lan",
                                    "method": "button",
                                    "at": "2026-03-11T07:20:00Z",
                                    "by_leader": True,
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    text: str
    ack_deadline: datetime | None
    targets: list[str]
    channels_count: int
    channels: list[ChannelDeliveryRow]
    by_transport: dict[str, ReportTotals] = _by_transport()
    rrule: str | None = None
    occurrences: list[OccurrenceTotals] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    channel_id: int
    title: str
    reason: str


async def count_deliveries(
    *, session: AsyncSession, notice_ids: Collection[int], by_area: bool = False
) -> dict[int, ReportTotals]:
    """The deliveries of `notice_ids` by outcome: per notice id, or per area id (of each
    delivery's channel, over all the notices) when `by_area`.

    `targeted` counts every delivery and `pending` those not yet final (pending or being
    sent), so that targeted = sent + failed + pending + cancelled. Every notice asked for
    gets a row, zeros when it has no deliveries; acknowledgements are left at 0 (see
    `count_acks`).
    """
    ids = sorted(set(notice_ids))
    totals: dict[int, ReportTotals] = {} if by_area else {i: ReportTotals() for i in ids}
    if not ids:
        return totals
    key = col(Channel.area_id) if by_area else col(Delivery.notice_id)
    query = select(key, col(Delivery.status), func.count()).select_from(Delivery)
    if by_area:
        query = query.join(Channel, col(Channel.id) == col(Delivery.channel_id))
    rows = await session.execute(
        query.where(col(Delivery.notice_id).in_(ids), NOTICE_ROWS).group_by(
            key, col(Delivery.status)
        )
    )
    for group, status, count in rows:
        _add_status(totals.setdefault(group, ReportTotals()), status, count)
    return totals


def _add_status(row: ReportTotals, status: str, count: int) -> None:
    """Count `count` deliveries of `status` into `row` (targeted and their outcome)."""
    row.targeted += count
    match DeliveryStatus(status):
        case DeliveryStatus.sent:
            row.sent += count
        case DeliveryStatus.failed:
            row.failed += count
        case DeliveryStatus.cancelled:
            row.cancelled += count
        case _:
            row.pending += count


async def transport_totals(
    *,
    session: AsyncSession,
    notice_id: int,
    occurrence: int | None = None,
    by_area: bool = False,
) -> dict[tuple[int, str], ReportTotals]:
    """The notice's deliveries and acknowledgements per transport of their channels,
    keyed (area id, transport) when `by_area`, else (0, transport); one occurrence only
    when `occurrence` is given. Two GROUP BY queries whatever the number of channels."""
    area = col(Channel.area_id) if by_area else literal(0)
    transport = col(Channel.transport)
    where = [col(Delivery.notice_id) == notice_id, NOTICE_ROWS]
    if occurrence is not None:
        where.append(col(Delivery.occurrence) == occurrence)
    totals: dict[tuple[int, str], ReportTotals] = {}
    sent = await session.execute(
        select(area, transport, col(Delivery.status), func.count())
        .select_from(Delivery)
        .join(Channel, col(Channel.id) == col(Delivery.channel_id))
        .where(*where)
        .group_by(area, transport, col(Delivery.status))
    )
    for area_id, name, status, count in sent:
        _add_status(totals.setdefault((int(area_id), name), ReportTotals()), status, count)
    leader_channel = case((col(Acknowledgement.by_leader), col(Acknowledgement.channel_id)))
    acked = [col(Acknowledgement.notice_id) == notice_id]
    if occurrence is not None:
        acked.append(col(Acknowledgement.occurrence) == occurrence)
    acks = await session.execute(
        select(
            area,
            transport,
            func.count(func.distinct(col(Acknowledgement.channel_id))),
            func.count(),
            func.count(func.distinct(leader_channel)),
        )
        .select_from(Acknowledgement)
        .join(Channel, col(Channel.id) == col(Acknowledgement.channel_id))
        .where(*acked)
        .group_by(area, transport)
    )
    for area_id, name, channels, people, leaders in acks:
        row = totals.setdefault((int(area_id), name), ReportTotals())
        row.acknowledged, row.acknowledgements = int(channels), int(people)
        _split_leaders(row, int(leaders))
    return totals


def _ordered(by_transport: dict[str, ReportTotals]) -> dict[str, ReportTotals]:
    return dict(sorted(by_transport.items(), key=lambda kv: transport_rank(kv[0])))


async def count_acks(
    *, session: AsyncSession, notice_ids: Collection[int], by_area: bool = False
) -> dict[int, tuple[int, int]]:
    """(channels with an acknowledgement, people who acknowledged), per notice or area."""
    counted = await _ack_counts(session, notice_ids, by_area)
    return {group: (channels, people) for group, (channels, people, _) in counted.items()}


async def _ack_counts(
    session: AsyncSession, notice_ids: Collection[int], by_area: bool
) -> dict[int, tuple[int, int, int]]:
    """`count_acks` and, third, the channels whose registered leader acknowledged."""
    ids = sorted(set(notice_ids))
    if not ids:
        return {}
    key = col(Channel.area_id) if by_area else col(Acknowledgement.notice_id)
    leader_channel = case((col(Acknowledgement.by_leader), col(Acknowledgement.channel_id)))
    query = select(
        key,
        func.count(func.distinct(col(Acknowledgement.channel_id))),
        func.count(),
        func.count(func.distinct(leader_channel)),
    ).select_from(Acknowledgement)
    if by_area:
        query = query.join(Channel, col(Channel.id) == col(Acknowledgement.channel_id))
    rows = await session.execute(query.where(col(Acknowledgement.notice_id).in_(ids)).group_by(key))
    return {
        group: (int(channels), int(people), int(leaders))
        for group, channels, people, leaders in rows
    }


def _split_leaders(row: ReportTotals, leaders: int) -> None:
    row.leader_acknowledged = leaders
    row.member_acknowledged = max(0, row.acknowledged - leaders)


async def occurrence_totals(*, session: AsyncSession, notice_id: int) -> list[OccurrenceTotals]:
    """The notice's deliveries and acknowledgements per occurrence, oldest first: each
    fired occurrence has a row (zeros when it reached no channel)."""
    fired = await session.execute(
        select(
            col(NoticeOccurrence.occurrence),
            col(NoticeOccurrence.due_at),
            col(NoticeOccurrence.fired_at),
        ).where(col(NoticeOccurrence.notice_id) == notice_id)
    )
    rows = {k: OccurrenceTotals(occurrence=k, due_at=due, fired_at=at) for k, due, at in fired}
    counted = await session.execute(
        select(col(Delivery.occurrence), col(Delivery.status), func.count())
        .where(col(Delivery.notice_id) == notice_id, NOTICE_ROWS)
        .group_by(col(Delivery.occurrence), col(Delivery.status))
    )
    for k, status, count in counted:
        _add_status(rows.setdefault(k, OccurrenceTotals(occurrence=k)), status, count)
    acks = await session.execute(
        select(
            col(Acknowledgement.occurrence),
            func.count(func.distinct(col(Acknowledgement.channel_id))),
            func.count(),
        )
        .where(col(Acknowledgement.notice_id) == notice_id)
        .group_by(col(Acknowledgement.occurrence))
    )
    for k, channels, people in acks:
        row = rows.setdefault(k, OccurrenceTotals(occurrence=k))
        row.acknowledged, row.acknowledgements = int(channels), int(people)
    return [rows[k] for k in sorted(rows)]


async def _occurrences(
    session: AsyncSession, notice: Notice, totals: ReportTotals
) -> list[OccurrenceTotals]:
    """Per occurrence; a one-off notice's only one is its totals (no query needed)."""
    if notice.rrule:
        return await occurrence_totals(session=session, notice_id=notice.id or 0)
    if not notice.occurrences and not totals.targeted:
        return []
    return [
        OccurrenceTotals(
            occurrence=0,
            due_at=notice.scheduled_at,
            fired_at=notice.dispatched_at,
            **totals.model_dump(),
        )
    ]


async def delivery_failures(
    *, session: AsyncSession, notice_id: int, limit: int | None = None
) -> list[DeliveryFailure]:
    """The notice's failed deliveries with their reasons, by chat title."""
    query = (
        select(col(Delivery.channel_id), col(Channel.title), col(Delivery.error))
        .join(Channel, col(Channel.id) == col(Delivery.channel_id))
        .where(
            col(Delivery.notice_id) == notice_id,
            col(Delivery.status) == DeliveryStatus.failed,
            NOTICE_ROWS,
        )
        .order_by(col(Channel.title), col(Delivery.channel_id))
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        DeliveryFailure(channel_id=cid, title=title or "", reason=error or "")
        for cid, title, error in await session.execute(query)
    ]


async def _get_notice(session: AsyncSession, notice_id: int, within: Tenant = CITY) -> Notice:
    notice = await session.get(Notice, notice_id)
    if notice is None or not within.covers_ward_id(notice.ward_id):
        raise NotFound(f"notice {notice_id} does not exist", notice_id=notice_id)
    return notice


async def _totals_by_notice(
    session: AsyncSession, notice_ids: list[int]
) -> dict[int, ReportTotals]:
    totals = await count_deliveries(session=session, notice_ids=notice_ids)
    for notice_id, (channels, people, leaders) in (
        await _ack_counts(session, notice_ids, False)
    ).items():
        totals[notice_id].acknowledged, totals[notice_id].acknowledgements = channels, people
        _split_leaders(totals[notice_id], leaders)
    return totals


def _summary(notice: Notice, ward: Area, totals: ReportTotals) -> dict[str, Any]:
    return {
        "id": notice.id or 0,
        "ward_id": notice.ward_id,
        "ward_code": ward.code,
        "ward_name": ward.name,
        "title": notice.title,
        "excerpt": " ".join(notice.text.split())[:160],
        "status": notice.status,
        "urgent": notice.urgent,
        "created_at": notice.created_at,
        "scheduled_at": notice.scheduled_at,
        "dispatched_at": notice.dispatched_at,
        "completed_at": notice.completed_at,
        "totals": totals,
    }


async def list_notices(
    *,
    session: AsyncSession,
    ward_id: int | None = None,
    status: NoticeStatus | None = None,
    offset: int = 0,
    limit: int = 50,
    within: Tenant = CITY,
) -> tuple[list[NoticeSummary], int]:
    """Newest first, each with its delivery and acknowledgement totals."""
    query = (
        select(Notice, Area)
        .join(Area, col(Area.id) == col(Notice.ward_id))
        .where(within.ward_condition(Notice.ward_id))
    )
    if ward_id is not None:
        query = query.where(col(Notice.ward_id) == ward_id)
    if status is not None:
        query = query.where(col(Notice.status) == status)
    total = await session.scalar(
        select(func.count()).select_from(query.with_only_columns(col(Notice.id)).subquery())
    )
    rows = (
        await session.execute(
            query.order_by(col(Notice.created_at).desc(), col(Notice.id).desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    totals = await _totals_by_notice(session, [n.id for n, _ in rows if n.id is not None])
    return [
        NoticeSummary.model_validate(_summary(n, w, totals[n.id or 0])) for n, w in rows
    ], total or 0


async def notice_summary(
    *, session: AsyncSession, notice_id: int, within: Tenant = CITY
) -> NoticeSummary:
    notice = await _get_notice(session, notice_id, within)
    ward = await session.get(Area, notice.ward_id)
    assert ward is not None
    totals = (await _totals_by_notice(session, [notice_id]))[notice_id]
    return NoticeSummary.model_validate(_summary(notice, ward, totals))


async def notice_detail(
    *,
    session: AsyncSession,
    notice_id: int,
    status: DeliveryStatus | None = None,
    acknowledged: bool | None = None,
    offset: int = 0,
    limit: int | None = None,
    within: Tenant = CITY,
) -> NoticeDetail:
    """The notice with one row per delivery (channel), optionally filtered and paged."""
    notice = await _get_notice(session, notice_id, within)
    ward = await session.get(Area, notice.ward_id)
    assert ward is not None
    totals = (await _totals_by_notice(session, [notice_id]))[notice_id]
    targets = list(
        await session.scalars(
            select(col(Area.code))
            .join(NoticeTarget, col(NoticeTarget.area_id) == col(Area.id))
            .where(col(NoticeTarget.notice_id) == notice_id)
            .order_by(col(Area.path))
        )
    )
    rows, count = await _delivery_rows(session, notice_id, status, acknowledged, offset, limit)
    return NoticeDetail.model_validate(
        {
            **_summary(notice, ward, totals),
            "text": notice.text,
            "ack_deadline": notice.ack_deadline,
            "targets": targets,
            "channels_count": count,
            "channels": rows,
            "by_transport": _ordered(
                {
                    name: row
                    for (_, name), row in (
                        await transport_totals(session=session, notice_id=notice_id)
                    ).items()
                }
            ),
            "rrule": notice.rrule,
            "occurrences": await _occurrences(session, notice, totals),
        }
    )


async def _delivery_rows(
    session: AsyncSession,
    notice_id: int,
    status: DeliveryStatus | None,
    acknowledged: bool | None,
    offset: int,
    limit: int | None,
) -> tuple[list[ChannelDeliveryRow], int]:
    query = (
        select(
            col(Delivery.id),
            col(Delivery.channel_id),
            col(Delivery.occurrence),
            col(Area.code),
            col(Area.name),
            col(Channel.title),
            col(Channel.transport),
            col(Channel.active),
            col(Delivery.locale),
            col(Delivery.status),
            col(Delivery.attempts),
            col(Delivery.error),
            col(Delivery.sent_at),
        )
        .join(Channel, col(Channel.id) == col(Delivery.channel_id))
        .join(Area, col(Area.id) == col(Channel.area_id))
        .where(col(Delivery.notice_id) == notice_id, NOTICE_ROWS)
    )
    if status is not None:
        query = query.where(col(Delivery.status) == status)
    if acknowledged is not None:
        has_ack = exists().where(
            and_(
                col(Acknowledgement.notice_id) == notice_id,
                col(Acknowledgement.channel_id) == col(Delivery.channel_id),
                col(Acknowledgement.occurrence) == col(Delivery.occurrence),
            )
        )
        query = query.where(has_ack if acknowledged else ~has_ack)
    count = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    paged = query.order_by(col(Area.path), col(Channel.id), col(Delivery.occurrence))
    paged = paged.offset(offset).limit(limit) if limit is not None else paged.offset(offset)
    rows = [
        ChannelDeliveryRow(
            delivery_id=r[0] or 0,
            channel_id=r[1],
            occurrence=r[2],
            area_code=r[3],
            area_name=r[4],
            chat_title=r[5],
            transport=r[6],
            channel_active=r[7],
            locale=r[8],
            status=r[9],
            attempts=r[10],
            error=r[11],
            sent_at=r[12],
        )
        for r in (await session.execute(paged))
    ]
    people = await _ack_people(session, notice_id, {r.channel_id for r in rows})
    for row in rows:
        row.acknowledged_by = people.get(row.channel_id, [])
        row.acknowledgements = len(row.acknowledged_by)
    return rows, count


async def _ack_people(
    session: AsyncSession, notice_id: int, channel_ids: set[int]
) -> dict[int, list[AckPerson]]:
    if not channel_ids:
        return {}
    query = select(Acknowledgement).where(col(Acknowledgement.notice_id) == notice_id)
    if len(channel_ids) <= 1000:  # beyond that, reading the notice's acks beats a huge IN
        query = query.where(col(Acknowledgement.channel_id).in_(channel_ids))
    people: dict[int, list[AckPerson]] = defaultdict(list)
    for ack in await session.scalars(query.order_by(col(Acknowledgement.created_at))):
        if ack.channel_id in channel_ids:
            people[ack.channel_id].append(
                AckPerson(
                    person_ref=ack.person_ref,
                    person_name=ack.person_name,
                    method=ack.method,
                    at=ack.created_at,
                    by_leader=ack.by_leader,
                )
            )
    return people


async def notice_report(
    *, session: AsyncSession, notice_id: int, within: Tenant = CITY
) -> NoticeReport:
    """Deliveries grouped by the area of their channel, with totals that add up."""
    notice = await _get_notice(session, notice_id, within)
    counted = await count_deliveries(session=session, notice_ids=[notice_id], by_area=True)
    areas = await session.execute(
        select(col(Area.id), col(Area.code), col(Area.name), col(Area.level)).where(
            col(Area.id).in_(list(counted))
        )
    )
    rows: dict[int, AreaReportRow] = {}
    for area_id, code, name, level in areas:
        row = AreaReportRow(area_code=code, area_name=name, level=level)
        for field in ReportTotals.model_fields:
            setattr(row, field, getattr(counted[area_id or 0], field))
        rows[area_id or 0] = row
    acks = await _ack_counts(session, [notice_id], True)
    for area_id, (channels, people, leaders) in acks.items():
        if area_id in rows:
            rows[area_id].acknowledged, rows[area_id].acknowledgements = channels, people
            _split_leaders(rows[area_id], leaders)
    by_transport: dict[str, ReportTotals] = {}
    for (area_id, name), split in (
        await transport_totals(session=session, notice_id=notice_id, by_area=True)
    ).items():
        if area_id in rows:
            rows[area_id].by_transport[name] = split
            _add_totals(by_transport.setdefault(name, ReportTotals()), split)
    for row in rows.values():
        row.by_transport = _ordered(row.by_transport)
    ordered = sorted(rows.values(), key=lambda r: natural_key(r.area_code))
    totals = ReportTotals()
    for row in ordered:
        _add_totals(totals, row)
    return NoticeReport(
        notice_id=notice_id,
        title=notice.title,
        status=notice.status,
        generated_at=utcnow(),
        rows=ordered,
        totals=totals,
        by_transport=_ordered(by_transport),
        rrule=notice.rrule,
        occurrences=await _occurrences(session, notice, totals),
    )


def _add_totals(into: ReportTotals, row: ReportTotals) -> None:
    for field in ReportTotals.model_fields:
        setattr(into, field, getattr(into, field) + getattr(row, field))


# Per transport, the CSV has these columns after the totals («zalo_sent», …).
CSV_TRANSPORT_FIELDS = ("targeted", "sent", "failed", "acknowledged")

CSV_HEADER = (
    "area_code",
    "area_name",
    "level",
    "targeted",
    "sent",
    "failed",
    "pending",
    "cancelled",
    "acknowledged",
    "acknowledgements",
    "leader_acknowledged",
    "member_acknowledged",
    *(f"{name}_{field}" for name in TRANSPORTS for field in CSV_TRANSPORT_FIELDS),
)


def _transport_cells(by_transport: dict[str, ReportTotals]) -> list[Value]:
    empty = ReportTotals()
    return [
        getattr(by_transport.get(name, empty), field)
        for name in TRANSPORTS
        for field in CSV_TRANSPORT_FIELDS
    ]


def report_sheet(report: NoticeReport) -> Sheet:
    """The report as a spreadsheet's table: one row per area, a TOTAL row last; each row's
    totals, then the same per transport (`telegram_sent`, `zalo_sent`, …)."""
    rows: list[list[Value]] = [
        [
            row.area_code,
            row.area_name,
            row.level.value,
            row.targeted,
            row.sent,
            row.failed,
            row.pending,
            row.cancelled,
            row.acknowledged,
            row.acknowledgements,
            row.leader_acknowledged,
            row.member_acknowledged,
            *_transport_cells(row.by_transport),
        ]
        for row in report.rows
    ]
    t = report.totals
    rows.append(
        [
            "TOTAL",
            "",
            "",
            t.targeted,
            t.sent,
            t.failed,
            t.pending,
            t.cancelled,
            t.acknowledged,
            t.acknowledgements,
            t.leader_acknowledged,
            t.member_acknowledged,
            *_transport_cells(report.by_transport),
        ]
    )
    return Sheet(title=f"Notice {report.notice_id}", header=CSV_HEADER, rows=rows)


def report_csv(report: NoticeReport, *, zone: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)) -> str:
    """The report as CSV for Excel: UTF-8 with BOM, English header, a TOTAL row last."""
    return to_csv(report_sheet(report), zone=zone)
