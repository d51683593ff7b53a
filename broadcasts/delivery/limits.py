"""Per-account send limits, enforced before a send so that the provider rarely says 429.

Three limits apply to every message: per account (30/s across chats), per chat (1/s) and
per group chat (20/min). `MemoryLimits` keeps them in this process with
`aiolimiter.AsyncLimiter`; `RedisLimits` shares them between processes through the
`limits` package's moving windows in Redis. Both also carry the pause a 429 imposes on one
account, so that only that account waits. A rate of 0 switches that limit off.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Hashable
from typing import Protocol

import redis.asyncio as aioredis
from aiolimiter import AsyncLimiter
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from broadcasts.settings import DeliverySettings

log = logging.getLogger(__name__)

# Chats quiet for this long have no state worth keeping (the longest window is a minute).
# One chat's messages go a little slower than its limit: two sends exactly a second apart
# can arrive less than a second apart.
_CHAT_HEADROOM = 1.05
_CHAT_POLL_SECONDS = 0.02
# How stale one process's view of another's 429 pause may be.
_PAUSE_RECHECK_SECONDS = 0.1
_IDLE_SECONDS = 65.0
_SWEEP_EVERY = 4096


class LimiterBackend(Protocol):
    """Decides when a message may go; shared by every lane of a worker."""

    async def wait_turn(self, account_id: int, chat_ref: str) -> None:
        """Return once one message from `account_id` to `chat_ref` may be sent."""
        ...

    async def pause(self, account_id: int, seconds: float) -> None:
        """Hold every send of `account_id` for `seconds` (the provider said 429)."""
        ...

    async def close(self) -> None: ...


def group_limiter(per_minute: float) -> AsyncLimiter:
    """A bucket that never lets more than `per_minute` through in any 60-second window.

    A leaky bucket of capacity B leaking r/s lets B + 60r through in a minute, so the
    burst is a quarter of the limit and the steady rate makes up the rest.
    """
    burst = max(1.0, math.floor(per_minute / 4))
    if per_minute <= burst:
        return AsyncLimiter(1, 60.0 / per_minute)
    return AsyncLimiter(burst, 60.0 * burst / (per_minute - burst))


class ChatLimits:
    """One chat's limiters, and a lock that lets one message to it at a time wait its turn."""

    __slots__ = ("limiters", "lock", "used")

    def __init__(self, limiters: tuple[AsyncLimiter, ...], used: float) -> None:
        self.limiters = limiters
        self.lock = asyncio.Lock()
        self.used = used

    def has_capacity(self) -> bool:
        return all(limiter.has_capacity() for limiter in self.limiters)


class ChatTable:
    """`ChatLimits` by chat, forgetting chats idle long enough for their buckets to be full."""

    def __init__(self, *, chat_period: float | None, group: AsyncLimiter | None) -> None:
        self._chat_period = chat_period
        self._group = (group.max_rate, group.time_period) if group is not None else None
        self._items: dict[Hashable, ChatLimits] = {}
        self._uses = 0

    def get(self, key: Hashable, now: float) -> ChatLimits:
        state = self._items.get(key)
        if state is None:
            limiters = []
            if self._chat_period is not None:
                limiters.append(AsyncLimiter(1, self._chat_period))
            if self._group is not None:
                limiters.append(AsyncLimiter(*self._group))
            state = self._items[key] = ChatLimits(tuple(limiters), now)
        state.used = now
        self._uses += 1
        if self._uses % _SWEEP_EVERY == 0:
            self._sweep(now)
        return state

    def _sweep(self, now: float) -> None:
        idle = [key for key, state in self._items.items()
                if now - state.used > _IDLE_SECONDS and not state.lock.locked()]
        for key in idle:
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)


