"""Sending one claimed delivery: render, wait for the limits, send each part, classify.

The parts are the group message (`broadcasts.message`: the ward and the date, the bold
title, «🚨 KHẨN», the body, the key facts) in the best markup the transport takes, cut to
its longest message; `NoticeTexts` renders them once per notice and locale.

`Sender.attempt` never raises for a transport's failure: every way a send can end becomes
an `Outcome` for the recorder (a cancelled notice, a missing text, an account without a
transport, a bug). Parts already sent (kept in `job.sent_refs`) are skipped, so a retry
resumes where the last attempt stopped; the acknowledge button, labelled in the chat's
language from the catalogs, rides on the last part only. A notice with attachments sends
its files too (`broadcasts.delivery.files`: as the caption's file, or files first, then the
text), by the bot's own file id when known, else uploaded from Loa's store.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from broadcasts.delivery import files, followups
from broadcasts.delivery.claims import FileInfo, Job, NoticeTexts
from broadcasts.delivery.clock import Clock
from broadcasts.delivery.limits import LimiterBackend
from broadcasts.delivery.outcomes import Outcome, Result
from broadcasts.errors import (
    ChatMigrated,
    MessageRejected,
    PermanentFailure,
    RateLimited,
    TransportError,
)
from broadcasts.i18n import ack_label
from broadcasts.links import LinkMaker
from broadcasts.metrics import DELIVERIES, RATE_LIMITED, SEND_SECONDS
from broadcasts.models import DeliveryKind, NoticeStatus
from broadcasts.settings import DeliverySettings
from broadcasts.transports.base import (
    Markup,
    OutgoingMessage,
    SentMessage,
    Transport,
    TransportRegistry,
)

log = logging.getLogger(__name__)

_MAX_MIGRATIONS = 3
# Follow-ups that still run once the notice is cancelled: a notice stopped while going out
# can be corrected or recalled in the groups it reached.
_AMENDS = (DeliveryKind.correction, DeliveryKind.recall)
T = TypeVar("T")


@functools.cache
def _delivery_count(result: str, transport: str, kind: str) -> Any:
    """`loa_deliveries` for one (result, transport, kind): looked up once, not per message."""
    return DELIVERIES.labels(result=result, transport=transport, kind=kind)


@functools.cache
def _send_seconds(transport: str) -> Any:
    return SEND_SECONDS.labels(transport=transport)


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
        attachments_dir: Path | None = None,
        links: LinkMaker | None = None,
    ) -> None:
        self._attachments_dir = attachments_dir  # Loa's file store, for uploads
        self._links = links  # signed links in each delivery (None: LOA_API__PUBLIC_URL unset)
        self._limits = limits
        self._settings = settings
        self._clock = clock
        self._http_slots = http_slots

    async def attempt(
        self, job: Job, notice: NoticeTexts | None, transports: TransportRegistry
    ) -> Outcome:
        """One attempt at `job`: whatever happens, the outcome to record (and count)."""
        used: list[str] = []
        outcome = await self._attempt(job, notice, transports, used)
        _delivery_count(outcome.result.value, used[0] if used else "none", job.kind).inc()
        return outcome

    async def _attempt(
        self,
        job: Job,
        notice: NoticeTexts | None,
        transports: TransportRegistry,
        used: list[str],
    ) -> Outcome:
        try:
            if self.is_cancelled(job, notice):
                return self.cancelled(job)
            if notice is None or notice.text_for(job.locale) is None:
                return self._final(job, Result.failed, f"no text for locale {job.locale}")
            try:
                transport = await transports.transport_for(job.account_id)
            except TransportError as exc:
                return self.retry_or_fail(job, exc.message)
            used.append(transport.name)
            self._limits.use_transport(job.account_id, transport.name)
            if job.kind != DeliveryKind.notice:
                return await followups.attempt(self, job, notice, transport)
            caps = transport.capabilities
            links = files.delivery_links(self._links, job.id, notice, caps)
            if links is None:  # the same for every delivery of the notice: planned once
                key = (job.locale, caps)
                if key in notice.plans:
                    planned = notice.plans[key]
                else:
                    planned = notice.plans[key] = files.plan(notice, job.locale, caps)
            else:
                planned = files.plan(notice, job.locale, caps, links)
            if planned is None:
                return self._final(job, Result.failed, f"no text for locale {job.locale}")
            steps, markup = planned
            return await self.deliver_steps(job, steps, transport, markup=markup)
        except Exception as exc:  # a bug must not strand a claimed job: record and retry it
            log.exception("delivery %s failed unexpectedly", job.id)
            return self.retry_or_fail(job, f"internal error: {type(exc).__name__}")

    def now(self) -> datetime:
        return self._clock.now()

    def ack_url(self, delivery_id: int) -> str | None:
        """The acknowledgement link of a notice's delivery; None when links are off."""
        return self._links.ack_url(delivery_id) if self._links is not None else None

    @staticmethod
    def is_cancelled(job: Job, notice: NoticeTexts | None) -> bool:
        """Whether `job` is not to go because its notice was cancelled (a correction or a
        recall of what went out still goes)."""
        return (
            notice is not None
            and notice.status is NoticeStatus.cancelled
            and job.kind not in _AMENDS
        )

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
        reply_to: str | None = None,
    ) -> Outcome:
        """Send the parts not sent yet (`job.sent_refs`), the button on the last one; the
        first part answers `reply_to` (a message of the chat) when given."""
        steps = [files.Step(text=p, ack=i == len(parts) - 1) for i, p in enumerate(parts)]
        return await self.deliver_steps(job, steps, transport, markup=markup, reply_to=reply_to)

    async def deliver_steps(
        self,
        job: Job,
        steps: Sequence[files.Step],
        transport: Transport,
        *,
        markup: Markup = "plain",
        reply_to: str | None = None,
    ) -> Outcome:
        """Send the steps not sent yet (their messages' ids are in `job.sent_refs`): text
        parts, files, albums (`broadcasts.delivery.files`), the button where a step says."""
        if not steps:
            return self._final(job, Result.failed, "nothing to send: the text is empty")
        label = ack_label(job.locale)
        clock, timeout = self._clock, self._settings.send_timeout_seconds
        migrations = 0
        while True:
            done, index = 0, 0
            while index < len(steps) and done + steps[index].size <= len(job.sent_refs):
                done += steps[index].size
                index += 1
            if index >= len(steps):
                break
            step = steps[index]
            message = OutgoingMessage(
                chat_ref=job.chat_ref,
                topic_ref=job.topic_ref,
                text=step.text,
                ack_delivery_id=job.id if step.ack else None,
                ack_label=label,
                markup=markup,
                files=tuple(
                    files.outgoing(f, job.account_id, self._attachments_dir, url)
                    for f, url in zip(
                        step.files, step.urls or (None,) * len(step.files), strict=True
                    )
                )
                if step.files
                else (),
                reply_to=reply_to if index == 0 and transport.capabilities.can_reply else None,
            )
            # A paused account waits here without a slot, so it never holds up the others.
            await self._limits.wait_unpaused(job.account_id)
            try:
                async with self._limits.turn(job.account_id, job.chat_ref, self._http_slots):
                    job.started = True
                    # `_timed`, written out: this is the hot loop, once per message.
                    started = clock.monotonic()
                    async with asyncio.timeout(timeout):
                        sent = await transport.send(message)
                    _send_seconds(transport.name).observe(clock.monotonic() - started)
            except RateLimited as exc:
                RATE_LIMITED.labels(bot=str(job.account_id), transport=transport.name).inc()
                await self._limits.pause(job.account_id, exc.retry_after)
                return self._rate_limited(job, exc)
            except ChatMigrated as exc:
                migrations += 1
                if migrations > _MAX_MIGRATIONS:
                    return self.retry_or_fail(job, "chat keeps migrating")
                job.chat_ref = job.new_chat_ref = exc.new_chat_ref
                continue
            except (TimeoutError, TransportError) as exc:
                return self.failed(job, exc)
            job.sent_refs.extend(sent.message_refs or (sent.message_ref,))
            self._remember_uploads(job, step.files, message, sent)
        return self._final(job, Result.sent, None)

    async def call(
        self, job: Job, action: Callable[[], Awaitable[T]], *, transport: str = "unknown"
    ) -> T:
        """One transport call of a follow-up (an edit, a delete, a reply) under the same
        limits, pause and timeout as a send; a `RateLimited` pauses the account, then is
        raised for `failed` to turn into the outcome."""
        await self._limits.wait_unpaused(job.account_id)
        try:
            async with self._limits.turn(job.account_id, job.chat_ref, self._http_slots):
                job.started = True
                async with self._timed(transport):
                    return await action()
        except RateLimited as exc:
            RATE_LIMITED.labels(bot=str(job.account_id), transport=transport).inc()
            await self._limits.pause(job.account_id, exc.retry_after)
            raise

    @contextlib.asynccontextmanager
    async def _timed(self, transport: str) -> AsyncIterator[None]:
        """The send timeout around one transport call, and its time in `loa_send_seconds`
        when it succeeded: a timeout would only show the timeout, and a refusal (a 429, a
        403) is counted by its outcome, not as a send."""
        started = self._clock.monotonic()
        async with asyncio.timeout(self._settings.send_timeout_seconds):
            yield
        _send_seconds(transport).observe(self._clock.monotonic() - started)

    def failed(self, job: Job, exc: Exception) -> Outcome:
        """The outcome of a send or a follow-up's call that raised: a rate limit waits
        without counting an attempt, a permanent failure fails (and, unless only this
        message was refused, deactivates the channel), the rest retry with backoff."""
        if isinstance(exc, RateLimited):
            return self._rate_limited(job, exc)
        if isinstance(exc, PermanentFailure):
            reason = exc.message or type(exc).__name__
            outcome = self._final(job, Result.failed, reason)
            if not isinstance(exc, MessageRejected):
                outcome.deactivate = reason
            return outcome
        if isinstance(exc, TimeoutError):
            timeout = self._settings.send_timeout_seconds
            return self.retry_or_fail(job, f"timeout: no answer within {timeout:g}s")
        if isinstance(exc, TransportError):
            return self.retry_or_fail(job, exc.message or type(exc).__name__)
        raise exc

    def _remember_uploads(
        self,
        job: Job,
        infos: Sequence[FileInfo],
        message: OutgoingMessage,
        sent: SentMessage,
    ) -> None:
        """File ids the transport returned for files it uploaded: kept on the notice's
        shared texts at once (this worker's next sends by the bot reuse them) and on the
        job, for the recorder to store."""
        for info, out, ref in zip(infos, message.files, sent.file_refs, strict=False):
            if out.file_ref is None and ref:
                info.refs[job.account_id] = ref
                assert info.attachment_id is not None
                job.new_file_refs.append((info.attachment_id, job.account_id, ref))

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
