"""Limiter backends: even spacing per bot, per chat and per group, pauses for one bot only,
and, through Redis, one budget shared by several processes."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiolimiter import AsyncLimiter

from broadcasts.delivery.limits import ChatTable, MemoryLimits, RedisLimits, group_limiter


async def _times(
    limits: MemoryLimits | RedisLimits,
    account: int,
    chats: list[str],
    slots: asyncio.Semaphore | None = None,
) -> list[float]:
    slots = slots or asyncio.Semaphore(10)
    stamps = []
    for chat in chats:
        async with limits.turn(account, chat, slots):
            stamps.append(time.monotonic())
    return stamps


def _max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, at in enumerate(stamps):
        while at - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_memory_limits_space_one_bot_evenly() -> None:
    limits = MemoryLimits(per_bot_per_second=30)
    stamps = await _times(limits, 1, [str(-i) for i in range(45)])
    assert _max_in_window(stamps, 0.98) <= 30
    assert 44 / 30 - 0.05 <= stamps[-1] - stamps[0] <= 44 / 30 + 0.3


async def test_bots_do_not_share_a_budget_and_pauses_stay_with_their_bot() -> None:
    limits = MemoryLimits(per_bot_per_second=20)
    await limits.pause(1, 0.5)
    started = time.monotonic()
    other = await _times(limits, 2, [str(-i) for i in range(10)])
    paused = await _times(limits, 1, ["-1"])
    assert other[-1] - started < 0.5  # bot 2 ran its 10 sends at 20/s meanwhile
    assert paused[0] - started >= 0.49


async def test_one_chat_gets_at_most_one_per_second_counted_at_the_send() -> None:
    limits = MemoryLimits(per_bot_per_second=10, per_chat_per_second=1)

    async def busy_bot() -> list[float]:  # other chats keep the bot's queue long
        return await _times(limits, 1, [str(-100 - i) for i in range(15)])

    async def one_chat() -> list[float]:
        return [t for _ in range(3) for t in await _times(limits, 1, ["-5"])]

    _, stamps = await asyncio.gather(busy_bot(), one_chat())
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= 1.0


async def test_a_turn_holds_a_slot_only_from_just_before_the_turn() -> None:
    limits = MemoryLimits(per_bot_per_second=10)
    slots = asyncio.Semaphore(2)
    # Ten sends of one bot line up; the slot goes to one of them at a time, so the
    # other slot stays free for another bot meanwhile.
    lined_up = asyncio.gather(*(_times(limits, 1, [f"-{i}"], slots) for i in range(10)))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await _times(limits, 2, ["-100"], slots)
    assert time.monotonic() - started < 0.05
    stamps = sorted(t for ts in await lined_up for t in ts)
    assert min(b - a for a, b in zip(stamps, stamps[1:], strict=False)) >= 0.095


async def test_a_turn_cancelled_while_waiting_gives_its_slot_back() -> None:
    limits = MemoryLimits(per_bot_per_second=1)
    slots = asyncio.Semaphore(1)
    await _times(limits, 1, ["-1"], slots)  # the bot's next turn is a second away
    waiting = asyncio.create_task(_times(limits, 1, ["-2"], slots))
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not slots.locked()


def test_group_bucket_never_allows_more_than_the_limit_per_minute() -> None:
    bucket = group_limiter(20)
    # Burst plus what leaks out in 60 seconds must stay within 20.
    assert bucket.max_rate + 60 * bucket.max_rate / bucket.time_period <= 20 + 1e-9
    assert bucket.max_rate >= 3  # a message in a few parts still goes out at once


async def test_chats_are_forgotten_once_their_buckets_drain() -> None:
    table = ChatTable(chat_period=0.05, group=AsyncLimiter(1, 0.05))
    for i in range(3000):
        for limiter in table.get(("bot", i), now=0.0).limiters:
            await limiter.acquire()
    busy = table.get(("bot", 0), now=0.0)
    await busy.lock.acquire()  # a chat with a send waiting its turn is kept
    await asyncio.sleep(0.1)  # every bucket drains
    for i in range(3000, 3000 + 2048):
        table.get(("bot", i), now=10.0)
    assert len(table) < 2100
    assert table.get(("bot", 0), now=10.0) is busy
    busy.lock.release()


async def test_redis_limits_share_one_budget_between_workers(redis_url: str) -> None:
    first = RedisLimits(redis_url, per_bot_per_second=20, prefix="t1")
    second = RedisLimits(redis_url, per_bot_per_second=20, prefix="t1")
    try:
        started = time.monotonic()
        a, b = await asyncio.gather(
            _times(first, 7, [f"-{i}" for i in range(20)]),
            _times(second, 7, [f"-{i + 100}" for i in range(20)]),
        )
        # 40 sends at 19/s (20 less headroom) across both: the second half waits a second.
        assert _max_in_window(a + b, 0.98) <= 20
        assert max(a + b) - started >= 0.95

        await first.pause(7, 0.6)
        paused = time.monotonic()
        await asyncio.sleep(0.15)  # the other worker looks at most every 0.1 s
        await second.wait_unpaused(7)  # and then waits out the pause
        assert time.monotonic() - paused >= 0.55
        await _times(second, 8, ["-999"])  # while another bot does not wait
    finally:
        await first.close()
        await second.close()