class MemoryLimits:
    """Limits for one process (the embedded `loa run`, or a single worker)."""

    def __init__(
        self,
        *,
        per_bot_per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: float = 20.0,
    ) -> None:
        # Capacity 1 spaces sends evenly (1/rate apart): a burst at the start of a second
        # followed by a steady rate would break a sliding one-second window.
        self._bot_rate = per_bot_per_second
        self._bots: dict[int, AsyncLimiter] = {}
        self._chats: ChatTable | None = None
        if per_chat_per_second > 0 or per_group_per_minute > 0:
            self._chats = ChatTable(
                chat_period=_CHAT_HEADROOM / per_chat_per_second
                if per_chat_per_second > 0 else None,
                group=group_limiter(per_group_per_minute) if per_group_per_minute > 0 else None,
            )
        self._paused_until: dict[int, float] = {}

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> MemoryLimits:
        return cls(
            per_bot_per_second=settings.per_bot_per_second,
            per_chat_per_second=settings.per_chat_per_second,
            per_group_per_minute=settings.per_group_per_minute,
        )

    async def wait_turn(self, account_id: int, chat_ref: str) -> None:
        loop = asyncio.get_running_loop()
        if self._chats is None:
            await self._wait_bot(account_id, loop)
            return
        chat = self._chats.get((account_id, chat_ref), loop.time())
        # A chat's buckets are charged only once the bot's turn has come, right before the
        # send: charged earlier, a wait for the bot would shrink the gap between two
        # messages to the chat. Until the chat has room, the bot's turn is not taken.
        async with chat.lock:
            while not chat.has_capacity():
                await asyncio.sleep(_CHAT_POLL_SECONDS)
            await self._wait_bot(account_id, loop)
            for limiter in chat.limiters:
                await limiter.acquire()

    async def _wait_bot(self, account_id: int, loop: asyncio.AbstractEventLoop) -> None:
        await self._wait_pause(account_id, loop)
        if self._bot_rate > 0:
            bot = self._bots.get(account_id)
            if bot is None:
                bot = self._bots[account_id] = AsyncLimiter(1, 1.0 / self._bot_rate)
            await bot.acquire()

    async def _wait_pause(self, account_id: int, loop: asyncio.AbstractEventLoop) -> None:
        while (until := self._paused_until.get(account_id, 0.0)) > loop.time():
            await asyncio.sleep(until - loop.time())

    async def pause(self, account_id: int, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        if until > self._paused_until.get(account_id, 0.0):
            self._paused_until[account_id] = until

    async def close(self) -> None:
        self._bots.clear()

    def tracked_chats(self) -> int:
        """How many chats have limiter state (memory stays flat however many chats)."""
        return len(self._chats) if self._chats is not None else 0


class RedisLimits:
    """Limits shared by every worker through Redis (the scale-out deployment).

    Each process also spaces its own sends with `MemoryLimits`, so that a process never
    bursts; the moving windows in Redis then cap what all processes send together. The
    shared per-account window keeps `headroom` below the limit: a send admitted by Redis
    reaches the provider a few milliseconds later, and those delays differ.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        per_bot_per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: float = 20.0,
        headroom: float = 0.97,
        prefix: str = "loa",
    ) -> None:
        uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
        self._storage = RedisStorage(uri, implementation="redispy", key_prefix=f"{prefix}:limits")
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._local = MemoryLimits(
            per_bot_per_second=per_bot_per_second,
            per_chat_per_second=per_chat_per_second,
            per_group_per_minute=per_group_per_minute,
        )
        self._bot: RateLimitItem | None = None
        if per_bot_per_second > 0:
            self._bot = RateLimitItemPerSecond(max(1, math.floor(per_bot_per_second * headroom)))
        self._chat: RateLimitItem | None = None
        if per_chat_per_second > 0:
            self._chat = RateLimitItemPerSecond(max(1, math.floor(per_chat_per_second)))
        self._group: RateLimitItem | None = None
        if per_group_per_minute > 0:
            self._group = RateLimitItemPerMinute(max(1, math.floor(per_group_per_minute)))
        self._redis = aioredis.from_url(redis_url)
        self._pause_key = f"{prefix}:pause:"
        self._pause_seen: dict[int, tuple[float, float]] = {}  # account -> (until, checked at)
        self._bot_locks: dict[int, asyncio.Lock] = {}

    @classmethod
    def from_settings(cls, settings: DeliverySettings, redis_url: str) -> RedisLimits:
        return cls(
            redis_url,
            per_bot_per_second=settings.per_bot_per_second,
            per_chat_per_second=settings.per_chat_per_second,
            per_group_per_minute=settings.per_group_per_minute,
        )

    async def wait_turn(self, account_id: int, chat_ref: str) -> None:
        await self._local.wait_turn(account_id, chat_ref)
        await self._wait_pause(account_id)
        if self._bot is not None:
            # One waiter per account and process: the others queue here instead of
            # polling Redis together each time a slot frees.
            lock = self._bot_locks.setdefault(account_id, asyncio.Lock())
            async with lock:
                await self._take(self._bot, "bot", str(account_id))
        # This process already spaced the chat's messages; the shared windows only matter
        # when two workers hold messages to one chat at once, so they are charged last.
        if self._chat is not None:
            await self._take(self._chat, "chat", str(account_id), chat_ref)
        if self._group is not None:
            await self._take(self._group, "group", str(account_id), chat_ref)

    async def _take(self, item: RateLimitItem, *identifiers: str) -> None:
        while not await self._limiter.hit(item, *identifiers):
            stats = await self._limiter.get_window_stats(item, *identifiers)
            await asyncio.sleep(min(max(stats.reset_time - time.time(), 0.002), 1.0))

    async def _wait_pause(self, account_id: int) -> None:
        while True:
            now = time.time()
            until, checked = self._pause_seen.get(account_id, (0.0, 0.0))
            if now - checked > _PAUSE_RECHECK_SECONDS:
                stored = await self._redis.get(f"{self._pause_key}{account_id}")
                until = float(stored) if stored else 0.0
                self._pause_seen[account_id] = (until, now)
            if until <= now:
                return
            await asyncio.sleep(until - now)
            self._pause_seen.pop(account_id, None)

    async def pause(self, account_id: int, seconds: float) -> None:
        await self._local.pause(account_id, seconds)
        until = time.time() + seconds
        self._pause_seen[account_id] = (until, time.time())
        await self._redis.set(
            f"{self._pause_key}{account_id}", repr(until), px=max(1, int(seconds * 1000))
        )

    async def close(self) -> None:
        await self._local.close()
        await self._redis.aclose()


def make_limits(settings: DeliverySettings, redis_url: str | None) -> LimiterBackend:
    """The backend a worker uses: Redis when configured (scale-out), else this process."""
    if redis_url:
        return RedisLimits.from_settings(settings, redis_url)
    return MemoryLimits.from_settings(settings)
