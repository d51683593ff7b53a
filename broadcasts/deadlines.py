"""Acknowledgement deadlines: by when the groups should have pressed «Đã nhận».

A notice's deadline (`Notice.ack_deadline`) is chosen by the official (in the wizard or
the API), else it follows from the ward's policy (`WardPolicy.ack_deadline_minutes`),
else from the setting `LOA_NOTICES__ACK_DEADLINE_MINUTES` (none by default: a notice
without a deadline is never escalated). Each occurrence keeps the same offset after its
own time (`NoticeOccurrence.ack_deadline`), so a weekly notice's deadline is weekly too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.models import Notice, WardPolicy, utcnow


def deadline_for(
    *, ack_deadline: datetime | None, first_due: datetime | None, due_at: datetime
) -> datetime | None:
    """An occurrence's deadline: the notice's, moved by as much as the occurrence comes
    after the first one."""
    if ack_deadline is None or first_due is None:
        return ack_deadline
    return _aware(ack_deadline) + (_aware(due_at) - _aware(first_due))


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value  # stored as UTC


def deadline_after(at: datetime, *, minutes: int | None) -> datetime | None:
    """`minutes` after `at`; None for no deadline (None or 0 minutes)."""
    return at + timedelta(minutes=minutes) if minutes else None


async def default_minutes(
    *, session: AsyncSession, ward_id: int, setting: int | None
) -> int | None:
    """The ward's default deadline in minutes: its policy's, else the setting's."""
    policy = await session.get(WardPolicy, ward_id)
    if policy is not None and policy.ack_deadline_minutes is not None:
        return policy.ack_deadline_minutes or None
    return setting


# The wizard keeps the official's choice as a short string (JSON-safe FSM data):
# "" the ward's default, "none", "m:120" (minutes after sending), "by:<unix time>".
DEFAULT_CHOICE = ""
NO_DEADLINE = "none"


def by_minutes(minutes: int) -> str:
    return f"m:{minutes}"


def by_time(at: datetime) -> str:
    return f"by:{int(at.timestamp())}"


def chosen_deadline(choice: str, *, start: datetime) -> datetime | None | str:
    """The deadline a choice means for a notice sent at `start`; DEFAULT_CHOICE back when
    the ward's default applies."""
    if choice == NO_DEADLINE:
        return None
    kind, _, value = choice.partition(":")
    if kind == "m" and value.isdigit():
        return _aware(start) + timedelta(minutes=int(value))
    if kind == "by" and value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return DEFAULT_CHOICE


async def set_ack_deadline(
    *, session: AsyncSession, notice: Notice, choice: str, setting: int | None
) -> datetime | None:
    """Store the notice's deadline from the official's choice (or the default), counted
    from when it is to go out; the caller commits."""
    start = _aware(notice.scheduled_at or utcnow())
    deadline = chosen_deadline(choice, start=start)
    if isinstance(deadline, str):
        minutes = await default_minutes(session=session, ward_id=notice.ward_id, setting=setting)
        deadline = deadline_after(start, minutes=minutes)
    notice.ack_deadline = deadline
    session.add(notice)
    await session.flush()
    return deadline
