"""Correcting and recalling a notice that went out: the domain steps both fronts call.

`correct_notice` takes the official's corrected text through the AI step like a new
notice (`prepare_correction`, so the bot can show the new renditions for review first),
replaces the renditions, sets `Notice.corrected_at`, and adds one `correction` delivery per
channel the notice reached; `recall_notice` adds one `recall` delivery per such channel,
sets `Notice.recalled_at`, and stops what is still to go (a notice recalled while going
out, or a recurring one: its later occurrences). The engine does the rest
(`broadcasts.delivery.amend`), under the same limits and retries as the notice itself.

Each follow-up row copies from its notice delivery (`parent_id`) the message ids it sent
(`target_refs`) and when (`target_sent_at`), with the next `round` for that channel and
occurrence. A notice none of whose deliveries was sent is refused, and so is a recalled
one: a `Conflict` whose `reason` ("not_sent", "recalled", "sending") the fronts word. A
correction waits until the notice has gone out completely ("sending"), so no group
receives the old text after the correction was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts.ai import AISettings, Preparation, check_length, prepare_notice
from broadcasts.errors import Conflict, InvalidInput
from broadcasts.followup_rows import latest_round_counts, queue_follow_ups, recall_parents
from broadcasts.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Rendition,
    utcnow,
)
from broadcasts.notices import RenditionInput, get_notice, renditions_of
from broadcasts.tenancy import CITY, Tenant

NOT_SENT = "not_sent"
RECALLED = "recalled"
SENDING = "sending"


@dataclass(frozen=True, slots=True)
class Amendment:
    """What a correction or recall set going: `groups` follow-up deliveries, and for a
    recall the notice deliveries it stopped before they went (`stopped`)."""

    notice_id: int
    kind: DeliveryKind
    groups: int
    stopped: int = 0


async def sent_count(
    *, session: AsyncSession, notice_id: int, older_than_seconds: int | None = None
) -> int:
    """Channels the notice itself reached (every occurrence); with `older_than_seconds`,
    only those it reached longer ago than that (past a delete window)."""
    query = (
        select(func.count())
        .select_from(Delivery)
        .where(
            col(Delivery.notice_id) == notice_id,
            col(Delivery.kind) == DeliveryKind.notice,
            col(Delivery.status) == DeliveryStatus.sent,
        )
    )
    if older_than_seconds is not None:
        before = utcnow() - timedelta(seconds=older_than_seconds)
        query = query.where(col(Delivery.sent_at) < before)
    return await session.scalar(query) or 0


async def amendable_notice(
    *, session: AsyncSession, notice_id: int, kind: DeliveryKind, within: Tenant = CITY
) -> Notice:
    """The notice if it can be corrected / recalled now; else the `Conflict` saying why."""
    notice = await get_notice(session=session, notice_id=notice_id, within=within)
    await session.refresh(notice)
    if notice.recalled_at is not None:
        raise Conflict(
            f"notice {notice_id} was recalled already", reason=RECALLED, notice_id=notice_id
        )
    if not await sent_count(session=session, notice_id=notice_id):
        raise Conflict(
            f"notice {notice_id} has not been sent to any group",
            reason=NOT_SENT,
            notice_id=notice_id,
        )
    if kind is DeliveryKind.correction and notice.status is NoticeStatus.dispatching:
        raise Conflict(
            f"notice {notice_id} is still going out; correct it once it is sent",
            reason=SENDING,
            notice_id=notice_id,
        )
    return notice


async def prepare_correction(
    *, session: AsyncSession, notice_id: int, text: str, ai: AISettings, within: Tenant = CITY
) -> Preparation:
    """The AI step on the corrected text, for the locales the notice has; nothing stored."""
    text = text.strip()
    if not text:
        raise InvalidInput("the corrected text is empty", field="text")
    check_length(text, ai)
    await amendable_notice(
        session=session, notice_id=notice_id, kind=DeliveryKind.correction, within=within
    )
    current = await renditions_of(session=session, notice_id=notice_id)
    locales = ["vi", *sorted(loc for loc in current if loc != "vi")]
    return await prepare_notice(text, locales, settings=ai)


def preparation_renditions(prep: Preparation) -> list[RenditionInput]:
    return [
        RenditionInput(
            locale=r.locale,
            text=r.text,
            source=r.source,
            findings=[{"code": f.code, "value": f.value, "locale": f.locale} for f in r.findings],
        )
        for r in prep.renditions.values()
    ]


async def correct_notice(
    *,
    session: AsyncSession,
    notice_id: int,
    text: str,
    actor: str,
    ai: AISettings | None = None,
    renditions: Sequence[RenditionInput] | None = None,
    title: str | None = None,
    within: Tenant = CITY,
) -> Amendment:
    """Correct a sent notice with `text`: the `renditions` the official reviewed (from
    `prepare_correction`), else the AI step's (`ai`) taken as they are."""
    text = text.strip()
    if not text:
        raise InvalidInput("the corrected text is empty", field="text")
    if renditions is None:
        if ai is None:
            raise ValueError("correct_notice needs the reviewed renditions or the AI settings")
        prep = await prepare_correction(
            session=session, notice_id=notice_id, text=text, ai=ai, within=within
        )
        renditions, title = preparation_renditions(prep), prep.title
    notice = await amendable_notice(
        session=session, notice_id=notice_id, kind=DeliveryKind.correction, within=within
    )
    if not any(r.locale == "vi" for r in renditions):
        raise InvalidInput("a Vietnamese rendition is required")
    if any(not r.text.strip() for r in renditions):
        raise InvalidInput("a rendition is empty")
    await _replace_renditions(session, notice_id, renditions)
    now = utcnow()
    notice.text = text
    if title:
        notice.title = title[:300]
    notice.corrected_at = now
    notice.updated_at = now
    session.add(notice)
    groups = await _add_follow_ups(session, notice, DeliveryKind.correction)
    await audit.record(
        session=session,
        actor=actor,
        action="notice.correct",
        subject=f"notice:{notice_id}",
        ward_id=notice.ward_id,
        groups=groups,
    )
    return Amendment(notice_id=notice_id, kind=DeliveryKind.correction, groups=groups)


