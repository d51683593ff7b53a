"""Notices that come in whole, from the API (the ward's portal, a city alert feed).

`take_notice` checks everything it can before it stores anything (the ward, the areas,
the times, the repeat rule, the official), then runs the same steps as the bot's wizard:
the AI step, the targets, urgency, the deadline. Confirmed, it is scheduled through
`broadcasts.compose.send_off`, the bot's own path (so whatever that path requires, such
as approval, applies to both). Unconfirmed, it stays a draft holding the time asked for
(`scheduled_at`, `rrule`) until `confirm_notice`, or until the official it names reviews
it in the bot: `review_requested_at` marks it, and the bot shows each such draft once
(`drafts_awaiting_review`, `mark_review_shown`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts.ai import AISettings, Preparation
from broadcasts.areas import get_ward_by_code, normalize_code
from broadcasts.compose import (
    confirm_renditions,
    prepare_draft,
    send_off,
    set_urgent,
    unchecked_locales,
)
from broadcasts.errors import Conflict, InvalidInput
from broadcasts.models import Area, Notice, NoticeStatus, Official, utcnow
from broadcasts.notices import get_notice, set_targets
from broadcasts.recurrence import check_rule
from broadcasts.tenancy import Tenant


@dataclass(frozen=True, slots=True)
class NoticeRequest:
    text: str
    targets: Sequence[str]  # area codes inside the ward
    at: datetime | None = None  # None: now (or, with a rule, from now)
    rrule: str | None = None
    urgent: bool | None = None  # None: as the AI step found it
    ack_deadline: datetime | None = None
    locales: Sequence[str] | None = None
    official_id: int | None = None
    ward_code: str | None = None
    confirm: bool = False
    accept_findings: bool = False


@dataclass(slots=True)
class Intake:
    notice: Notice
    preparation: Preparation | None = None
    unchecked: list[str] = field(default_factory=list)  # locales with facts to check


async def resolve_ward(*, session: AsyncSession, within: Tenant, code: str | None) -> Area:
    """The ward a notice is for: the one named, or a ward key's own ward."""
    if code:
        return await get_ward_by_code(session=session, code=code, within=within)
    if within.ward_id is None:
        raise InvalidInput("a city key must name the ward", field="ward")
    ward = await session.get(Area, within.ward_id)
    assert ward is not None
    return ward


async def _areas(session: AsyncSession, ward: Area, codes: Sequence[str]) -> list[int]:
    """The target areas by code; an unknown code, or one outside the ward, is refused
    (as input, naming them: for an integration, a typo and another ward are alike)."""
    if not codes:
        raise InvalidInput("pick at least one area", field="targets")
    wanted = {normalize_code(c) for c in codes}
    found = {
        a.code: a
        for a in await session.scalars(select(Area).where(col(Area.code).in_(sorted(wanted))))
    }
    bad = sorted(c for c in wanted if c not in found or not found[c].path.startswith(ward.path))
    if bad:
        raise InvalidInput(
            f"unknown areas in ward {ward.code}: {', '.join(bad)}", field="targets", codes=bad
        )
    return [found[c].id or 0 for c in sorted(wanted)]


