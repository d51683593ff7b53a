"""Claiming: when the worker claims, how much, and where each claimed job goes.

A claim is due on a wake (new deliveries), every poll interval, or soon after an account
runs low; never while the worker holds nearly its bound. It takes at most `claim_limit`
rows, and per account at most `per_account` (skipping accounts that still hold half of
that), so that one worker never takes a whole notice that other workers could share. Each
job then goes to its account's lane, or straight to the recorder when its notice was
cancelled or its channel is gone or inactive.
"""

from __future__ import annotations

import logging
import math

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.delivery.claims import Job, claim_due, load_channels, load_notices
from broadcasts.delivery.clock import Clock
from broadcasts.delivery.engine import Sender
from broadcasts.delivery.holdings import Holdings
from broadcasts.delivery.outcomes import Outcome, Recorder, Result
from broadcasts.delivery.remind import mark_acknowledged
from broadcasts.metrics import LEASES_TAKEN_OVER
from broadcasts.models import DeliveryKind
from broadcasts.settings import DeliverySettings

log = logging.getLogger(__name__)

REFILL_SECONDS = 0.25  # at most this often, a claim to refill accounts running low


class Intake:
    """Claims due deliveries for one worker and hands each to its lane."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        worker_id: str,
        settings: DeliverySettings,
        clock: Clock,
        holdings: Holdings,
        recorder: Recorder,
        sender: Sender,
        postgres: bool,
    ) -> None:
        batch = max(1, settings.batch_size)
        # Claims are big and few, as each one reads all due rows to rank them per account;
        # `per_account` keeps a big claim from taking what other workers could send.
        self.claim_limit = 25 * batch
        self.max_held = 100 * batch
        self.last_claim = -math.inf
        self._sessionmaker = sessionmaker
        self._worker_id = worker_id
        self._settings = settings
        self._clock = clock
        self._holdings = holdings
        self._recorder = recorder
        self._sender = sender
        self._postgres = postgres

    def should_claim(self, now: float, *, woken: bool) -> bool:
        if self.max_held - self._holdings.held < self.claim_limit // 4:
            return False  # plenty held; claim when a good batch fits
        since = now - self.last_claim
        return (
            woken
            or since >= self._settings.poll_interval_seconds
            or (self._holdings.hungry and since >= REFILL_SECONDS)
        )

    def next_wait(self, now: float) -> float:
        """How long the loop may sleep before a claim could be due."""
        wait = self._settings.poll_interval_seconds
        if self._holdings.hungry:
            wait = min(wait, max(0.0, self.last_claim + REFILL_SECONDS - now))
        return wait

    async def claim(self, now: float) -> bool:
        """Claim a batch; True when it was full (more may be due right now)."""
        holdings = self._holdings
        self.last_claim = now
        holdings.hungry = False
        room = min(self.max_held - holdings.held, self.claim_limit)
        busy = holdings.busy_accounts()
        try:
            async with session_scope(self._sessionmaker) as session:
                jobs = await claim_due(
                    session=session,
                    worker_id=self._worker_id,
                    now=self._clock.now(),
                    lease_seconds=self._settings.lease_seconds,
                    limit=room,
                    per_account=holdings.per_account,
                    skip_accounts=busy,
                    postgres=self._postgres,
                )
            if jobs:
                async with self._sessionmaker() as session:
                    channels = await load_channels(
                        session=session, channel_ids=[j.channel_id for j in jobs]
                    )
                    await mark_acknowledged(session=session, jobs=jobs)
                    missing = {j.notice_id for j in jobs} - holdings.notices.keys()
                    # A correction changed the texts kept from the notice's own sends.
                    missing |= {j.notice_id for j in jobs if j.kind == DeliveryKind.correction}
                    if missing:
                        holdings.notices.update(
                            await load_notices(session=session, notice_ids=missing)
                        )
        except SQLAlchemyError:
            # Claimed rows (if the claim committed) come back when their lease runs out.
            log.exception("claiming deliveries failed; will try again")
            return False
        holdings.note_claim(jobs, busy)
        taken_over = sum(job.taken_over for job in jobs)
        if taken_over:
            LEASES_TAKEN_OVER.inc(taken_over)
        for job in jobs:
            holdings.hold(job)
            notice = holdings.notices.get(job.notice_id)
            channel = channels.get(job.channel_id)
            if self._sender.is_cancelled(job, notice):
                self._recorder.add(self._sender.cancelled(job))
            elif channel is None:
                self._fail_now(job, "channel not found")
            elif not channel.active:
                self._fail_now(job, f"channel inactive: {channel.inactive_reason or ''}")
            else:
                job.chat_ref = channel.chat_ref
                job.topic_ref = channel.topic_ref
                holdings.lanes.get(job.account_id).push(job)
        return len(jobs) >= room

    def _fail_now(self, job: Job, reason: str) -> None:
        self._recorder.add(
            Outcome(
                job=job,
                result=Result.failed,
                at=self._clock.now(),
                attempts=job.attempts,
                error=reason,
            )
        )
