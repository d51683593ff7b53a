"""The delivery worker: claims due deliveries, sends them through per-account lanes, records.

The parts, each in its own module: `intake.py` claims (when, how much, where each job goes),
`lanes.py` runs each account's sends, `engine.py` sends one delivery and classifies how it
ended, `outcomes.py` writes the outcomes in batches, `completion.py` follows what was
written (progress, finished notices), `heartbeat.py` keeps the leases alive, and
`holdings.py` counts what the worker holds. The worker's bounds keep it to about two
seconds of sending per bot account, so several workers share a big notice.

`stop()` stops claiming, lets the sends already started finish and be recorded, and puts
back what was claimed but not started; after a crash, the lease (a few heartbeats) runs out
and any worker claims the rest within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import is_postgres, session_scope
from broadcasts.delivery.claims import Job, has_due
from broadcasts.delivery.clock import LOOP_CLOCK, Clock
from broadcasts.delivery.completion import Completion
from broadcasts.delivery.engine import Sender
from broadcasts.delivery.heartbeat import keep_leases
from broadcasts.delivery.holdings import Holdings, lane_slots, per_account_bound
from broadcasts.delivery.intake import Intake
from broadcasts.delivery.lanes import Lanes
from broadcasts.delivery.limits import LimiterBackend, make_limits
from broadcasts.delivery.outcomes import Outcome, Recorder, Result
from broadcasts.delivery.progress import ProgressHook, ProgressReporter
from broadcasts.health import forget_beat, keep_beating
from broadcasts.links import link_maker
from broadcasts.settings import Settings
from broadcasts.transports.base import TransportRegistry
from broadcasts.transports.registry import settings_transports

_NOTICE_REFRESH_SECONDS = 2.0

log = logging.getLogger(__name__)


def _default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class DeliveryWorker:
    """Sends every due delivery; run as many as you like against one PostgreSQL database."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        transports: TransportRegistry | None = None,
        worker_id: str | None = None,
        on_progress: ProgressHook | None = None,
        clock: Clock = LOOP_CLOCK,
        limits: LimiterBackend | None = None,
        progress_interval: float = 1.0,
    ) -> None:
        self.settings = settings
        self.config = settings.delivery
        self.worker_id = worker_id or _default_worker_id()
        self._sessionmaker = sessionmaker
        self._given_transports = transports
        self._given_limits = limits
        self._clock = clock
        self._progress = ProgressReporter(on_progress, interval=progress_interval)
        self._postgres = is_postgres(settings.database_url)
        rate = self.config.per_bot_per_second
        self._lane_slots = lane_slots(rate=rate, concurrency=max(1, self.config.concurrency))
        self._per_account = per_account_bound(
            rate=rate, slots=self._lane_slots, batch=max(1, self.config.batch_size)
        )
        self._wake = asyncio.Event()
        self._wake_requested = False
        self._stopping = False
        self._running = False
        self._stopped = asyncio.Event()
        self._completion: Completion | None = None

    @property
    def sent_count(self) -> int:
        """Deliveries this worker sent in its last (or current) run."""
        return self._completion.sent_count if self._completion is not None else 0

    # -- public API ---------------------------------------------------------------------

    def wake(self) -> None:
        """Claim now rather than at the next poll (call after creating deliveries)."""
        self._wake_requested = True
        self._wake.set()

    def request_stop(self) -> None:
        """Begin a graceful stop without waiting for it (for signal handlers)."""
        self._stopping = True
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming, finish and record the sends in progress, release the rest."""
        self.request_stop()
        if self._running:
            await self._stopped.wait()

    async def run(self) -> None:
        """Deliver until `stop()`."""
        await self._run(deadline=None)

    async def run_until_idle(self, timeout: float = 60.0) -> bool:
        """Deliver until nothing is due before `timeout` runs out; False if time ran out.

        A delivery waiting for a retry counts as due when its retry falls before the
        deadline, so a test sees retries through; ones due later are left for later.
        """
        return await self._run(deadline=self._clock.monotonic() + timeout)

    # -- the loop -----------------------------------------------------------------------

    async def _run(self, *, deadline: float | None) -> bool:
        if self._running:
            raise RuntimeError("this DeliveryWorker is already running")
        self._running = True
        self._stopped.clear()
        self._transports = self._given_transports or settings_transports(
            settings=self.settings, sessionmaker=self._sessionmaker
        )
        self._limits = self._given_limits or make_limits(
            self.config,
            self.settings.redis_url,
            transport_rates=self.settings.transport_rates,
            clock=self._clock,
        )
        self._sender = Sender(
            limits=self._limits,
            settings=self.config,
            clock=self._clock,
            http_slots=asyncio.Semaphore(max(1, self.config.concurrency)),
            attachments_dir=self.settings.attachments.dir,
            links=link_maker(self.settings),
        )
        self._lanes = Lanes(slots=self._lane_slots, deliver=self._deliver)
        holdings = Holdings(lanes=self._lanes, per_account=self._per_account, clock=self._clock)
        self._holdings = holdings
        self._completion = Completion(
            sessionmaker=self._sessionmaker,
            clock=self._clock,
            holdings=holdings,
            progress=self._progress,
            on_hungry=self._wake.set,
        )
        self._recorder = Recorder(
            sessionmaker=self._sessionmaker,
            worker_id=self.worker_id,
            on_recorded=self._completion.recorded,
        )
        self._intake = Intake(
            sessionmaker=self._sessionmaker,
            worker_id=self.worker_id,
            settings=self.config,
            clock=self._clock,
            holdings=holdings,
            recorder=self._recorder,
            sender=self._sender,
            postgres=self._postgres,
        )
        heartbeat = keep_leases(
            sessionmaker=self._sessionmaker,
            worker_id=self.worker_id,
            lease_seconds=self.config.lease_seconds,
            heartbeat_seconds=self.config.heartbeat_seconds,
            clock=self._clock,
            is_holding=lambda: holdings.held > 0,
            postgres=self._postgres,
        )
        alive = keep_beating(
            sessionmaker=self._sessionmaker,
            role="worker",
            process_id=self.worker_id,
            every=self.settings.health.beat_seconds,
            clock=self._clock,
        )
        helpers = [
            asyncio.create_task(self._recorder.run(), name="delivery-recorder"),
            asyncio.create_task(heartbeat, name="delivery-heartbeat"),
            asyncio.create_task(alive, name="delivery-alive"),
            asyncio.create_task(self._progress.run(), name="delivery-progress"),
        ]
        idle = False
        try:
            idle = await self._claim_loop(deadline)
        finally:
            try:
                await self._shutdown(helpers)
            finally:
                self._running = False
                self._stopping = False  # a stopped worker may be run again
                self._stopped.set()
        return idle

    async def _claim_loop(self, deadline: float | None) -> bool:
        clock, intake, completion = self._clock, self._intake, self._completion
        assert completion is not None
        last_refresh = clock.monotonic()
        while not self._stopping:
            now = clock.monotonic()
            if deadline is not None and now >= deadline:
                return False
            more_now = False
            if intake.should_claim(now, woken=self._wake_requested):
                self._wake_requested = False
                more_now = await intake.claim(now)
            if now - last_refresh >= _NOTICE_REFRESH_SECONDS:
                last_refresh = now
                await completion.refresh()
            if more_now and not self._stopping:
                continue
            if deadline is not None and self._holdings.held == 0 and await self._is_idle(deadline):
                await self._recorder.flush()
                await completion.check()
                return True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(intake.next_wait(now)):
                    await self._wake.wait()
            self._wake.clear()
        return False

    async def _is_idle(self, deadline: float) -> bool:
        """Nothing held here, nothing written pending, and nothing due before `deadline`."""
        if len(self._recorder):
            return False
        left = max(0.0, deadline - self._clock.monotonic())
        horizon = self._clock.now() + timedelta(seconds=left)
        async with self._sessionmaker() as session:
            return not await has_due(session=session, before=horizon)

    async def _deliver(self, job: Job) -> None:
        """A lane's send of one job: its outcome goes to the recorder, come what may."""
        notice = self._holdings.notices.get(job.notice_id)
        try:
            outcome = await self._sender.attempt(job, notice, self._transports)
        except asyncio.CancelledError:
            # Only sends not yet started are cancelled (see Lanes.close): nothing went out.
            self._recorder.add(self._released(job))
            raise
        self._recorder.add(outcome)

    def _released(self, job: Job) -> Outcome:
        return Outcome(job=job, result=Result.released, at=self._clock.now(), attempts=job.attempts)

    # -- stopping -----------------------------------------------------------------------

    async def _shutdown(self, helpers: list[asyncio.Task[None]]) -> None:
        queued = await self._lanes.close(grace=self.config.send_timeout_seconds * 2 + 5)
        for job in queued:
            self._recorder.add(self._released(job))
        await self._recorder.drain()
        assert self._completion is not None
        await self._completion.check()
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        try:
            async with session_scope(self._sessionmaker) as session:
                await forget_beat(session=session, process_id=self.worker_id)
        except SQLAlchemyError:  # the row goes stale instead, and is forgotten in a day
            log.exception("removing worker %s's heartbeat failed", self.worker_id)
        await self._progress.report()
        if self._given_limits is None:
            await self._limits.close()
        if self._given_transports is None:
            await self._transports.close()
