"""Sending one claimed delivery: render, wait for the limits, send each part, classify.

The parts are the group message (`broadcasts.message`: the ward and the date, the bold
title, «🚨 KHẨN», the body, the key facts) in the best markup the transport takes, cut to
its longest message; `NoticeTexts` renders them once per notice and locale.

`Sender.attempt` never raises for a transport's failure: every way a send can end becomes
an `Outcome` for the recorder (a cancelled notice, a missing text, an account without a
transport, a bug). Parts already sent (kept in `job.sent_refs`) are skipped, so a retry
resumes where the last attempt stopped; the acknowledge button, labelled in the chat's
language from the catalogs, rides on the last part only.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from broadcasts.delivery import followups
from broadcasts.delivery.claims import Job, NoticeTexts
from broadcasts.delivery.clock import Clock
from broadcasts.delivery.limits import LimiterBackend
from broadcasts.delivery.outcomes import Outcome, Result
from broadcasts.errors import (
    ChatMigrated,
    MessageRejected,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
    TransportError,
)
from broadcasts.i18n import ack_label
from broadcasts.models import DeliveryKind, NoticeStatus
from broadcasts.settings import DeliverySettings
from broadcasts.transports.base import Markup, OutgoingMessage, Transport, TransportRegistry

log = logging.getLogger(__name__)

_MAX_MIGRATIONS = 3


def backoff_seconds(
    attempts: int, *, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base * 2^(n-1))."""
    ceiling: float = min(cap, base * 2.0 ** max(0, attempts - 1))
    return ceiling * (0.5 + 0.5 * rand())


class Sender:
    """Turns a job, its text and its account's transport into an outcome."""

    def __init__(
        self,
        *,
        limits: LimiterBackend,
        settings: DeliverySettings,
        clock: Clock,
        http_slots: asyncio.Semaphore,
    ) -> None:
        self._limits = limits
        self._settings = settings
        self._clock = clock
        self._http_slots = http_slots

    async def attempt(
        self, job: Job, notice: NoticeTexts | None, transports: TransportRegistry
    ) -> Outcome:
        """One attempt at `job`: whatever happens, the outcome to record."""
        try:
            if notice is not None and notice.status is NoticeStatus.cancelled:
                return self.cancelled(job)
            if notice is None or notice.text_for(job.locale) is None:
                return self._final(job, Result.failed, f"no text for locale {job.locale}")
            try:
                transport = await transports.transport_for(job.account_id)
            except TransportError as exc:
                return self.retry_or_fail(job, exc.message)
            self._limits.use_transport(job.account_id, transport.name)
            if job.kind != DeliveryKind.notice:
                return await followups.attempt(self, job, notice, transport)
            rendered = notice.parts_for(job.locale, transport.capabilities)
            if rendered is None:
                return self._final(job, Result.failed, f"no text for locale {job.locale}")
            parts, markup = rendered
            return await self.deliver(job, parts, transport, markup=markup)
        except Exception as exc:  # a bug must not strand a claimed job: record and retry it
            log.exception("delivery %s failed unexpectedly", job.id)
            return self.retry_or_fail(job, f"internal error: {type(exc).__name__}")

    def now(self) -> datetime:
        return self._clock.now()

    def cancelled(self, job: Job) -> Outcome:
        return Outcome(
            job=job,
            result=Result.cancelled,
            at=self._clock.now(),
            attempts=job.attempts,
            error="notice cancelled",
        )

    async def deliver(
        self,
        job: Job,
        parts: Sequence[str],
        transport: Transport,
        *,
        markup: Markup = "plain",
    ) -> Outcome:
        """Send the parts not sent yet (`job.sent_refs`), the button on the last one."""
        if not parts:
            return self._final(job, Result.failed, "nothing to send: the text is empty")
        label = ack_label(job.locale)
        migrations = 0
        while len(job.sent_refs) < len(parts):
            index = len(job.sent_refs)
            last = index == len(parts) - 1
            message = OutgoingMessage(
                chat_ref=job.chat_ref,
                topic_ref=job.topic_ref,
                text=parts[index],
                ack_delivery_id=job.id if last else None,
                ack_label=label,
                markup=markup,
            )
            # A paused account waits here without a slot, so it never holds up the others.
            await self._limits.wait_unpaused(job.account_id)
            try:
                async with self._limits.turn(job.account_id, job.chat_ref, self._http_slots):
                    job.started = True
                    async with asyncio.timeout(self._settings.send_timeout_seconds):
                        sent = await transport.send(message)
            except RateLimited as exc:
                await self._limits.pause(job.account_id, exc.retry_after)
                return self._rate_limited(job, exc)
            except ChatMigrated as exc:
                migrations += 1
                if migrations > _MAX_MIGRATIONS:
                    return self.retry_or_fail(job, "chat keeps migrating")
                job.chat_ref = job.new_chat_ref = exc.new_chat_ref
                continue
            except PermanentFailure as exc:
                reason = exc.message or type(exc).__name__
                outcome = self._final(job, Result.failed, reason)
                if not isinstance(exc, MessageRejected):
                    outcome.deactivate = reason
                return outcome
            except TimeoutError:
                timeout = self._settings.send_timeout_seconds
                return self.retry_or_fail(job, f"timeout: no answer within {timeout:g}s")
            except (TemporaryFailure, TransportError) as exc:
                return self.retry_or_fail(job, exc.message or type(exc).__name__)
            job.sent_refs.append(sent.message_ref)
        return self._final(job, Result.sent, None)

    def _final(self, job: Job, result: Result, error: str | None) -> Outcome:
        return Outcome(
            job=job, result=result, at=self._clock.now(), attempts=job.attempts + 1, error=error
        )

    def _rate_limited(self, job: Job, exc: RateLimited) -> Outcome:
        # The provider's pace, not a failure of this delivery: no attempt is counted.
        now = self._clock.now()
        return Outcome(
            job=job,
            result=Result.retry,
            at=now,
            attempts=job.attempts,
            error=f"rate limited: retry after {exc.retry_after:g}s",
            next_attempt_at=now + timedelta(seconds=exc.retry_after),
        )

    def retry_or_fail(self, job: Job, reason: str) -> Outcome:
        """Schedule another attempt with backoff, or fail once `max_attempts` are spent."""
        now = self._clock.now()
        attempts = job.attempts + 1
        if attempts >= self._settings.max_attempts:
            return Outcome(
                job=job,
                result=Result.failed,
                at=now,
                attempts=attempts,
                error=f"gave up after {attempts} attempts: {reason}",
            )
        delay = backoff_seconds(
            attempts,
            base=self._settings.backoff_base_seconds,
            cap=self._settings.backoff_max_seconds,
        )
        return Outcome(
            job=job,
            result=Result.retry,
            at=now,
            attempts=attempts,
            error=reason,
            next_attempt_at=now + timedelta(seconds=delay),
        )
