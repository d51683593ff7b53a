"""Approval: the gate on confirming a notice, and the approvers' decisions.

A ward whose policy (`broadcasts.policy`) says `needs_approval` keeps every confirmed
notice a draft with `Notice.approval = "pending"` and the chosen time on it: the
scheduler fires `scheduled` notices only, so nothing goes out before an approver
decides. The first decision wins: `decide` is one conditional UPDATE (`approval =
'pending'`), so two approvers pressing at once decide once, and the other is told who
decided. An urgent notice goes out at once when the ward allows it
(`urgent_skips_approval`; approval "skipped"), and the approvers are told; a notice
written by an approver is approved by writing it.

Which approvers were asked is kept (`ApprovalPrompt`), written before the request goes
out: the bot asks the approvers of any pending notice nobody was asked about yet, so a
notice confirmed through the API (another process) reaches them too, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts.errors import Conflict, InvalidInput, NoApprover, NotAllowed
from broadcasts.models import (
    Approval,
    ApprovalPrompt,
    AuditEvent,
    Notice,
    NoticeStatus,
    NoticeTarget,
    Official,
    utcnow,
)
from broadcasts.notices import get_notice, notice_in_ward, schedule_notice
from broadcasts.policy import approvers_of, get_policy, is_approver

MAX_REASON_CHARS = 500
# Decisions an approver makes, and the audit action of each.
DECISIONS = {
    Approval.approved: "notice.approve",
    Approval.changes: "notice.request_changes",
    Approval.rejected: "notice.reject",
}
# An urgent notice sent without waiting is told to the approvers if it is this recent
# (the sweep does not look further back for a ward that had no approver then).
SKIPPED_TELL_WITHIN = timedelta(days=1)
# A request claimed but not recorded as sent this long ago (the process died, or the
# message failed for a passing reason) is claimed again by the next sweep. Longer than one
# send takes with its retries, so a slow send in flight is not asked twice.
UNSENT_RETRY_AFTER = timedelta(minutes=2)
# `message_ref` of a request that cannot be sent (the approver blocked the bot, or is on a
# platform this bot does not speak): never tried again, and nothing to edit later.
UNREACHABLE = ""


async def hold_for_approval(
    *, session: AsyncSession, notice_id: int, at: datetime | None, actor: str = ""
) -> bool:
    """The gate on confirming a draft: True when it now waits for an approver (nothing is
    scheduled; `at`, None for "as soon as approved", is kept on the notice); False when
    it may be scheduled as usual (no approval needed, approved by its writer, or urgent
    and allowed to skip: `Notice.approval` says which).

    A ward that needs approval and has no approver refuses (`NoApprover`): the notice
    stays as it was, rather than waiting for nobody."""
    notice = await get_notice(session=session, notice_id=notice_id)
    if notice.status != NoticeStatus.draft:
        return False
    policy = await get_policy(session=session, ward_id=notice.ward_id)
    if not policy.needs_approval:
        notice.approval = ""
        session.add(notice)
        return False
    subject = f"notice:{notice_id}"
    writer = await session.get(Official, notice.official_id) if notice.official_id else None
    if writer is not None and is_approver(writer, notice.ward_id):
        notice.approval, notice.approved_by = Approval.approved, writer.id
        session.add(notice)
        await audit.record(
            session=session,
            actor=actor,
            action="notice.approve",
            subject=subject,
            ward_id=notice.ward_id,
            decision=Approval.approved,
            by_writer=True,
        )
        return False
    if notice.urgent and policy.urgent_skips_approval:
        notice.approval, notice.approved_by = Approval.skipped, None
        session.add(notice)
        await audit.record(
            session=session,
            actor=actor,
            action="notice.approval_skipped",
            subject=subject,
            ward_id=notice.ward_id,
            decision=Approval.skipped,
        )
        await _forget_requests(session, notice_id)
        return False
    others = await approvers_of(
        session=session, ward_id=notice.ward_id, excluding=notice.official_id
    )
    if not others:
        raise NoApprover(
            "the ward needs approval before a notice goes out, and has no approver",
            notice_id=notice_id,
            reason=NoApprover.reason,
        )
    # The checks scheduling makes (targets, Vietnamese text, checked facts) are made now,
    # so that approvers never see a notice that could not go out; then it is held back.
    await schedule_notice(session=session, notice_id=notice_id, at=at)
    notice.status, notice.scheduled_at = NoticeStatus.draft, at
    notice.approval, notice.approved_by = Approval.pending, None
    session.add(notice)
    await _forget_requests(session, notice_id)  # sent again after changes: ask anew
    await audit.record(
        session=session,
        actor=actor,
        action="notice.approval_request",
        subject=subject,
        ward_id=notice.ward_id,
        at=at,
    )
    return True


async def _forget_requests(session: AsyncSession, notice_id: int) -> None:
    await session.execute(
        delete(ApprovalPrompt)
        .where(col(ApprovalPrompt.notice_id) == notice_id)
        .execution_options(synchronize_session=False)
    )
    await session.flush()


@dataclass(frozen=True, slots=True)
class Decided:
    """What `decide` found: the decision that stands and who made it."""

    notice: Notice
    decision: str  # an Approval value; "" or "skipped" when no approver decided
    by: Official | None
    won: bool  # this call decided; False: a decision (or a cancel) came first
    late: bool = False  # approved after its chosen time: it goes out now
    reason: str = ""


async def decide(
    *, session: AsyncSession, notice_id: int, approver: Official, decision: str, reason: str = ""
) -> Decided:
    """An approver's decision on a pending notice of their ward (see the module docstring).

    Approved: scheduled for its chosen time, or now if that has passed (`late`). Changes:
    back to the official, still a draft. Rejected: cancelled. Changes and rejection need a
    short reason (`InvalidInput`, reason "no_reason")."""
    action = DECISIONS.get(decision)  # type: ignore[call-overload]
    if action is None:
        raise InvalidInput(f"unknown decision '{decision}'", field="decision")
    if approver.id is None or not is_approver(approver, approver.ward_id):
        raise NotAllowed("only the ward's approvers decide on notices", reason="not_approver")
    notice = await notice_in_ward(session=session, notice_id=notice_id, ward_id=approver.ward_id)
    reason = " ".join(reason.split())[:MAX_REASON_CHARS]
    if decision != Approval.approved and not reason:
        raise InvalidInput("a reason is needed", reason="no_reason")
    now = utcnow()
    values: dict[str, Any] = {"approval": decision, "approved_by": approver.id, "updated_at": now}
    if decision == Approval.rejected:
        values["status"] = NoticeStatus.cancelled
    claimed = cast(
        "CursorResult[Any]",
        await session.execute(
            update(Notice)
            .where(
                col(Notice.id) == notice_id,
                col(Notice.status) == NoticeStatus.draft,
                col(Notice.approval) == Approval.pending,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    notice = await notice_in_ward(session=session, notice_id=notice_id, ward_id=approver.ward_id)
    if claimed.rowcount != 1:
        return await standing_decision(session=session, notice=notice)
    late = False
    if decision == Approval.approved:
        at = notice.scheduled_at
        late = at is not None and at <= now
        notice = await schedule_notice(
            session=session, notice_id=notice_id, at=None if late else at, rrule=notice.rrule
        )
    await audit.record(
        session=session,
        actor=f"official:{approver.id}:{approver.name}",
        action=action,
        subject=f"notice:{notice_id}",
        ward_id=notice.ward_id,
        decision=decision,
        reason=reason,
        late=late,
    )
    return Decided(notice, decision, approver, won=True, late=late, reason=reason)


async def standing_decision(*, session: AsyncSession, notice: Notice) -> Decided:
    """The decision that stands on a notice no longer pending (`won` False); with no
    approver's decision (cancelled by its writer, say), `by` is None."""
    by = await session.get(Official, notice.approved_by) if notice.approved_by else None
    reason = await decision_reason(session=session, notice_id=notice.id or 0)
    decision = notice.approval if notice.approval in DECISIONS else ""
    return Decided(notice, decision, by if decision else None, won=False, reason=reason)


