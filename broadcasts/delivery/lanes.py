"""Per-account lanes: each bot account's claimed jobs, urgent first, and its sends in progress.

A lane hands its jobs, highest priority first, to `deliver` with at most `slots` of them
in progress, so a slow or paused bot only ever holds up its own lane.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from broadcasts.delivery.claims import Job

Deliver = Callable[[Job], Coroutine[Any, Any, None]]


@dataclass(eq=False)
class Lane:
    """One bot account's queue and its sends in progress."""

    account_id: int
    slots: asyncio.Semaphore
    heap: list[tuple[int, int, Job]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    running: dict[asyncio.Task[None], Job] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None
    held: int = 0  # claimed and not yet recorded: queued, sending, or awaiting the write

    def push(self, job: Job) -> None:
        heapq.heappush(self.heap, (-job.priority, job.id, job))
        self.ready.set()


class Lanes:
    """The lanes of one worker, created on first use."""

    def __init__(self, *, slots: int, deliver: Deliver) -> None:
        self._slots = slots
        self._deliver = deliver
        self.by_account: dict[int, Lane] = {}

    def get(self, account_id: int) -> Lane:
        lane = self.by_account.get(account_id)
        if lane is None:
            lane = Lane(account_id=account_id, slots=asyncio.Semaphore(self._slots))
            lane.task = asyncio.create_task(self._run(lane), name=f"lane-{account_id}")
            self.by_account[account_id] = lane
        return lane

    def holding_at_least(self, count: int) -> set[int]:
        return {a for a, lane in self.by_account.items() if lane.held >= count}

    async def _run(self, lane: Lane) -> None:
        while True:
            await lane.slots.acquire()
            while not lane.heap:
                lane.ready.clear()
                await lane.ready.wait()
            _, _, job = heapq.heappop(lane.heap)
            task = asyncio.create_task(self._deliver(job))
            lane.running[task] = job
            task.add_done_callback(functools.partial(self._send_done, lane))

    @staticmethod
    def _send_done(lane: Lane, task: asyncio.Task[None]) -> None:
        lane.running.pop(task, None)
        lane.slots.release()

    async def close(self, *, grace: float) -> list[Job]:
        """Stop every lane; return the jobs never handed out (nothing of them was sent).

        Sends waiting for their turn are cancelled (`deliver` must release their job);
        sends under way get `grace` seconds to finish before they are cancelled too.
        """
        lanes = list(self.by_account.values())
        tasks = [lane.task for lane in lanes if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        queued = [job for lane in lanes for _, _, job in lane.heap]
        for lane in lanes:
            lane.heap.clear()
        running = {task: job for lane in lanes for task, job in lane.running.items()}
        for task, job in running.items():
            if not job.started:
                task.cancel()
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        return queued
