"""At an occurrence's «Đã nhận» deadline (`NoticeOccurrence.ack_deadline`).

The scheduler's sweep calls `escalate_due`: each occurrence past its deadline is claimed
by one conditional UPDATE of `escalated_at` (two schedulers escalate once); its silent
groups get one automatic reminder (`broadcasts.reminders.remind_silent`) and the caller
receives an `Escalation` (the summary by area, and the areas whose contact person should
be told) to deliver through the bot. The claim, the reminders and the audit rows commit
together; the bot's messages follow the commit, so a crash between them loses the
summary but never doubles the reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts.errors import Conflict
from broadcasts.models import NoticeOccurrence, utcnow
from broadcasts.notices import get_notice
from broadcasts.reminders import (
    AreaAcks,
    GroupState,
    NoticeAcks,
    notice_acks_by_area,
    remind_silent,
)


@dataclass(frozen=True, slots=True)
class Escalation:
    """What one occurrence's deadline did, for the bot to tell the people concerned."""

    notice_id: int
    occurrence: int
    ward_id: int
    official_id: int | None
    title: str
    reminded: int
    acks: NoticeAcks

    @property
    def contacts(self) -> list[AreaAcks]:
        """Areas with a contact person and silent groups."""
        return [a for a in self.acks.areas if a.contact_ref and a.silent]


async def escalate_due(
    *, session: AsyncSession, now: datetime | None = None, limit: int = 20
) -> list[Escalation]:
    """Claim and escalate the occurrences whose deadline has passed (see the docstring);
    the caller commits, then tells people."""
    now = now or utcnow()
    due = (
        await session.execute(
            select(col(NoticeOccurrence.notice_id), col(NoticeOccurrence.occurrence))
            .where(
                col(NoticeOccurrence.ack_deadline).is_not(None),
                col(NoticeOccurrence.ack_deadline) <= now,
                col(NoticeOccurrence.escalated_at).is_(None),
            )
            .order_by(col(NoticeOccurrence.ack_deadline))
            .limit(limit)
        )
    ).all()
    done: list[Escalation] = []
    for notice_id, occurrence in due:
        claimed = cast(
            "CursorResult[Any]",
            await session.execute(
                update(NoticeOccurrence)
                .where(
                    col(NoticeOccurrence.notice_id) == notice_id,
                    col(NoticeOccurrence.occurrence) == occurrence,
                    col(NoticeOccurrence.escalated_at).is_(None),
                )
                .values(escalated_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        if claimed.rowcount != 1:
            continue  # another scheduler took it
        done.append(await _escalate(session, notice_id, occurrence))
    return done


async def _escalate(session: AsyncSession, notice_id: int, occurrence: int) -> Escalation:
    notice = await get_notice(session=session, notice_id=notice_id)
    reminded = 0
    try:
        reminded = await remind_silent(
            session=session,
            notice_id=notice_id,
            occurrence=occurrence,
            actor="loa:deadline",
            automatic=True,
        )
    except Conflict as exc:  # recalled, cancelled, or nothing was sent: no reminder
        await audit.record(
            session=session,
            actor="loa:deadline",
            action="notice.remind_skipped",
            subject=f"notice:{notice_id}",
            ward_id=notice.ward_id,
            occurrence=occurrence,
            reason=str(exc.detail.get("reason", "")),
        )
    acks = await notice_acks_by_area(session=session, notice_id=notice_id, occurrence=occurrence)
    escalation = Escalation(
        notice_id=notice_id,
        occurrence=occurrence,
        ward_id=notice.ward_id,
        official_id=notice.official_id,
        title=notice.title or notice.text[:60],
        reminded=reminded,
        acks=acks,
    )
    await audit.record(
        session=session,
        actor="loa:deadline",
        action="notice.escalate",
        subject=f"notice:{notice_id}",
        ward_id=notice.ward_id,
        occurrence=occurrence,
        acknowledged=acks.count(GroupState.acknowledged),
        silent=acks.count(GroupState.silent),
        reminded=reminded,
        contacts=[a.area_code for a in escalation.contacts],
    )
    return escalation


async def note_contact_told(
    *,
    session: AsyncSession,
    notice_id: int,
    ward_id: int,
    area_code: str,
    contact_ref: str,
    reached: bool,
    reason: str = "",
) -> None:
    """The audit row of telling an area's contact person (or why they could not be told:
    e.g. they never started the bot, which Telegram refuses with 403)."""
    await audit.record(
        session=session,
        actor="loa:deadline",
        action="notice.contact_told" if reached else "notice.contact_unreachable",
        subject=f"notice:{notice_id}",
        ward_id=ward_id,
        area=area_code,
        contact_ref=contact_ref,
        reason=reason,
    )