async def reopen_for_changes(
    *, session: AsyncSession, notice_id: int, official: Official
) -> list[int]:
    """A notice sent back for changes, opened again by its writer: its target areas (to
    start the picker with). Anything else is a `Conflict` naming the notice's status."""
    notice = await notice_in_ward(session=session, notice_id=notice_id, ward_id=official.ward_id)
    if notice.official_id != official.id:
        raise NotAllowed("only the notice's writer edits it", reason="not_writer")
    if notice.status != NoticeStatus.draft or notice.approval != Approval.changes:
        raise Conflict(
            f"notice {notice_id} is {notice.status.value}",
            status=notice.status,
            notice_id=notice_id,
        )
    rows = await session.scalars(
        select(col(NoticeTarget.area_id)).where(col(NoticeTarget.notice_id) == notice_id)
    )
    return sorted(rows)


async def decision_reason(*, session: AsyncSession, notice_id: int) -> str:
    """The reason of the latest decision on the notice ("" if none was given)."""
    event = await session.scalar(
        select(AuditEvent)
        .where(
            col(AuditEvent.subject) == f"notice:{notice_id}",
            col(AuditEvent.action).in_(list(DECISIONS.values())),
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    )
    return str(event.detail.get("reason") or "") if event is not None else ""


async def unasked_notices(*, session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Notices whose approvers were not asked (pending) or told (skipped) yet."""
    now = now or utcnow()
    since = now - SKIPPED_TELL_WITHIN
    asked = exists().where(col(ApprovalPrompt.notice_id) == col(Notice.id))
    unsent = exists().where(
        col(ApprovalPrompt.notice_id) == col(Notice.id),
        col(ApprovalPrompt.message_ref).is_(None),
        col(ApprovalPrompt.asked_at) < now - UNSENT_RETRY_AFTER,
    )
    rows = await session.scalars(
        select(col(Notice.id))
        .where(
            ~asked | unsent,
            (col(Notice.approval) == Approval.pending) & (col(Notice.status) == NoticeStatus.draft)
            | (col(Notice.approval) == Approval.skipped) & (col(Notice.updated_at) >= since),
        )
        .order_by(col(Notice.id))
    )
    return [i for i in rows if i is not None]


async def claim_requests(*, session: AsyncSession, notice_id: int) -> list[Official]:
    """The approvers to ask (or tell) about the notice that nobody asked yet: their rows
    are written now, so that no other sweep or press asks them again. The caller commits
    before sending, then records each message with `request_sent` (or `request_failed`).
    A row claimed over `UNSENT_RETRY_AFTER` ago and never sent is claimed again."""
    notice = await get_notice(session=session, notice_id=notice_id)
    if notice.approval not in (Approval.pending, Approval.skipped):
        return []
    approvers = await approvers_of(
        session=session, ward_id=notice.ward_id, excluding=notice.official_id
    )
    claimed: list[Official] = []
    for approver in approvers:
        now = utcnow()
        values = {
            "notice_id": notice_id,
            "official_id": approver.id,
            "chat_ref": approver.user_ref,
            "asked_at": now,
        }
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        result = cast(
            "CursorResult[Any]",
            await session.execute(
                insert(ApprovalPrompt)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["notice_id", "official_id"])
            ),
        )
        if result.rowcount != 1:  # claimed before: again only if it never went out
            result = cast(
                "CursorResult[Any]",
                await session.execute(
                    _update_prompt(notice_id, approver.id or 0)
                    .where(
                        col(ApprovalPrompt.message_ref).is_(None),
                        col(ApprovalPrompt.asked_at) < now - UNSENT_RETRY_AFTER,
                    )
                    .values(asked_at=now, chat_ref=approver.user_ref)
                ),
            )
        if result.rowcount == 1:
            claimed.append(approver)
    return claimed


def _update_prompt(notice_id: int, official_id: int) -> Update:
    """An UPDATE of one approver's request for one notice."""
    return update(ApprovalPrompt).where(
        col(ApprovalPrompt.notice_id) == notice_id,
        col(ApprovalPrompt.official_id) == official_id,
    )


async def request_sent(
    *,
    session: AsyncSession,
    notice_id: int,
    official_id: int,
    message_ref: str,
    closed: bool = False,
) -> None:
    """The request went out as `message_ref`; `closed` when it asks nothing (it tells of
    an urgent notice sent without waiting), so no sweep ever edits it to show an outcome."""
    await session.execute(
        _update_prompt(notice_id, official_id).values(
            message_ref=message_ref, closed_at=utcnow() if closed else None
        )
    )


async def request_failed(*, session: AsyncSession, notice_id: int, official_id: int) -> None:
    """The request cannot reach this approver (see `UNREACHABLE`): not tried again."""
    await request_sent(
        session=session, notice_id=notice_id, official_id=official_id, message_ref=UNREACHABLE
    )


async def requests_of(*, session: AsyncSession, notice_id: int) -> list[ApprovalPrompt]:
    """Where each approver's request for the notice is (to show them the decision)."""
    rows = await session.scalars(
        select(ApprovalPrompt).where(col(ApprovalPrompt.notice_id) == notice_id)
    )
    return list(rows)


async def settled_requests(*, session: AsyncSession) -> list[ApprovalPrompt]:
    """Requests still showing their buttons for a notice that no longer waits (decided
    in another process, or cancelled by its writer meanwhile)."""
    rows = await session.scalars(
        select(ApprovalPrompt)
        .join(Notice, col(Notice.id) == col(ApprovalPrompt.notice_id))
        .where(
            col(ApprovalPrompt.message_ref).is_not(None),
            col(ApprovalPrompt.message_ref) != UNREACHABLE,
            col(ApprovalPrompt.closed_at).is_(None),
            (col(Notice.approval) != Approval.pending) | (col(Notice.status) != NoticeStatus.draft),
        )
        .order_by(col(ApprovalPrompt.notice_id))
    )
    return list(rows)


async def close_request(*, session: AsyncSession, notice_id: int, official_id: int) -> None:
    await session.execute(_update_prompt(notice_id, official_id).values(closed_at=utcnow()))
