"""How far a notice's delivery has come, and the throttled hook that reports changes.

`delivery_counts` answers "how many sent, failed, still to go" for one notice, with a
readable reason for each failure. `ProgressReporter` gathers the ids of notices whose
deliveries changed and calls the hook at most once per `interval` (the official's status
message is edited from it, and Telegram frowns on editing a message many times a second),
and at once when a notice completes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.models import Channel, Delivery, DeliveryStatus

log = logging.getLogger(__name__)

_D: Any = Delivery
_C: Any = Channel

ProgressHook = Callable[[set[int]], Awaitable[None]]


class DeliveryFailure(TypedDict):
    channel_id: int
    title: str
    reason: str


class DeliveryCounts(TypedDict):
    sent: int
    failed: int
    pending: int  # pending + sending: not yet final
    cancelled: int
    total: int
    failures: list[DeliveryFailure]


async def delivery_counts(*, session: AsyncSession, notice_id: int) -> DeliveryCounts:
    """Count a notice's deliveries by outcome and list each failure with its reason."""
    by_status: dict[str, int] = {}
    rows = await session.execute(
        select(_D.status, func.count()).where(_D.notice_id == notice_id).group_by(_D.status)
    )
    for status, count in rows:
        by_status[DeliveryStatus(status).value] = int(count)
    failures = await session.execute(
        select(_D.channel_id, _C.title, _D.error)
        .join(_C, _C.id == _D.channel_id)
        .where(_D.notice_id == notice_id, _D.status == DeliveryStatus.failed)
        .order_by(_C.title, _D.channel_id)
    )
    return DeliveryCounts(
        sent=by_status.get("sent", 0),
        failed=by_status.get("failed", 0),
        pending=by_status.get("pending", 0) + by_status.get("sending", 0),
        cancelled=by_status.get("cancelled", 0),
        total=sum(by_status.values()),
        failures=[
            DeliveryFailure(channel_id=cid, title=title or "", reason=error or "")
            for cid, title, error in failures
        ],
    )


class ProgressReporter:
    """Calls `hook` with changed notice ids, throttled; never lets the hook stop delivery."""

    def __init__(self, hook: ProgressHook | None, *, interval: float = 1.0) -> None:
        self._hook = hook
        self._interval = interval
        self._changed: set[int] = set()
        self._urgent = asyncio.Event()

    def touch(self, notice_ids: Iterable[int]) -> None:
        if self._hook is not None:
            self._changed.update(notice_ids)

    def completed(self, notice_ids: Iterable[int]) -> None:
        if self._hook is not None:
            self._changed.update(notice_ids)
            self._urgent.set()

    async def run(self) -> None:
        """Report until cancelled."""
        if self._hook is None:
            return
        while True:
            try:
                async with asyncio.timeout(self._interval):
                    await self._urgent.wait()
            except TimeoutError:
                pass
            await self.report()

    async def report(self) -> None:
        self._urgent.clear()
        if self._hook is None or not self._changed:
            return
        changed, self._changed = self._changed, set()
        try:
            await self._hook(changed)
        except Exception:  # the hook is the caller's code; delivery must go on regardless
            log.exception("progress hook failed for notices %s", sorted(changed))