async def recall_notice(
    *, session: AsyncSession, notice_id: int, actor: str, within: Tenant = CITY
) -> Amendment:
    """Recall a sent notice: delete it where the platform allows, else say it was
    recalled; what has not gone out yet does not go."""
    notice = await amendable_notice(
        session=session, notice_id=notice_id, kind=DeliveryKind.recall, within=within
    )
    now = utcnow()
    # Lock the deliveries being sent now: a worker recording one as sent waits for this
    # recall to commit and then queues its recall itself (`outcomes.write_outcomes`), and
    # one recorded just before is seen as sent below. Either way, exactly one recall.
    await session.execute(
        select(col(Delivery.id))
        .where(
            col(Delivery.notice_id) == notice_id,
            col(Delivery.kind) == DeliveryKind.notice,
            col(Delivery.status) == DeliveryStatus.sending,
        )
        .order_by(col(Delivery.id))  # in id order, as the recorder writes: no deadlock
        .with_for_update()
    )
    stopped = await session.execute(
        update(Delivery)
        .where(
            col(Delivery.notice_id) == notice_id,
            col(Delivery.kind) == DeliveryKind.notice,
            col(Delivery.status) == DeliveryStatus.pending,
        )
        .values(status=DeliveryStatus.cancelled, error="notice recalled", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if notice.status in (NoticeStatus.scheduled, NoticeStatus.dispatching):
        # A worker holding some of it re-reads the status and drops what it has not sent;
        # a recurring notice fires no more.
        notice.status = NoticeStatus.cancelled
    notice.recalled_at = now
    notice.updated_at = now
    session.add(notice)
    groups = await _add_follow_ups(session, notice, DeliveryKind.recall)
    count = int(getattr(stopped, "rowcount", 0) or 0)
    await audit.record(
        session=session,
        actor=actor,
        action="notice.recall",
        subject=f"notice:{notice_id}",
        ward_id=notice.ward_id,
        groups=groups,
        stopped=count,
    )
    return Amendment(notice_id=notice_id, kind=DeliveryKind.recall, groups=groups, stopped=count)


async def _replace_renditions(
    session: AsyncSession, notice_id: int, renditions: Sequence[RenditionInput]
) -> None:
    """The new renditions, and no other: a locale left out falls back to Vietnamese
    rather than keeping the text that was wrong."""
    existing = await renditions_of(session=session, notice_id=notice_id)
    wanted = {r.locale for r in renditions}
    for locale, row in existing.items():
        if locale not in wanted:
            await session.delete(row)
    for item in renditions:
        row = existing.get(item.locale) or Rendition(
            notice_id=notice_id, locale=item.locale, text=""
        )
        row.text = item.text.strip()
        row.source = item.source
        row.findings = list(item.findings)
        row.confirmed = item.confirmed
        session.add(row)
    await session.flush()


async def _add_follow_ups(session: AsyncSession, notice: Notice, kind: DeliveryKind) -> int:
    """One `kind` delivery per sent notice delivery, in the next round of its channel; a
    recall also takes the deliveries stopped part-way (some parts went before a retry)."""
    if kind is DeliveryKind.recall:
        parents = await recall_parents(session, notice_ids=[notice.id or 0])
    else:
        parents = list(
            await session.scalars(
                select(Delivery).where(
                    col(Delivery.notice_id) == notice.id,
                    col(Delivery.kind) == DeliveryKind.notice,
                    col(Delivery.status) == DeliveryStatus.sent,
                )
            )
        )
    return await queue_follow_ups(session, notice_id=notice.id or 0, kind=kind, parents=parents)


async def follow_up_progress(
    *, session: AsyncSession, notice_id: int, kind: DeliveryKind
) -> tuple[int, int, int]:
    """(done, failed, total) of the latest round of `kind` in each channel: «Đính chính:
    8/12 nhóm» on the status message."""
    counts = await latest_round_counts(session, notice_id=notice_id, kind=kind)
    done = counts[DeliveryStatus.sent]
    failed = counts[DeliveryStatus.failed] + counts[DeliveryStatus.cancelled]
    return done, failed, sum(counts.values())
