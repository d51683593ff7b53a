"""Notices through their life: draft → scheduled → dispatching → done (or cancelled).

Firing a schedule is an idempotent state change (`scheduled` → `dispatching` in one
conditional UPDATE), so two schedulers, a restart or a double fire never send twice:
only the caller whose UPDATE matched creates the deliveries. A recurring notice fires
each occurrence the same way and stays `scheduled` for the next one (see
`broadcasts.recurrence`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts.channels import channels_for_areas
from broadcasts.deadlines import deadline_for
from broadcasts.errors import Conflict, InvalidInput, NotFound
from broadcasts.metrics import DISPATCH_LAG_SECONDS
from broadcasts.models import (
    Area,
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeOccurrence,
    NoticeStatus,
    NoticeTarget,
    Official,
    Rendition,
    utcnow,
)
from broadcasts.recurrence import check_rule, latest_due, next_after
from broadcasts.reports import (
    count_acks,
    count_deliveries,
    delivery_failures,
    occurrence_totals,
    transport_totals,
)
from broadcasts.tenancy import CITY, Tenant
from broadcasts.transports.base import transport_rank

URGENT_PRIORITY = 10
# How long a correction or recall keeps its notice's status message followed.
_AMEND_FOLLOW_SECONDS = 600


@dataclass(frozen=True, slots=True)
class RenditionInput:
    locale: str
    text: str
    source: str = "offline"  # ai / offline / edited / cap (from an upstream CAP alert)
    findings: list[dict[str, object]] = field(default_factory=list)
    confirmed: bool = False


@dataclass(slots=True)
class Progress:
    notice_id: int
    status: str
    total: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    cancelled: int = 0
    acknowledged_channels: int = 0
    acknowledgements: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (chat title, reason)
    occurrence: int | None = None  # a recurring notice: the occurrence the counts are of
    # Per transport of the channels, in `TRANSPORTS` order: (transport, targeted, sent,
    # acknowledged channels), e.g. [("telegram", 8, 8, 5), ("zalo", 4, 4, 2)].
    by_transport: list[tuple[str, int, int, int]] = field(default_factory=list)


async def get_notice(*, session: AsyncSession, notice_id: int, within: Tenant = CITY) -> Notice:
    """The notice; one of a ward outside `within` is not found."""
    notice = await session.get(Notice, notice_id)
    if notice is None or not within.covers_ward_id(notice.ward_id):
        raise NotFound(f"notice {notice_id} does not exist", notice_id=notice_id)
    return notice


async def create_notice(
    *,
    session: AsyncSession,
    ward_id: int,
    text: str,
    official_id: int | None = None,
    title: str = "",
    urgent: bool = False,
) -> Notice:
    text = text.strip()
    if not text:
        raise InvalidInput("a notice needs some text")
    notice = Notice(
        ward_id=ward_id, official_id=official_id, text=text, title=title[:300], urgent=urgent
    )
    session.add(notice)
    await session.flush()
    return notice


async def save_renditions(
    *, session: AsyncSession, notice_id: int, renditions: Sequence[RenditionInput]
) -> list[Rendition]:
    """Replace the notice's renditions (one per locale); Vietnamese must be among them."""
    notice = await _editable(session, notice_id)
    if not any(r.locale == "vi" for r in renditions):
        raise InvalidInput("a Vietnamese rendition is required")
    existing = {
        r.locale: r
        for r in (
            await session.scalars(select(Rendition).where(col(Rendition.notice_id) == notice.id))
        )
    }
    saved: list[Rendition] = []
    for item in renditions:
        if not item.text.strip():
            raise InvalidInput(f"the {item.locale} rendition is empty")
        row = existing.get(item.locale) or Rendition(
            notice_id=notice_id, locale=item.locale, text=""
        )
        row.text = item.text.strip()
        row.source = item.source
        row.findings = list(item.findings)
        row.confirmed = item.confirmed
        session.add(row)
        saved.append(row)
    await session.flush()
    return saved


async def renditions_of(*, session: AsyncSession, notice_id: int) -> dict[str, Rendition]:
    rows = await session.scalars(select(Rendition).where(col(Rendition.notice_id) == notice_id))
    return {r.locale: r for r in rows}


