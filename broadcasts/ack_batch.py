"""Đã nhận presses written together: one transaction for every press that arrived while
the previous one was being written (a group commit).

When a whole city presses at once, a transaction per press is what limits the rate: on
SQLite each commit waits for the one writer, on PostgreSQL for its own round trips and
flush. `PressBatch.record` queues a press and waits; one writer task takes everything
queued (up to `max_batch`), counts it with `broadcasts.acks.record_button_presses` (one
read of the deliveries, one `INSERT … ON CONFLICT DO NOTHING` for all the rows, the audit
events) and commits once, then hands each press its verdict. The batch grows with the
load and costs nothing when it is quiet: a lone press is written at once, alone.

Why the person is answered after the commit, not before it. The answer «Đã ghi nhận» is
a promise that the press counts, so it is given only once the row is durable:

- a crash (or a database error) before the commit: nobody in that batch was told
  anything. The bot cannot get the press again (getUpdates has moved past it, or the
  webhook post was answered), so the person sees the press go unanswered and presses
  again, as with any press that gets no answer; every error is answered as an error
  (the error router's alert), never as «recorded».
- a crash after the commit, before the answer: the press counts and the person got no
  toast; pressing again says «already pressed».

Answering first and writing later would need the press to be durable before the answer
anyway: an in-memory queue loses every press it holds when the process dies, after the
people were told they counted; a durable queue (Redis, a table) costs a write per press,
which is what the batch saves. The group commit keeps the truthful order at the cost of
one commit's wait (milliseconds), far inside the seconds Telegram gives for an answer.

A press whose waiter was cancelled (the bot stopping) is still written with its batch;
`close` waits for the batches in hand.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.acks import ButtonPress, PressIn, record_button_presses
from broadcasts.db import session_scope

log = logging.getLogger(__name__)

MAX_BATCH = 500  # presses in one transaction (about 5,000 bound values on SQLite)


class PressBatch:
    """Records button presses for one process, many per transaction (see above)."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, max_batch: int = MAX_BATCH
    ) -> None:
        self._sessionmaker = sessionmaker
        self._max_batch = max_batch
        self._queued: list[tuple[PressIn, asyncio.Future[ButtonPress]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed, for the benchmark's figures

    async def record(self, press: PressIn) -> ButtonPress:
        """The press's verdict, once it is committed; raises what the write raised."""
        future: asyncio.Future[ButtonPress] = asyncio.get_running_loop().create_future()
        self._queued.append((press, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="ack-presses")
        return await future

    async def close(self) -> None:
        """Wait for the presses already queued to be written."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write(self) -> None:
        try:
            while self._queued:
                batch = self._queued[: self._max_batch]
                del self._queued[: self._max_batch]
                await self._write_batch(batch)
        finally:  # no await since the loop's last check: nothing was queued since
            self._writer = None

    async def _write_batch(self, batch: list[tuple[PressIn, asyncio.Future[ButtonPress]]]) -> None:
        started = time.monotonic()
        try:
            async with session_scope(self._sessionmaker) as session:
                verdicts = await record_button_presses(
                    session=session, presses=[press for press, _ in batch]
                )
        except Exception as exc:  # every press of the batch learns it was not counted
            log.warning("%d presses not recorded: %s", len(batch), exc)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        log.debug("%d presses written in %.0f ms", len(batch), (time.monotonic() - started) * 1000)
        for (_, future), verdict in zip(batch, verdicts, strict=True):
            if not future.done():
                future.set_result(verdict)
