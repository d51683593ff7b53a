"""A sent notice's correction and recall as the official follows them: the status
message's buttons and progress line, and the message that says it is done.

The progress comes from the follow-up deliveries (`broadcasts.corrections.follow_up_progress`)
and is drawn by the existing status refresh (`Services.refresh_status`), which the delivery
worker calls as outcomes are written. That refresh also asks `AmendNews` whether every
group has been handled, and if so tells the official in a message of its own; it remembers
in this process what it told (a restart may tell once more).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import amend_keyboard
from bot.texts import amend_done, amend_progress
from broadcasts.corrections import follow_up_progress, sent_count
from broadcasts.models import DeliveryKind, Notice, NoticeStatus

log = logging.getLogger(__name__)

_SENT = (NoticeStatus.dispatching, NoticeStatus.done, NoticeStatus.cancelled)


def latest_amendment(notice: Notice) -> tuple[DeliveryKind, datetime] | None:
    """The correction or recall the notice had last (a recall ends its story)."""
    if notice.recalled_at is not None:
        return DeliveryKind.recall, notice.recalled_at
    if notice.corrected_at is not None:
        return DeliveryKind.correction, notice.corrected_at
    return None


async def amend_status(
    *, session: AsyncSession, notice: Notice
) -> tuple[str | None, InlineKeyboardMarkup | None]:
    """The status message's follow-up line, and «✏️ Đính chính» «🗑 Thu hồi» under a
    sent notice (only «Thu hồi» while it is still going out; none once recalled)."""
    notice_id = notice.id or 0
    line = None
    latest = latest_amendment(notice)
    if latest is not None:
        done, failed, total = await follow_up_progress(
            session=session, notice_id=notice_id, kind=latest[0]
        )
        if total:
            line = amend_progress(latest[0].value, done, failed, total)
    if notice.recalled_at is not None or notice.status not in _SENT:
        return line, None
    if not await sent_count(session=session, notice_id=notice_id):
        return line, None
    return line, amend_keyboard(notice_id, correct=notice.status != NoticeStatus.dispatching)


async def _logged(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        await work()
    except Exception:  # news only: a failure must not touch the status refresh
        log.exception("telling the official about a correction or recall failed")


class AmendNews:
    """Tells an official, once, that their correction or recall has run everywhere."""

    def __init__(self) -> None:
        self._told: set[tuple[int, str, datetime]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.get_running_loop().create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def finished_text(self, *, session: AsyncSession, notice: Notice) -> str | None:
        """The «done» message to send now, or None (not done yet, or told already)."""
        latest = latest_amendment(notice)
        if latest is None or not notice.status_chat_ref:
            return None
        key = (notice.id or 0, latest[0].value, latest[1])
        if key in self._told:
            return None
        done, failed, total = await follow_up_progress(
            session=session, notice_id=notice.id or 0, kind=latest[0]
        )
        if not total or done + failed < total or key in self._told:
            return None
        self._told.add(key)
        return amend_done(latest[0].value, notice.id or 0, done, failed, total)
