"""The Redis limiter: one budget shared by several processes, counted from each answer, and
one 429 pause seen by all. Real time (Redis keeps its own clock); only lower bounds on it,
and the window check holds whatever the machine's speed."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from broadcasts.delivery.shared_limits import RedisLimits, answer_bound
from tests.broadcasts.delivery.test_limits import _max_in_window


async def _arrivals(
    limits: RedisLimits, account: int, chats: list[str], answer_after: float
) -> list[float]:
    """Each send reaches the 'provider' as its answer comes back: the latest it can."""
    slots = asyncio.Semaphore(10)
    stamps = []
    for chat in chats:
        async with limits.turn(account, chat, slots):
            await asyncio.sleep(answer_after)
            stamps.append(time.monotonic())
    return stamps


async def test_redis_limits_share_one_budget_between_workers(redis_url: str) -> None:
    first = RedisLimits(redis_url, per_bot_per_second=20, prefix="t1")
    second = RedisLimits(redis_url, per_bot_per_second=20, prefix="t1")
    try:
        started = time.monotonic()
        a, b = await asyncio.gather(
            _arrivals(first, 7, [f"-{i}" for i in range(20)], answer_after=0.05),
            _arrivals(second, 7, [f"-{i + 100}" for i in range(20)], answer_after=0.0),
        )
        # 40 sends at 20/s across both: never more than 20 in a second, so the second
        # half waits at least a second after the first answers.
        assert _max_in_window(a + b, 1.0) <= 20
        assert max(a + b) - started >= 1.0
    finally:
        await first.close()
        await second.close()


async def test_account_turns_count_in_the_shared_bot_budget(redis_url: str) -> None:
    """A bot process's screens (account turns) and a worker's deliveries share 20/s."""
    bot_side = RedisLimits(redis_url, per_bot_per_second=20, prefix="t3")
    worker = RedisLimits(redis_url, per_bot_per_second=20, prefix="t3")

    async def screens() -> list[float]:
        stamps = []
        for _ in range(20):
            async with bot_side.account_turn(7):
                stamps.append(time.monotonic())
        return stamps

    try:
        started = time.monotonic()
        a, b = await asyncio.gather(
            screens(), _arrivals(worker, 7, [f"-{i}" for i in range(20)], answer_after=0.0)
        )
        assert _max_in_window(a + b, 1.0) <= 20
        assert max(a + b) - started >= 1.0
    finally:
        await bot_side.close()
        await worker.close()


async def test_a_pause_is_seen_by_every_process(redis_url: str) -> None:
    first = RedisLimits(redis_url, per_bot_per_second=20, prefix="t2")
    second = RedisLimits(redis_url, per_bot_per_second=20, prefix="t2")
    try:
        await first.pause(7, 0.6)
        await first.pause(7, 0.1)  # a shorter pause never cuts a longer one short
        paused = time.monotonic()
        await second.wait_unpaused(7)
        assert time.monotonic() - paused >= 0.5
    finally:
        await first.close()
        await second.close()


async def _redis_time(client: aioredis.Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1_000_000 + int(micros)


async def test_the_answer_is_stamped_on_redis_clock_between_its_moment_and_the_stamp(
    redis_url: str,
) -> None:
    """The send's entry is scored no earlier than a moment Redis saw before the answer
    came, and no later than one it saw after: counted from its answer, never less."""
    limits = RedisLimits(
        redis_url, per_bot_per_second=1, per_chat_per_second=0, per_group_per_minute=0,
        prefix="t4",
    )  # fmt: skip
    client = aioredis.from_url(redis_url)
    key = "t4:log:bot:7"
    try:
        async with limits.account_turn(7):
            ((_, in_flight),) = await client.zrange(key, 0, -1, withscores=True)
            before = await _redis_time(client)
        after = await _redis_time(client)
        ((_, answered),) = await client.zrange(key, 0, -1, withscores=True)
        assert in_flight > after  # while in flight, it counted until start + hold
        assert before <= answered <= after
    finally:
        await client.aclose()
        await limits.close()


def test_the_answer_bound_is_the_admission_plus_what_this_clock_measured_and_a_margin() -> None:
    """Admitted at 1 s on Redis's clock after asking at 5.0 s on ours, answered at 5.25 s:
    at most 1.25 s on Redis's clock, and 0.1% more for the clocks' rates."""
    assert answer_bound(1_000_000, 5.0, 5.25) == 1_000_000 + 250_250
    assert answer_bound(1_000_000, 5.0, 5.0) == 1_000_000