def _check_times(request: NoticeRequest, now: datetime) -> None:
    for name, value in (("at", request.at), ("ack_deadline", request.ack_deadline)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a timezone (e.g. +07:00 or Z)", field=name)
    if request.at is not None and request.at <= now:
        raise InvalidInput("the time is in the past", field="at", reason="time_passed")
    if request.ack_deadline is not None and request.ack_deadline <= (request.at or now):
        raise InvalidInput(
            "the acknowledgement deadline must be after the sending time", field="ack_deadline"
        )
    if request.rrule:
        check_rule(request.rrule, start=request.at or now, now=now)


async def _official(session: AsyncSession, ward: Area, official_id: int | None) -> int | None:
    if official_id is None:
        return None
    official = await session.get(Official, official_id)
    if official is None or official.ward_id != ward.id or not official.active:
        raise InvalidInput(
            f"official {official_id} is not an active official of ward {ward.code}",
            field="official",
        )
    return official_id


async def take_notice(
    *, session: AsyncSession, within: Tenant, request: NoticeRequest, ai: AISettings, actor: str
) -> Intake:
    """Create, prepare and target a notice; schedule it when `request.confirm`."""
    now = utcnow()
    ward = await resolve_ward(session=session, within=within, code=request.ward_code)
    area_ids = await _areas(session, ward, request.targets)
    _check_times(request, now)
    official_id = await _official(session, ward, request.official_id)
    draft = await prepare_draft(
        session=session,
        ward_id=ward.id or 0,
        official_id=official_id,
        text=request.text,
        ai=ai,
        locales=request.locales,
    )
    notice = draft.notice
    notice_id = notice.id or 0
    await audit.record(
        session=session,
        actor=actor,
        action="notice.compose",
        subject=f"notice:{notice_id}",
        ward_id=ward.id,
    )
    await set_targets(session=session, notice_id=notice_id, area_ids=area_ids)
    if request.urgent is not None:
        await set_urgent(session=session, notice_id=notice_id, urgent=request.urgent)
    # The time asked for waits on the draft until it is confirmed.
    notice.scheduled_at, notice.rrule = request.at, request.rrule
    notice.ack_deadline = request.ack_deadline
    if official_id is not None and not request.confirm:
        notice.review_requested_at = now
    session.add(notice)
    await session.flush()
    intake = Intake(notice=notice, preparation=draft.preparation)
    if request.confirm:
        intake.notice = await confirm_notice(
            session=session,
            notice_id=notice_id,
            within=within,
            accept_findings=request.accept_findings,
            actor=actor,
        )
    intake.unchecked = await unchecked_locales(session=session, notice_id=notice_id)
    return intake


async def confirm_notice(
    *,
    session: AsyncSession,
    notice_id: int,
    within: Tenant,
    accept_findings: bool = False,
    actor: str = "",
) -> Notice:
    """Schedule a draft at the time it holds (now when none), through the bot's path.

    Facts the fact check flagged must be accepted (`accept_findings`), else `InvalidInput`
    names the renditions; a time that has passed meanwhile is refused (`time_passed`)."""
    notice = await get_notice(session=session, notice_id=notice_id, within=within)
    if notice.status != NoticeStatus.draft:
        raise Conflict(f"notice {notice_id} is {notice.status.value}", status=notice.status)
    unchecked = await unchecked_locales(session=session, notice_id=notice_id)
    if unchecked and not accept_findings:
        raise InvalidInput(
            f"renditions with unchecked facts: {', '.join(unchecked)}; check them, or confirm "
            'with "accept_findings": true',
            field="accept_findings",
            locales=unchecked,
        )
    if unchecked:
        await confirm_renditions(session=session, notice_id=notice_id)
    await send_off(
        session=session,
        notice_id=notice_id,
        at=notice.scheduled_at,
        rrule=notice.rrule,
        actor=actor,
    )
    notice = await get_notice(session=session, notice_id=notice_id)
    notice.review_requested_at = None  # confirmed: nothing left for the official to review
    session.add(notice)
    await session.flush()
    return notice


async def drafts_awaiting_review(
    *, session: AsyncSession, ward_id: int | None = None, limit: int = 20
) -> list[Notice]:
    """API drafts left for their official to review, not yet shown in the bot."""
    query = select(Notice).where(
        col(Notice.status) == NoticeStatus.draft,
        col(Notice.review_requested_at).is_not(None),
        col(Notice.review_shown_at).is_(None),
        col(Notice.official_id).is_not(None),
    )
    if ward_id is not None:
        query = query.where(col(Notice.ward_id) == ward_id)
    rows = await session.scalars(query.order_by(col(Notice.id)).limit(limit))
    return list(rows)


async def mark_review_shown(*, session: AsyncSession, notice_id: int) -> None:
    notice = await get_notice(session=session, notice_id=notice_id)
    notice.review_shown_at = utcnow()
    session.add(notice)
    await session.flush()
