"""Outcomes of sends, written to the database in batches.

Sends finish hundreds of times a second; writing each one in its own transaction would
make the database the bottleneck. The `Recorder` collects outcomes and writes them every
`interval` seconds or `max_rows` outcomes, in one transaction with one executemany UPDATE.
Each UPDATE is guarded by the lease (`lease_owner` = this worker, status `sending`), so a
worker whose lease was taken over never overwrites the new owner's work. A batch that fails
to write is kept and written again: an outcome leaves memory only once it is in the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.channels import move_channel_chat
from broadcasts.db import session_scope
from broadcasts.delivery.claims import Job, encode_refs
from broadcasts.followup_rows import queue_late_recalls
from broadcasts.models import (
    AttachmentFile,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeStatus,
)

log = logging.getLogger(__name__)

# Core tables, not ORM entities: a list of parameters then means one executemany UPDATE.
_D: Any = Delivery.__table__.c  # type: ignore[attr-defined]
_DT: Any = Delivery.__table__  # type: ignore[attr-defined]
_C: Any = Channel.__table__.c  # type: ignore[attr-defined]
_CT: Any = Channel.__table__  # type: ignore[attr-defined]
_N: Any = Notice
_AF: Any = AttachmentFile.__table__.c  # type: ignore[attr-defined]
_AFT: Any = AttachmentFile.__table__  # type: ignore[attr-defined]


class Result(StrEnum):
    sent = "sent"
    retry = "retry"  # back to pending until next_attempt_at
    failed = "failed"
    released = "released"  # claimed but never sent: back to pending, nothing counted
    cancelled = "cancelled"  # its notice was cancelled before it went


# Outcomes after which a delivery is not tried again: what it sent stays in the group.
_SETTLED = (Result.sent, Result.failed, Result.cancelled)

_STATUS = {
    Result.sent: DeliveryStatus.sent,
    Result.retry: DeliveryStatus.pending,
    Result.failed: DeliveryStatus.failed,
    Result.released: DeliveryStatus.pending,
    Result.cancelled: DeliveryStatus.cancelled,
}


@dataclass(slots=True)
class Outcome:
    job: Job
    result: Result
    at: datetime
    attempts: int  # the delivery's attempts after this one
    error: str | None = None
    next_attempt_at: datetime | None = None
    deactivate: str | None = None  # the channel can no longer receive: why


_UPDATE_DELIVERY = (
    update(_DT)
    .where(
        _D.id == bindparam("b_id"),
        _D.lease_owner == bindparam("b_owner"),
        _D.status == DeliveryStatus.sending,
    )
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        error=bindparam("b_error"),
        provider_message_ref=bindparam("b_refs"),
        sent_at=bindparam("b_sent_at"),
        lease_owner=None,
        lease_expires_at=None,
        updated_at=bindparam("b_at"),
    )
)

_DEACTIVATE_CHANNEL = (
    update(_CT)
    .where(_C.id == bindparam("b_id"), _C.active.is_(True))
    .values(active=False, inactive_reason=bindparam("b_reason"), updated_at=bindparam("b_at"))
)


def _row(outcome: Outcome, worker_id: str) -> dict[str, Any]:
    job = outcome.job
    return {
        "b_id": job.id,
        "b_owner": worker_id,
        "b_status": _STATUS[outcome.result],
        "b_attempts": outcome.attempts,
        "b_next": outcome.next_attempt_at or outcome.at,
        "b_error": outcome.error[:500] if outcome.error else None,
        "b_refs": encode_refs(job.sent_refs),
        "b_sent_at": outcome.at if outcome.result is Result.sent else None,
        "b_at": outcome.at,
    }


async def write_outcomes(
    *, session: AsyncSession, worker_id: str, outcomes: Sequence[Outcome]
) -> None:
    """Write a batch of outcomes and their channel changes; the caller commits."""
    if not outcomes:
        return
    # In id order: two writers that lock rows in one order cannot deadlock each other.
    rows = sorted((_row(o, worker_id) for o in outcomes), key=lambda row: row["b_id"])
    await session.execute(_UPDATE_DELIVERY, rows)
    # After the UPDATE: a recall running now holds these rows until it commits, so the
    # read below sees it (see `broadcasts.corrections.recall_notice`).
    left: dict[int, list[int]] = {}
    for o in outcomes:
        if o.job.kind == DeliveryKind.notice and o.job.sent_refs and o.result in _SETTLED:
            left.setdefault(o.job.notice_id, []).append(o.job.id)
    await queue_late_recalls(session, deliveries=left)
    gone = {o.job.channel_id: o for o in outcomes if o.deactivate}
    if gone:
        await session.execute(
            _DEACTIVATE_CHANNEL,
            [
                {
                    "b_id": cid,
                    "b_reason": o.deactivate[:500] if o.deactivate else None,
                    "b_at": o.at,
                }
                for cid, o in gone.items()
            ],
        )
    await _remember_file_refs(session, outcomes)
    for outcome in outcomes:
        job = outcome.job
        if job.new_chat_ref is None:
            continue
        # The group became a supergroup: the channel follows it, by the domain's one rule.
        # A savepoint, so that a chat registered meanwhile by the bot loses only this move.
        try:
            async with session.begin_nested():
                await move_channel_chat(
                    session=session,
                    channel_id=job.channel_id,
                    new_chat_ref=job.new_chat_ref,
                    now=outcome.at,
                )
        except IntegrityError:
            log.warning(
                "channel %s migrated to chat %s, which became a channel meanwhile",
                job.channel_id,
                job.new_chat_ref,
            )


async def _remember_file_refs(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """The file ids uploads returned (`Job.new_file_refs`), one row per file and bot; a row
    another worker wrote meanwhile wins (same file, same bot)."""
    wanted: dict[tuple[int, int], str] = {}
    for outcome in outcomes:
        for attachment_id, bot_id, ref in outcome.job.new_file_refs:
            wanted.setdefault((attachment_id, bot_id), ref)
    if not wanted:
        return
    known = await session.execute(
        select(_AF.attachment_id, _AF.bot_id).where(
            _AF.attachment_id.in_(sorted({a for a, _ in wanted}))
        )
    )
    for row in known:
        wanted.pop((row.attachment_id, row.bot_id), None)
    for (attachment_id, bot_id), ref in wanted.items():
        try:
            async with session.begin_nested():
                await session.execute(
                    insert(_AFT).values(attachment_id=attachment_id, bot_id=bot_id, file_ref=ref)
                )
        except IntegrityError:
            pass  # written by another worker's send of the same file: theirs is as good


async def complete_notices(
    *, session: AsyncSession, notice_ids: Iterable[int], now: datetime
) -> list[int]:
    """Mark done every dispatching notice among `notice_ids` whose deliveries are all final."""
    ids = sorted(set(notice_ids))
    if not ids:
        return []
    unfinished = exists().where(
        and_(
            _D.notice_id == _N.id,
            _D.status.in_((DeliveryStatus.pending, DeliveryStatus.sending)),
        )
    )
    done = await session.execute(
        update(_N)
        .where(_N.id.in_(ids), _N.status == NoticeStatus.dispatching, ~unfinished)
        .values(status=NoticeStatus.done, completed_at=now, updated_at=now)
        .returning(_N.id)
        .execution_options(synchronize_session=False)
    )
    return [row[0] for row in done]


async def dispatching_among(*, session: AsyncSession, notice_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(notice_ids))
    if not ids:
        return set()
    rows = await session.execute(
        select(_N.id).where(_N.id.in_(ids), _N.status == NoticeStatus.dispatching)
    )
    return {row[0] for row in rows}


Recorded = Callable[[Sequence[Outcome]], Awaitable[None]]


class Recorder:
    """Collects outcomes and writes them in batches from one background task."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        worker_id: str,
        on_recorded: Recorded,
        interval: float = 0.05,
        max_rows: int = 500,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._worker_id = worker_id
        self._on_recorded = on_recorded
        self._interval = interval
        self._max_rows = max_rows
        self._pending: list[Outcome] = []
        self._full = asyncio.Event()
        self._writing = asyncio.Lock()
        self.failures = 0

    def add(self, outcome: Outcome) -> None:
        self._pending.append(outcome)
        if len(self._pending) >= self._max_rows:
            self._full.set()

    def __len__(self) -> int:
        return len(self._pending)

    async def run(self) -> None:
        """Write batches until cancelled."""
        while True:
            try:
                async with asyncio.timeout(self._interval):
                    await self._full.wait()
            except TimeoutError:
                pass
            self._full.clear()
            if not await self.flush():
                await asyncio.sleep(min(5.0, 0.1 * 2 ** min(self.failures, 6)))

    async def drain(self, *, attempts: int = 10) -> bool:
        """Flush, retrying with backoff (when stopping); False if outcomes stay unwritten."""
        for attempt in range(attempts):
            if await self.flush():
                return True
            await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
        log.error("%d delivery outcomes could not be written; their leases will expire", len(self))
        return False

    async def flush(self) -> bool:
        """Write what is pending; False (and everything kept) when the database refused."""
        async with self._writing:
            while self._pending:
                batch = self._pending[: self._max_rows]
                try:
                    async with session_scope(self._sessionmaker) as session:
                        await write_outcomes(
                            session=session, worker_id=self._worker_id, outcomes=batch
                        )
                except SQLAlchemyError:
                    self.failures += 1
                    log.exception("writing %d delivery outcomes failed; will retry", len(batch))
                    return False
                self.failures = 0
                del self._pending[: len(batch)]
                await self._on_recorded(batch)
        return True
