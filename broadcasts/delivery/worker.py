"""The delivery worker: claims due deliveries, sends them through per-account lanes, records.

The worker claims more while it holds less than its bounds (a few seconds of sending per
bot account), puts each job in its account's lane (`lanes.py`), renews the leases of what
it holds, and hands finished sends to the recorder, which writes them in batches.
`stop()` stops claiming, lets the sends already started finish and be recorded, and puts
back what was claimed but not started; after a crash, the lease runs out and any worker
claims the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import is_postgres, make_engine, make_sessionmaker, session_scope
from broadcasts.delivery.claims import (
    Job,
    NoticeTexts,
    claim_due,
    has_due,
    load_channels,
    load_notices,
    renew_leases,
)
from broadcasts.delivery.engine import Sender
from broadcasts.delivery.lanes import Lanes
from broadcasts.delivery.limits import LimiterBackend, make_limits
from broadcasts.delivery.outcomes import (
    Outcome,
    Recorder,
    Result,
    complete_notices,
    dispatching_among,
)
from broadcasts.delivery.progress import ProgressHook, ProgressReporter
from broadcasts.errors import TransportError
from broadcasts.models import BotAccount, NoticeStatus, utcnow
from broadcasts.settings import Settings
from broadcasts.transports.base import TransportRegistry
from broadcasts.transports.telegram import TelegramTransports

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

_NOTICE_REFRESH_SECONDS = 2.0
_REFILL_SECONDS = 0.25  # at most this often, a claim to refill accounts running low


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
        clock: Clock | None = None,
        limits: LimiterBackend | None = None,
        progress_interval: float = 1.0,
    ) -> None:
        self.settings = settings
        self.config = settings.delivery
        self.worker_id = worker_id or _default_worker_id()
        self._sessionmaker = sessionmaker
        self._given_transports = transports
        self._given_limits = limits
        self._clock: Clock = clock or utcnow
        self._progress = ProgressReporter(on_progress, interval=progress_interval)
        self._postgres = is_postgres(settings.database_url)
        rate = self.config.per_bot_per_second
        concurrency = max(1, self.config.concurrency)
        batch = max(1, self.config.batch_size)
        # Sends in progress per account: enough to keep a bot at its rate even when each
        # request takes a second; without a rate limit, a share of the global bound.
        self._lane_slots = (
            max(1, min(concurrency, math.ceil(rate))) if rate > 0 else max(1, concurrency // 8)
        )
        # Jobs claimed ahead per account: about four seconds of sending at its rate, so a
        # claim every second or two keeps every bot busy.
        self._per_account = max(2 * self._lane_slots, math.ceil(rate * 4)) if rate > 0 else batch
        # Bounds on what one worker holds; claims are big and few, as each one reads all
        # due rows to rank them per account.
        self._max_held = 100 * batch
        self._claim_limit = 25 * batch
        self._wake = asyncio.Event()
        self._wake_requested = False
        self._stopping = False
        self._running = False
        self._stopped = asyncio.Event()
        self._reset_state()

    def _reset_state(self) -> None:
        self._lanes = Lanes(slots=self._lane_slots, deliver=self._deliver)
        self._held = 0
        self._held_by_notice: Counter[int] = Counter()
        self._notices: dict[int, NoticeTexts] = {}
        self._notices_used: dict[int, float] = {}
        self._to_complete: set[int] = set()
        self._more: set[int] = set()  # accounts that may have more due than they were given
        self._hungry = False  # one of them is running low
        self._last_claim = -math.inf
        self.sent_count = 0

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
        return await self._run(deadline=time.monotonic() + timeout)

    # -- the loop -----------------------------------------------------------------------

    async def _run(self, *, deadline: float | None) -> bool:
        if self._running:
            raise RuntimeError("this DeliveryWorker is already running")
        self._running = True
        self._stopped.clear()
        self._reset_state()
        owns_transports = self._given_transports is None
        self._transports: TransportRegistry = self._given_transports or TelegramTransports(
            api_base=self.settings.telegram.api_base,
            token_for=self._token_for,
            timeout=self.config.send_timeout_seconds,
            connection_limit=max(100, self.config.concurrency),
        )
        self._limits = self._given_limits or make_limits(self.config, self.settings.redis_url)
        self._sender = Sender(
            limits=self._limits,
            settings=self.config,
            clock=self._clock,
            http_slots=asyncio.Semaphore(max(1, self.config.concurrency)),
        )
        self._recorder = Recorder(
            sessionmaker=self._sessionmaker,
            worker_id=self.worker_id,
            on_recorded=self._recorded,
        )
        helpers = [
            asyncio.create_task(self._recorder.run(), name="delivery-recorder"),
            asyncio.create_task(self._heartbeat(), name="delivery-heartbeat"),
            asyncio.create_task(self._progress.run(), name="delivery-progress"),
        ]
        idle = False
        try:
            idle = await self._claim_loop(deadline)
        finally:
            try:
                await self._shutdown(helpers, owns_transports)
            finally:
                self._running = False
                self._stopping = False  # a stopped worker may be run again
                self._stopped.set()
        return idle

    async def _claim_loop(self, deadline: float | None) -> bool:
        last_refresh = time.monotonic()
        while not self._stopping:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            more_now = False
            if self._should_claim(now):
                self._wake_requested = self._hungry = False
                self._last_claim = now
                more_now = await self._claim()
            if now - last_refresh >= _NOTICE_REFRESH_SECONDS:
                last_refresh = now
                await self._refresh_notices()
            if more_now and not self._stopping:
                continue
            if deadline is not None and self._held == 0 and await self._is_idle(deadline):
                await self._recorder.flush()
                await self._check_completions()
                return True
            wait = self.config.poll_interval_seconds
            if self._hungry:
                wait = min(wait, max(0.0, self._last_claim + _REFILL_SECONDS - now))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()
        return False

    def _should_claim(self, now: float) -> bool:
        if self._max_held - self._held < self._claim_limit // 4:
            return False  # plenty held; claim when a good batch fits
        since = now - self._last_claim
        return (
            self._wake_requested
            or since >= self.config.poll_interval_seconds
            or (self._hungry and since >= _REFILL_SECONDS)
        )

    async def _claim(self) -> bool:
        """Claim a batch; True when it was full (more may be due right now)."""
        room = min(self._max_held - self._held, self._claim_limit)
        low = self._per_account // 2
        full = self._lanes.holding_at_least(low)
        try:
            async with session_scope(self._sessionmaker) as session:
                jobs = await claim_due(
                    session=session,
                    worker_id=self.worker_id,
                    now=self._clock(),
                    lease_seconds=self.config.lease_seconds,
                    limit=room,
                    per_account=self._per_account,
                    skip_accounts=full,
                    postgres=self._postgres,
                )
            if jobs:
                async with self._sessionmaker() as session:
                    channels = await load_channels(
                        session=session, channel_ids=[j.channel_id for j in jobs]
                    )
                    missing = {j.notice_id for j in jobs} - self._notices.keys()
                    if missing:
                        self._notices.update(
                            await load_notices(session=session, notice_ids=missing)
                        )
        except SQLAlchemyError:
            # Claimed rows (if the claim committed) come back when their lease runs out.
            log.exception("claiming deliveries failed; will try again")
            return False
        per_account = Counter(job.account_id for job in jobs)
        # Who may have more: the accounts skipped as busy, and those given a full share.
        self._more = (self._more & full) | {
            a for a, n in per_account.items() if n >= self._per_account
        }
        for job in jobs:
            self._hold(job)
            notice = self._notices.get(job.notice_id)
            channel = channels.get(job.channel_id)
            if notice is not None and notice.status is NoticeStatus.cancelled:
                self._recorder.add(self._cancelled(job))
            elif channel is None:
                self._finish_now(job, "channel not found")
            elif not channel.active:
                self._finish_now(job, f"channel inactive: {channel.inactive_reason or ''}")
            else:
                job.chat_ref = channel.chat_ref
                job.topic_ref = channel.topic_ref
                self._lanes.get(job.account_id).push(job)
        return len(jobs) >= room

    def _hold(self, job: Job) -> None:
        self._held += 1
        self._held_by_notice[job.notice_id] += 1
        self._notices_used[job.notice_id] = time.monotonic()
        self._lanes.get(job.account_id).held += 1

    def _cancelled(self, job: Job) -> Outcome:
        return Outcome(
            job=job,
            result=Result.cancelled,
            at=self._clock(),
            attempts=job.attempts,
            error="notice cancelled",
        )

    def _finish_now(self, job: Job, reason: str) -> None:
        self._recorder.add(
            Outcome(
                job=job, result=Result.failed, at=self._clock(), attempts=job.attempts, error=reason
            )
        )

    async def _deliver(self, job: Job) -> None:
        try:
            outcome = await self._attempt(job)
        except asyncio.CancelledError:
            # Only sends not yet started are cancelled (see Lanes.close): nothing went out.
            self._recorder.add(
                Outcome(job=job, result=Result.released, at=self._clock(), attempts=job.attempts)
            )
            raise
        except Exception as exc:  # a bug must not strand a claimed job: record and retry it
            log.exception("delivery %s failed unexpectedly", job.id)
            outcome = self._sender.retry_or_fail(job, f"internal error: {type(exc).__name__}")
        self._recorder.add(outcome)

    async def _attempt(self, job: Job) -> Outcome:
        notice = self._notices.get(job.notice_id)
        if notice is not None and notice.status is NoticeStatus.cancelled:
            return self._cancelled(job)
        text = notice.text_for(job.locale) if notice is not None else None
        if text is None:
            return Outcome(
                job=job,
                result=Result.failed,
                at=self._clock(),
                attempts=job.attempts + 1,
                error=f"no text for locale {job.locale}",
            )
        try:
            transport = await self._transports.transport_for(job.account_id)
        except TransportError as exc:
            return self._sender.retry_or_fail(job, exc.message)
        return await self._sender.deliver(job, text, transport)

    async def _recorded(self, outcomes: Sequence[Outcome]) -> None:
        touched: set[int] = set()
        let_go: set[int] = set()  # notices this worker now holds nothing of
        for outcome in outcomes:
            job = outcome.job
            touched.add(job.notice_id)
            self._held -= 1
            self._held_by_notice[job.notice_id] -= 1
            if self._held_by_notice[job.notice_id] <= 0:
                del self._held_by_notice[job.notice_id]
                let_go.add(job.notice_id)
            lane = self._lanes.by_account.get(job.account_id)
            if lane is not None:
                lane.held -= 1
                if (
                    not self._hungry
                    and lane.held < self._per_account // 2
                    and job.account_id in self._more
                ):
                    self._hungry = True
                    self._wake.set()
            if outcome.result is Result.sent:
                self.sent_count += 1
        self._progress.touch(touched)
        if let_go:
            self._to_complete |= let_go
            await self._check_completions(let_go)

    async def _check_completions(self, notice_ids: set[int] | None = None) -> None:
        """Close the notices this worker holds nothing of, once all their deliveries are final.

        A notice that stays open (another worker is finishing it, or a retry is due later)
        is checked again every few seconds, so whichever worker records last, it is closed.
        """
        pool = self._to_complete if notice_ids is None else notice_ids
        candidates = {n for n in pool if n not in self._held_by_notice}
        if not candidates:
            return
        try:
            async with session_scope(self._sessionmaker) as session:
                done = await complete_notices(
                    session=session, notice_ids=candidates, now=self._clock()
                )
                still_open = await dispatching_among(session=session, notice_ids=candidates)
        except SQLAlchemyError:
            log.exception("checking notice completion failed; will try again")
            return
        self._to_complete -= candidates - still_open
        if done:
            log.info("notices %s delivered", done)
            self._progress.completed(done)

    async def _refresh_notices(self) -> None:
        """Re-read the status of notices held (a cancel stops what was not sent) and forget
        notices nothing is held of."""
        now = time.monotonic()
        for notice_id in [n for n in self._notices if n not in self._held_by_notice]:
            if now - self._notices_used.get(notice_id, 0.0) > 60:
                self._notices.pop(notice_id, None)
                self._notices_used.pop(notice_id, None)
        held = list(self._held_by_notice)
        try:
            if held:
                async with self._sessionmaker() as session:
                    fresh = await load_notices(session=session, notice_ids=held, with_texts=False)
                for notice_id, state in fresh.items():
                    if notice_id in self._notices:
                        self._notices[notice_id].status = state.status
            if self._to_complete:
                await self._check_completions()
        except SQLAlchemyError:
            log.exception("refreshing notices failed")

    async def _is_idle(self, deadline: float) -> bool:
        """Nothing held here, nothing written pending, and nothing due before `deadline`."""
        if len(self._recorder):
            return False
        horizon = self._clock() + timedelta(seconds=max(0.0, deadline - time.monotonic()))
        async with self._sessionmaker() as session:
            return not await has_due(session=session, before=horizon)

    async def _heartbeat(self) -> None:
        """Keep the leases of held jobs alive: a bot paused by a 429 must not lose them."""
        every = max(0.5, self.config.lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            if self._held == 0:
                continue
            try:
                async with session_scope(self._sessionmaker) as session:
                    await renew_leases(
                        session=session,
                        worker_id=self.worker_id,
                        now=self._clock(),
                        lease_seconds=self.config.lease_seconds,
                    )
            except SQLAlchemyError:
                log.exception("renewing leases failed")

    async def _token_for(self, account_id: int) -> str:
        async with self._sessionmaker() as session:
            account = await session.get(BotAccount, account_id)
        if account is None:
            raise TransportError(f"bot account {account_id} not found")
        if account.transport != "telegram":
            raise TransportError(f"no {account.transport!r} transport for bot account {account_id}")
        return account.token

    # -- stopping -----------------------------------------------------------------------

    async def _shutdown(self, helpers: list[asyncio.Task[None]], owns_transports: bool) -> None:
        queued = await self._lanes.close(grace=self.config.send_timeout_seconds * 2 + 5)
        for job in queued:
            self._recorder.add(
                Outcome(job=job, result=Result.released, at=self._clock(), attempts=job.attempts)
            )
        for attempt in range(10):
            if await self._recorder.flush():
                break
            await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
        else:
            log.error(
                "%d delivery outcomes could not be written; their leases will expire",
                len(self._recorder),
            )
        await self._check_completions()
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await self._progress.report()
        if self._given_limits is None:
            await self._limits.close()
        if owns_transports:
            await self._transports.close()


async def run_worker(settings: Settings) -> None:
    """Run one delivery worker until SIGTERM or SIGINT (the `loa worker` command)."""
    engine = make_engine(settings.database_url)
    worker = DeliveryWorker(sessionmaker=make_sessionmaker(engine), settings=settings)
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, worker.request_stop)
            handled.append(sig)
    log.info("delivery worker %s started", worker.worker_id)
    try:
        await worker.run()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await engine.dispose()
        log.info("delivery worker %s stopped (%d sent)", worker.worker_id, worker.sent_count)