async def set_targets(*, session: AsyncSession, notice_id: int, area_ids: Sequence[int]) -> None:
    """Target areas must lie inside the notice's ward (the ward itself included)."""
    notice = await _editable(session, notice_id)
    if not area_ids:
        raise InvalidInput("pick at least one area")
    ward = await session.get(Area, notice.ward_id)
    assert ward is not None
    areas = list(await session.scalars(select(Area).where(col(Area.id).in_(set(area_ids)))))
    if len(areas) != len(set(area_ids)):
        raise InvalidInput("some target areas do not exist")
    outside = [a.code for a in areas if not a.path.startswith(ward.path)]
    if outside:
        raise InvalidInput(f"areas outside the ward: {', '.join(outside)}")
    await session.execute(
        delete(NoticeTarget)
        .where(col(NoticeTarget.notice_id) == notice_id)
        .execution_options(synchronize_session=False)
    )
    session.add_all(NoticeTarget(notice_id=notice_id, area_id=a.id) for a in areas if a.id)
    await session.flush()


async def target_channels(*, session: AsyncSession, notice_id: int) -> list[Channel]:
    query = select(col(NoticeTarget.area_id)).where(col(NoticeTarget.notice_id) == notice_id)
    area_ids = list(await session.scalars(query))
    if not area_ids:
        return []
    return await channels_for_areas(session=session, area_ids=area_ids, active_only=True)


async def schedule_notice(
    *,
    session: AsyncSession,
    notice_id: int,
    at: datetime | None = None,
    rrule: str | None = None,
) -> Notice:
    """Schedule for `at` (aware), or for now when None. Needs targets and renditions.

    With `rrule` (an RFC 5545 RRULE, checked by `broadcasts.recurrence.check_rule` from
    `at` or now) the notice repeats: `scheduled_at` is its first occurrence."""
    notice = await _editable(session, notice_id)
    if at is not None and at.tzinfo is None:
        raise InvalidInput("the schedule time needs a timezone")
    repeat = check_rule(rrule, start=at or utcnow()) if rrule else None
    targets = await session.scalar(
        select(func.count())
        .select_from(NoticeTarget)
        .where(col(NoticeTarget.notice_id) == notice_id)
    )
    if not targets:
        raise InvalidInput("pick at least one area before scheduling")
    renditions = await renditions_of(session=session, notice_id=notice_id)
    if "vi" not in renditions:
        raise InvalidInput("the notice has no Vietnamese text to send")
    unconfirmed = [r.locale for r in renditions.values() if r.findings and not r.confirmed]
    if unconfirmed:
        raise InvalidInput(f"renditions with unchecked facts: {', '.join(sorted(unconfirmed))}")
    now = utcnow()
    notice.scheduled_at = at if at is not None and at > now else now
    notice.rrule = repeat.text if repeat is not None else None
    if repeat is not None:
        notice.scheduled_at = max(repeat.first, now)
    notice.status = NoticeStatus.scheduled
    notice.updated_at = now
    session.add(notice)
    await session.flush()
    return notice


async def due_notice_ids(*, session: AsyncSession, now: datetime | None = None) -> list[int]:
    rows = await session.scalars(
        select(col(Notice.id))
        .where(
            col(Notice.status) == NoticeStatus.scheduled,
            col(Notice.scheduled_at) <= (now or utcnow()),
        )
        .order_by(col(Notice.urgent).desc(), col(Notice.scheduled_at))
    )
    return [i for i in rows if i is not None]


async def scheduled_notices(*, session: AsyncSession) -> list[tuple[int, datetime]]:
    rows = await session.execute(
        select(col(Notice.id), col(Notice.scheduled_at)).where(
            col(Notice.status) == NoticeStatus.scheduled
        )
    )
    return [(i, at) for i, at in rows.all() if i is not None and at is not None]


