"""Wizards of chats without buttons: where a flow stands, kept in the database.

A Zalo official composes through numbered text menus, one reply at a time, so the step
and its data must outlive the process (a restart resumes the flow where it stopped) and
must not wait forever: a wizard untouched for longer than its timeout is gone, and the
next message is told so. One row per (bot, chat); the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.models import ChatWizard, utcnow


@dataclass(slots=True)
class WizardState:
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    expired: bool = False  # it was there, but left too long: dropped now


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


async def load_wizard(
    *,
    session: AsyncSession,
    bot_id: int,
    chat_ref: str,
    timeout: timedelta,
    now: datetime | None = None,
) -> WizardState | None:
    """The chat's wizard; None without one. One past `timeout` is deleted and returned
    with `expired` set, so the caller can say so (and clean up its draft)."""
    row = await session.get(ChatWizard, (bot_id, chat_ref))
    if row is None:
        return None
    state = WizardState(step=row.step, data=dict(row.data or {}))
    if _aware(row.updated_at) + timeout < (now or utcnow()):
        await session.delete(row)
        await session.flush()
        state.expired = True
    return state


async def has_wizard(*, session: AsyncSession, bot_id: int, chat_ref: str) -> bool:
    """Whether the chat has a wizard, expired or not (`load_wizard` tells which)."""
    return await session.get(ChatWizard, (bot_id, chat_ref)) is not None


async def save_wizard(
    *, session: AsyncSession, bot_id: int, chat_ref: str, step: str, data: dict[str, Any]
) -> None:
    """The chat's wizard is now at `step` with `data` (JSON-safe), its clock restarted."""
    row = await session.get(ChatWizard, (bot_id, chat_ref))
    if row is None:
        row = ChatWizard(bot_id=bot_id, chat_ref=chat_ref, step=step)
    row.step, row.data, row.updated_at = step, data, utcnow()
    session.add(row)
    await session.flush()


async def clear_wizard(*, session: AsyncSession, bot_id: int, chat_ref: str) -> None:
    row = await session.get(ChatWizard, (bot_id, chat_ref))
    if row is not None:
        await session.delete(row)
        await session.flush()
