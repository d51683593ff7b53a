"""APScheduler on top of the database: the notice table is the schedule.

Each scheduled notice gets a one-off job at its time; at start the jobs are rebuilt
from the database (overdue ones fire at once), and a sweep every few seconds catches
notices scheduled by another process. Firing is `dispatch_notice`, which is idempotent.

The same sweep escalates the occurrences whose acknowledgement deadline has passed
(`broadcasts.reminders.escalate_due`: claimed with one conditional UPDATE each, so two
schedulers escalate once) and hands each `Escalation` to `on_escalated` (the bot tells
the official and the areas' contacts) after the commit.

A recurring notice is still scheduled after a fire, at its next occurrence: the fire plans
that one (see `broadcasts.recurrence`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.escalation import Escalation, escalate_due
from broadcasts.models import NoticeStatus, utcnow
from broadcasts.notices import dispatch_notice, due_notice_ids, get_notice, scheduled_notices

log = logging.getLogger(__name__)

OnDispatched = Callable[[int, int], Awaitable[None]]  # (notice_id, deliveries created)
OnEscalated = Callable[[Escalation], Awaitable[None]]


class NoticeScheduler:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        on_dispatched: OnDispatched | None = None,
        on_escalated: OnEscalated | None = None,
        sweep_seconds: float = 5.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._on_dispatched = on_dispatched
        self._on_escalated = on_escalated
        self._sweep_seconds = sweep_seconds
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    async def start(self) -> None:
        self._scheduler.start()
        self._scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self._sweep_seconds,
            id="sweep",
            coalesce=True,
            max_instances=1,
        )
        async with session_scope(self._sessionmaker) as session:
            for notice_id, at in await scheduled_notices(session=session):
                self.plan(notice_id, at)

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def plan(self, notice_id: int, at: datetime) -> None:
        """(Re)plan a notice's firing; past times fire at once."""
        self._scheduler.add_job(
            self.fire,
            DateTrigger(run_date=max(at, utcnow())),
            args=[notice_id],
            id=f"notice:{notice_id}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def unplan(self, notice_id: int) -> None:
        job = self._scheduler.get_job(f"notice:{notice_id}")
        if job is not None:
            job.remove()

    def planned_at(self, notice_id: int) -> datetime | None:
        """When this process will fire the notice (None: not planned here)."""
        job = self._scheduler.get_job(f"notice:{notice_id}")
        return job.next_run_time if job is not None else None

    async def fire(self, notice_id: int) -> int | None:
        async with session_scope(self._sessionmaker) as session:
            created = await dispatch_notice(session=session, notice_id=notice_id, due_by=utcnow())
            notice = await get_notice(session=session, notice_id=notice_id)
            following = notice.scheduled_at if notice.status == NoticeStatus.scheduled else None
        if following is not None and self._scheduler.running:
            self.plan(notice_id, following)  # a recurring notice's next occurrence
        if created is None:
            return None  # fired already (by us or another process), or moved to later
        log.info("notice %s fired: %s deliveries", notice_id, created)
        if self._on_dispatched is not None:
            await self._on_dispatched(notice_id, created)
        return created

    async def sweep(self) -> None:
        async with session_scope(self._sessionmaker) as session:
            due = await due_notice_ids(session=session)
        for notice_id in due:
            await self.fire(notice_id)
        await self.escalate()

    async def escalate(self, now: datetime | None = None) -> list[Escalation]:
        """Escalate the occurrences past their deadline; each is told once, after commit."""
        async with session_scope(self._sessionmaker) as session:
            done = await escalate_due(session=session, now=now or utcnow())
        for escalation in done:
            log.info(
                "notice %s occurrence %s escalated: %s reminded",
                escalation.notice_id,
                escalation.occurrence,
                escalation.reminded,
            )
            if self._on_escalated is not None:
                try:
                    await self._on_escalated(escalation)
                except Exception:  # telling people must not stop the schedule
                    log.exception("telling escalation of notice %s failed", escalation.notice_id)
        return done