async def dispatch_notice(
    *,
    session: AsyncSession,
    notice_id: int,
    occurrence: int | None = None,
    due_by: datetime | None = None,
    now: datetime | None = None,
) -> int | None:
    """Fire a scheduled notice: create one delivery per active target channel.

    The occurrence fired is the notice's next one (`Notice.occurrences`); `occurrence`,
    when given, must be that one, else nothing happens. A recurring notice with
    occurrences left stays `scheduled`, at its next occurrence.

    Returns how many deliveries were created; None when it was not (or no longer) scheduled,
    or, with `due_by`, when its time is later than that: a scheduler's job left over from
    before a reschedule then changes nothing. `now` is the clock (a test's virtual time).
    """
    now = now or utcnow()
    notice = await session.get(Notice, notice_id, populate_existing=True)
    if notice is None or notice.status != NoticeStatus.scheduled:
        return None
    k = notice.occurrences
    if occurrence is not None and occurrence != k:
        return None
    due_at = notice.scheduled_at or now
    following: datetime | None = None
    if notice.rrule:
        # After an outage only the latest occurrence due goes out (see broadcasts.recurrence).
        due_at = max(due_at, latest_due(notice.rrule, min(now, due_by or now)) or due_at)
        following = next_after(notice.rrule, max(due_at, now))
    # A DML statement's result is a CursorResult; the async session's stubs only say Result.
    claimed = cast(
        "CursorResult[Any]",
        await session.execute(
            update(Notice)
            .where(
                col(Notice.id) == notice_id,
                col(Notice.status) == NoticeStatus.scheduled,
                col(Notice.occurrences) == k,
                true() if due_by is None else col(Notice.scheduled_at) <= due_by,
            )
            .values(
                status=NoticeStatus.scheduled if following else NoticeStatus.dispatching,
                scheduled_at=following or col(Notice.scheduled_at),
                occurrences=k + 1,
                dispatched_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:
        return None
    first_due: datetime | None = due_at
    if k > 0:  # the deadline keeps its offset after each occurrence
        first_due = await session.scalar(
            select(col(NoticeOccurrence.due_at)).where(
                col(NoticeOccurrence.notice_id) == notice_id, col(NoticeOccurrence.occurrence) == 0
            )
        )
    DISPATCH_LAG_SECONDS.observe(max(0.0, (now - due_at).total_seconds()))
    # The occurrence's row: its primary key (notice_id, occurrence) refuses a second fire.
    session.add(
        NoticeOccurrence(
            notice_id=notice_id,
            occurrence=k,
            due_at=due_at,
            fired_at=now,
            ack_deadline=deadline_for(
                ack_deadline=notice.ack_deadline, first_due=first_due, due_at=due_at
            ),
        )
    )
    notice = await get_notice(session=session, notice_id=notice_id)
    await session.refresh(notice)
    locales = set((await renditions_of(session=session, notice_id=notice_id)).keys())
    channels = await target_channels(session=session, notice_id=notice_id)
    rows = [
        {
            "notice_id": notice_id,
            "channel_id": c.id,
            "bot_id": c.bot_id,
            "occurrence": k,
            "locale": c.locale if c.locale in locales else "vi",
            "priority": URGENT_PRIORITY if notice.urgent else 0,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            "next_attempt_at": now,
            "updated_at": now,
        }
        for c in channels
    ]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(Delivery), rows[start : start + 5000])
    if not rows and notice.status == NoticeStatus.dispatching:
        notice.status = NoticeStatus.done
        notice.completed_at = now
        session.add(notice)
    await session.flush()
    return len(rows)


async def cancel_notice(*, session: AsyncSession, notice_id: int, within: Tenant = CITY) -> Notice:
    """Cancel a draft or scheduled notice; one going out stops what is not yet sent."""
    notice = await get_notice(session=session, notice_id=notice_id, within=within)
    if notice.status in (NoticeStatus.done, NoticeStatus.cancelled):
        raise Conflict(f"notice {notice_id} is already {notice.status.value}", status=notice.status)
    now = utcnow()
    # A recurring notice between occurrences is scheduled and may still be sending one.
    if notice.status in (NoticeStatus.dispatching, NoticeStatus.scheduled):
        await session.execute(
            update(Delivery)
            .where(
                col(Delivery.notice_id) == notice_id, col(Delivery.status) == DeliveryStatus.pending
            )
            .values(status=DeliveryStatus.cancelled, updated_at=now)
        )
    notice.status = NoticeStatus.cancelled
    notice.updated_at = now
    session.add(notice)
    await session.flush()
    return notice


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """What `withdraw_notice` found and did: enough to tell the official the truth."""

    notice_id: int
    was: NoticeStatus  # the status before
    cancelled: bool
    scheduled_at: datetime | None
    sent: int = 0  # deliveries that went out (a notice going out or sent)
    total: int = 0


_UNSENT = (NoticeStatus.draft, NoticeStatus.scheduled)


async def notice_in_ward(*, session: AsyncSession, notice_id: int, ward_id: int) -> Notice:
    """The notice, if it belongs to the ward; another ward's notice is not found."""
    notice = await session.get(Notice, notice_id, populate_existing=True)
    if notice is None or notice.ward_id != ward_id:
        raise NotFound(f"notice {notice_id} does not exist", notice_id=notice_id)
    return notice


async def scheduled_in_ward(*, session: AsyncSession, notice_id: int, ward_id: int) -> Notice:
    """The ward's notice if it is still waiting for its time; else a `Conflict` naming
    its status (it went out, was sent or was cancelled meanwhile)."""
    notice = await notice_in_ward(session=session, notice_id=notice_id, ward_id=ward_id)
    if notice.status != NoticeStatus.scheduled:
        raise Conflict(
            f"notice {notice_id} is {notice.status.value}",
            status=notice.status,
            notice_id=notice_id,
        )
    return notice


async def latest_notice_id(*, session: AsyncSession, official_id: int) -> int | None:
    return await session.scalar(
        select(col(Notice.id))
        .where(col(Notice.official_id) == official_id)
        .order_by(col(Notice.id).desc())
        .limit(1)
    )


async def withdraw_notice(
    *, session: AsyncSession, ward_id: int, notice_id: int, actor: str = ""
) -> Withdrawal:
    """Cancel a notice that has not gone out (a draft or a scheduled one); a notice going
    out, sent or cancelled already is left as it is, and the answer says so.

    The cancel is one conditional UPDATE, so it cannot undo a dispatch that won the race:
    once the scheduler has fired the notice, the notice is reported as going out.
    """
    notice = await notice_in_ward(session=session, notice_id=notice_id, ward_id=ward_id)
    was, scheduled_at = notice.status, notice.scheduled_at
    now = utcnow()
    changed = cast(
        "CursorResult[Any]",
        await session.execute(
            update(Notice)
            .where(col(Notice.id) == notice_id, col(Notice.status).in_(_UNSENT))
            .values(status=NoticeStatus.cancelled, updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if changed.rowcount == 1:
        await audit.record(
            session=session,
            actor=actor,
            action="notice.cancel",
            subject=f"notice:{notice_id}",
            ward_id=ward_id,
        )
        if not notice.occurrences:
            return Withdrawal(notice_id, was, cancelled=True, scheduled_at=scheduled_at)
        # A recurring notice stopped between its times: what earlier times sent stays sent.
        progress = await notice_progress(session=session, notice_id=notice_id)
        return Withdrawal(
            notice_id,
            was,
            cancelled=True,
            scheduled_at=scheduled_at,
            sent=progress.sent,
            total=progress.total,
        )
    notice = await notice_in_ward(session=session, notice_id=notice_id, ward_id=ward_id)
    progress = await notice_progress(session=session, notice_id=notice_id)
    return Withdrawal(
        notice_id,
        notice.status,
        cancelled=False,
        scheduled_at=notice.scheduled_at,
        sent=progress.sent,
        total=progress.total,
    )


async def withdraw_latest(
    *, session: AsyncSession, official: Official | None, notice_id: int | None = None
) -> Withdrawal | None:
    """`withdraw_notice` for the notice being written (`notice_id`), else for the
    official's latest notice; None when there is none (or no official)."""
    if official is None or official.id is None:
        return None
    notice_id = notice_id or await latest_notice_id(session=session, official_id=official.id)
    if notice_id is None:
        return None
    return await withdraw_notice(
        session=session, ward_id=official.ward_id, notice_id=notice_id, actor=official.name
    )


async def reschedule_notice(
    *, session: AsyncSession, ward_id: int, notice_id: int, at: datetime, actor: str = ""
) -> Notice:
    """Move a scheduled notice to `at` (aware, in the future); the caller replans its job.

    Its «Đã nhận» deadline moves by as much (a recurring notice's later occurrences keep
    their offset after their own time already). A notice the scheduler has fired already
    is a `Conflict`: one conditional UPDATE.
    """
    if at.tzinfo is None:
        raise InvalidInput("the schedule time needs a timezone")
    if at <= utcnow():
        raise InvalidInput("the new time is in the past", reason="time_passed")
    notice = await notice_in_ward(session=session, notice_id=notice_id, ward_id=ward_id)
    await session.refresh(notice, with_for_update=True)  # two moves at once: one by one
    was, k = notice.scheduled_at, notice.occurrences
    values: dict[str, Any] = {"scheduled_at": at, "updated_at": utcnow()}
    if k == 0 and was is not None:
        # The «Đã nhận» deadline keeps its offset after the sending time, as each later
        # occurrence's does (`deadline_for`); reminders and escalation go by it.
        values["ack_deadline"] = deadline_for(
            ack_deadline=notice.ack_deadline, first_due=was, due_at=at
        )
    changed = cast(
        "CursorResult[Any]",
        await session.execute(
            update(Notice)
            .where(
                col(Notice.id) == notice_id,
                col(Notice.status) == NoticeStatus.scheduled,
                col(Notice.occurrences) == k,  # the deadline above is this occurrence's
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    notice = await notice_in_ward(session=session, notice_id=notice_id, ward_id=ward_id)
    if changed.rowcount != 1:
        raise Conflict(
            f"notice {notice_id} is {notice.status.value}",
            status=notice.status,
            notice_id=notice_id,
        )
    await audit.record(
        session=session,
        actor=actor,
        action="notice.reschedule",
        subject=f"notice:{notice_id}",
        at=at,
    )
    return notice


async def recent_notices(
    *, session: AsyncSession, official_id: int, limit: int = 5
) -> list[Notice]:
    """An official's latest notices that left the draft stage (or wait for an approver,
    or went back to the official for changes), newest first."""
    held = (col(Notice.status) == NoticeStatus.draft) & col(Notice.approval).in_(
        ("pending", "changes")
    )
    rows = await session.scalars(
        select(Notice)
        .where(
            col(Notice.official_id) == official_id,
            (col(Notice.status) != NoticeStatus.draft) | held,
        )
        .order_by(col(Notice.id).desc())
        .limit(limit)
    )
    return list(rows)


async def set_status_message(
    *, session: AsyncSession, notice_id: int, chat_ref: str, message_ref: str
) -> None:
    notice = await get_notice(session=session, notice_id=notice_id)
    notice.status_chat_ref = chat_ref
    notice.status_message_ref = message_ref
    session.add(notice)
    await session.flush()


async def notice_progress(*, session: AsyncSession, notice_id: int) -> Progress:
    """How far the notice has come, for the official's status message."""
    notice = await get_notice(session=session, notice_id=notice_id)
    totals = (await count_deliveries(session=session, notice_ids=[notice_id]))[notice_id]
    channels, people = (await count_acks(session=session, notice_ids=[notice_id])).get(
        notice_id, (0, 0)
    )
    failures = await delivery_failures(session=session, notice_id=notice_id, limit=10)
    occurrence: int | None = None
    if notice.rrule and notice.occurrences:
        # A recurring notice shows its latest occurrence: each has its own groups to reach.
        latest = (await occurrence_totals(session=session, notice_id=notice_id))[-1]
        occurrence = latest.occurrence
        totals = latest
        channels, people = latest.acknowledged, latest.acknowledgements
    split = await transport_totals(session=session, notice_id=notice_id, occurrence=occurrence)
    by_transport = sorted(
        ((name, t.targeted, t.sent, t.acknowledged) for (_, name), t in split.items()),
        key=lambda row: transport_rank(row[0]),
    )
    return Progress(
        notice_id=notice_id,
        status=notice.status.value,
        total=totals.targeted,
        sent=totals.sent,
        failed=totals.failed,
        pending=totals.pending,
        cancelled=totals.cancelled,
        acknowledged_channels=channels,
        acknowledgements=people,
        failures=[(f.title, f.reason) for f in failures],
        occurrence=occurrence,
        by_transport=by_transport,
    )


async def _editable(session: AsyncSession, notice_id: int) -> Notice:
    notice = await get_notice(session=session, notice_id=notice_id)
    if notice.status not in (NoticeStatus.draft, NoticeStatus.scheduled):
        raise Conflict(f"notice {notice_id} is {notice.status.value} and can no longer change")
    return notice


async def notices_in_flight(*, session: AsyncSession, grace_seconds: float = 120) -> list[int]:
    """Notices with a status message still worth updating: going out, just finished, or
    corrected / recalled lately (their follow-ups show on it)."""
    since = utcnow() - timedelta(seconds=grace_seconds)
    amended = utcnow() - timedelta(seconds=max(grace_seconds, _AMEND_FOLLOW_SECONDS))
    rows = await session.scalars(
        select(col(Notice.id)).where(
            col(Notice.status_message_ref).is_not(None),
            (col(Notice.status) == NoticeStatus.dispatching)
            | ((col(Notice.status) == NoticeStatus.done) & (col(Notice.completed_at) >= since))
            | (col(Notice.corrected_at) >= amended)
            | (col(Notice.recalled_at) >= amended)
            # A recurring notice waits for its next time while an occurrence goes out.
            | (
                (col(Notice.status) == NoticeStatus.scheduled)
                & col(Notice.rrule).is_not(None)
                & (col(Notice.dispatched_at) >= utcnow() - timedelta(hours=1))
            ),
        )
    )
    return [i for i in rows if i is not None]


async def notice_wards(*, session: AsyncSession, notice_ids: Iterable[int]) -> dict[int, int]:
    """The ward of each notice (for picking the ward's bot)."""
    ids = list(notice_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(col(Notice.id), col(Notice.ward_id)).where(col(Notice.id).in_(ids))
    )
    return {notice_id: ward_id for notice_id, ward_id in rows if notice_id is not None}
