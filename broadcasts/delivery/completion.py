"""After outcomes are written: free what was held, report progress, close finished notices.

The recorder calls `Completion.recorded` with each batch it wrote. A notice this worker
no longer holds anything of is checked at once: when all its deliveries are final, it is
marked done. One that stays open (another worker is finishing it, or a retry is due later)
is checked again every few seconds, so whichever worker records last, it is closed. The
same round re-reads the status of the notices held, so a cancel stops what is not sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.delivery.claims import load_notices
from broadcasts.delivery.clock import Clock
from broadcasts.delivery.holdings import Holdings
from broadcasts.delivery.outcomes import Outcome, Result, complete_notices, dispatching_among
from broadcasts.delivery.progress import ProgressReporter

log = logging.getLogger(__name__)


class Completion:
    """Follows the recorded outcomes of one worker."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        holdings: Holdings,
        progress: ProgressReporter,
        on_hungry: Callable[[], None],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._holdings = holdings
        self._progress = progress
        self._on_hungry = on_hungry
        self._to_complete: set[int] = set()
        self.sent_count = 0

    async def recorded(self, outcomes: Sequence[Outcome]) -> None:
        was_hungry = self._holdings.hungry
        touched, let_go = self._holdings.release(outcomes)
        if self._holdings.hungry and not was_hungry:
            self._on_hungry()
        self.sent_count += sum(o.result is Result.sent for o in outcomes)
        self._progress.touch(touched)
        if let_go:
            self._to_complete |= let_go
            await self.check(let_go)

    async def check(self, notice_ids: set[int] | None = None) -> None:
        """Close the notices held nothing of, once all their deliveries are final."""
        pool = self._to_complete if notice_ids is None else notice_ids
        candidates = {n for n in pool if n not in self._holdings.by_notice}
        if not candidates:
            return
        try:
            async with session_scope(self._sessionmaker) as session:
                done = await complete_notices(
                    session=session, notice_ids=candidates, now=self._clock.now()
                )
                still_open = await dispatching_among(session=session, notice_ids=candidates)
        except SQLAlchemyError:
            log.exception("checking notice completion failed; will try again")
            return
        self._to_complete -= candidates - still_open
        if done:
            log.info("notices %s delivered", done)
            self._progress.completed(done)

    async def refresh(self) -> None:
        """Re-read the status of notices held, forget idle texts, check open notices."""
        holdings = self._holdings
        holdings.forget_idle_texts()
        held = list(holdings.by_notice)
        try:
            if held:
                async with self._sessionmaker() as session:
                    fresh = await load_notices(session=session, notice_ids=held, with_texts=False)
                for notice_id, state in fresh.items():
                    if notice_id in holdings.notices:
                        holdings.notices[notice_id].status = state.status
            if self._to_complete:
                await self.check()
        except SQLAlchemyError:
            log.exception("refreshing notices failed")
