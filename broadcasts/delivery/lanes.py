"""Per-account lanes: each bot account's claimed jobs, urgent first, and its sends in progress.

A lane hands its jobs, highest priority first, to `deliver` with at most `slots` of them
in progress, so a slow or paused bot only ever holds up its own lane. The sends are made
by up to `slots` runner tasks per lane, each taking the next job when its last one is
done and ending when the lane is empty: a claim of 250 jobs costs a lane its `slots`
tasks, not 250 (a task, its done callback and a semaphore per message were a tenth of
the send loop's CPU; README, Benchmarks). An idle lane has no task at all.
"""

from __future__ import annotations

import asyncio
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
    slots: int
    heap: list[tuple[int, int, Job]] = field(default_factory=list)
    running: dict[asyncio.Task[None], Job] = field(default_factory=dict)  # runner: its job
    runners: set[asyncio.Task[None]] = field(default_factory=set)
    active: int = 0  # runners not yet finished (counted off as they end, not after)
    held: int = 0  # claimed and not yet recorded: queued, sending, or awaiting the write
    closing: bool = False
    start: Callable[[Lane], None] | None = None  # starts one more runner

    def push(self, job: Job) -> None:
        heapq.heappush(self.heap, (-job.priority, job.id, job))
        if self.active < self.slots and not self.closing and self.start is not None:
            self.start(self)


class Lanes:
    """The lanes of one worker, created on first use."""

    def __init__(self, *, slots: int, deliver: Deliver) -> None:
        self._slots = max(1, slots)
        self._deliver = deliver
        self.by_account: dict[int, Lane] = {}

    def get(self, account_id: int) -> Lane:
        lane = self.by_account.get(account_id)
        if lane is None:
            lane = Lane(account_id=account_id, slots=self._slots, start=self._start)
            self.by_account[account_id] = lane
        return lane

    def holding_at_least(self, count: int) -> set[int]:
        return {a for a, lane in self.by_account.items() if lane.held >= count}

    def _start(self, lane: Lane) -> None:
        lane.active += 1
        runner = asyncio.create_task(self._drain(lane), name=f"lane-{lane.account_id}")
        lane.runners.add(runner)
        runner.add_done_callback(lane.runners.discard)

    async def _drain(self, lane: Lane) -> None:
        """Send the lane's jobs, best first, until it is empty or closing."""
        me = asyncio.current_task()
        assert me is not None
        heap, running, deliver = lane.heap, lane.running, self._deliver
        try:
            while heap and not lane.closing:
                job = heapq.heappop(heap)[2]
                running[me] = job
                try:
                    await deliver(job)
                finally:
                    del running[me]
        finally:
            # In the same step as the last look at the heap: a job pushed from now on
            # finds this runner gone and starts another.
            lane.active -= 1

    async def close(self, *, grace: float) -> list[Job]:
        """Stop every lane; return the jobs never handed out (nothing of them was sent).

        Sends waiting for their turn are cancelled (`deliver` must release their job);
        sends under way get `grace` seconds to finish before they are cancelled too.
        """
        lanes = list(self.by_account.values())
        for lane in lanes:
            lane.closing = True  # a runner takes no new job once its send is done
        queued = [job for lane in lanes for _, _, job in lane.heap]
        for lane in lanes:
            lane.heap.clear()
        running = {task: job for lane in lanes for task, job in lane.running.items()}
        for task, job in running.items():
            if not job.started:
                task.cancel()
        runners = {task for lane in lanes for task in lane.runners}
        if runners:
            _, late = await asyncio.wait(runners, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*runners, return_exceptions=True)
        return queued
