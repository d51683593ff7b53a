"""Per-account send limits, enforced before a send so that the provider rarely says 429.

Three limits apply to every message: per account (30/s across chats), per chat (1/s) and
per group chat (20/min). `MemoryLimits` keeps them in this process with
`aiolimiter.AsyncLimiter`; `RedisLimits` shares them between processes through the
`limits` package's moving windows in Redis. Both also carry the pause a 429 imposes on one
account, so that only that account waits. A rate of 0 switches that limit off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import redis.asyncio as aioredis
from aiolimiter import AsyncLimiter
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from broadcasts.settings import DeliverySettings

log = logging.getLogger(__name__)

# A chat's state is looked at for forgetting once it has been quiet this long.
_SPENT_AFTER_SECONDS = 2.0
# One chat's messages go a little slower than its limit: two sends exactly a second apart
# can arrive less than a second apart.
_CHAT_HEADROOM = 1.05
_CHAT_POLL_SECONDS = 0.02
# How stale one process's view of another's 429 pause may be.
_PAUSE_RECHECK_SECONDS = 0.1
_SWEEP_EVERY = 2048


class LimiterBackend(Protocol):
    """Decides when a message may go; shared by every lane of a worker."""

    def turn(
        self, account_id: int, chat_ref: str, slots: asyncio.Semaphore
    ) -> AbstractAsyncContextManager[None]:
        """Wait for the turn of one message from `account_id` to `chat_ref`; send inside.

        One of `slots` (the worker's bound on sends in flight) is taken just before the
        account's turn and given back when the block ends. Taken after the turn, a send
        could wait for a slot and go out bunched with the next ones; taken long before,
        a slot would sit idle while the account waits for its turn.
        """
        ...

    async def wait_unpaused(self, account_id: int) -> None:
        """Return once `account_id` is not paused (cheap; takes no turn)."""
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

    def is_spent(self) -> bool:
        """True when every bucket has drained: forgetting the chat then changes nothing."""
        return not self.lock.locked() and all(
            limiter.has_capacity(limiter.max_rate) for limiter in self.limiters
        )


class ChatTable:
    """`ChatLimits` by chat, forgetting chats whose buckets have drained.

    A city-wide notice touches 50,000 chats once each; a chat's state is kept only for the
    few seconds its buckets take to drain, so memory follows the send rate, not the chats.
    """

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
        spent = [
            key
            for key, state in self._items.items()
            if now - state.used > _SPENT_AFTER_SECONDS and state.is_spent()
        ]
        for key in spent:
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
        self._bots: dict[int, tuple[AsyncLimiter, asyncio.Lock]] = {}
        self._chats: ChatTable | None = None
        if per_chat_per_second > 0 or per_group_per_minute > 0:
            self._chats = ChatTable(
                chat_period=_CHAT_HEADROOM / per_chat_per_second
                if per_chat_per_second > 0
                else None,
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

    @contextlib.asynccontextmanager
    async def turn(
        self, account_id: int, chat_ref: str, slots: asyncio.Semaphore
    ) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        chats = self._chats
        chat = chats.get((account_id, chat_ref), loop.time()) if chats is not None else None
        if chat is None:
            await self._take_turn(account_id, slots, loop)
        else:
            # A chat's buckets are charged only once the bot's turn has come, right before
            # the send: charged earlier, a wait for the bot would shrink the gap between
            # two messages to the chat. Until the chat has room, no turn is taken.
            async with chat.lock:
                while not chat.has_capacity():
                    await asyncio.sleep(_CHAT_POLL_SECONDS)
                await self._take_turn(account_id, slots, loop)
                for limiter in chat.limiters:
                    await limiter.acquire()  # no wait: checked above, and the lock is ours
        try:
            yield
        finally:
            slots.release()

    async def _take_turn(
        self, account_id: int, slots: asyncio.Semaphore, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Take a slot and the account's turn; on return the caller holds the slot."""
        await self._wait_pause(account_id, loop)
        if self._bot_rate <= 0:
            await slots.acquire()
            return
        bot = self._bots.get(account_id)
        if bot is None:
            bot = self._bots[account_id] = (AsyncLimiter(1, 1.0 / self._bot_rate), asyncio.Lock())
        limiter, lock = bot
        # The bot's other sends queue on the lock, without a slot: the bucket has one
        # waiter and one timer at a time, and only that one holds a slot.
        async with lock:
            await slots.acquire()
            try:
                await limiter.acquire()
            except BaseException:
                slots.release()
                raise

    async def _wait_pause(self, account_id: int, loop: asyncio.AbstractEventLoop) -> None:
        until = self._paused_until.get(account_id)
        if until is None:
            return
        while until > loop.time():
            await asyncio.sleep(until - loop.time())
            until = self._paused_until.get(account_id, 0.0)

    async def wait_unpaused(self, account_id: int) -> None:
        if account_id in self._paused_until:
            await self._wait_pause(account_id, asyncio.get_running_loop())

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
    reaches the provider a few milliseconds later, and those delays differ. Should Redis
    fail, sending goes on under this process's own limits (a 429 then pauses the bot).
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
        max_connections: int = 128,
    ) -> None:
        uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
        self._storage = RedisStorage(
            uri,
            implementation="redispy",
            key_prefix=f"{prefix}:limits",
            max_connections=max_connections,
        )
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
        self._redis = aioredis.from_url(redis_url, max_connections=max_connections)
        # Calls wait for a connection here rather than fail when the pools are busy.
        self._connections = asyncio.Semaphore(max_connections)
        self._pause_key = f"{prefix}:pause:"
        self._pause_seen: dict[int, tuple[float, float]] = {}  # account -> (until, checked at)
        self._bot_locks: dict[int, asyncio.Lock] = {}
        self._warned_at = -math.inf

    @classmethod
    def from_settings(cls, settings: DeliverySettings, redis_url: str) -> RedisLimits:
        return cls(
            redis_url,
            per_bot_per_second=settings.per_bot_per_second,
            per_chat_per_second=settings.per_chat_per_second,
            per_group_per_minute=settings.per_group_per_minute,
            max_connections=max(32, min(512, settings.concurrency)),
        )

    @contextlib.asynccontextmanager
    async def turn(
        self, account_id: int, chat_ref: str, slots: asyncio.Semaphore
    ) -> AsyncIterator[None]:
        async with self._local.turn(account_id, chat_ref, slots):
            try:
                await self._shared_turn(account_id, chat_ref)
            except RedisError as exc:
                self._warn(exc)
            yield

    async def _shared_turn(self, account_id: int, chat_ref: str) -> None:
        await self._wait_pause(account_id)
        if self._bot is not None:
            # One waiter per account and process: the others queue here instead of
            # polling Redis together each time a slot frees.
            lock = self._bot_locks.setdefault(account_id, asyncio.Lock())
            async with lock:
                await self._take(self._bot, "bot", str(account_id))
        # This process already spaced the chat's messages; the shared windows only
        # matter when two workers hold messages to one chat at once.
        if self._chat is not None:
            await self._take(self._chat, "chat", str(account_id), chat_ref)
        if self._group is not None:
            await self._take(self._group, "group", str(account_id), chat_ref)

    async def _take(self, item: RateLimitItem, *identifiers: str) -> None:
        while True:
            async with self._connections:
                if await self._limiter.hit(item, *identifiers):
                    return
                stats = await self._limiter.get_window_stats(item, *identifiers)
            await asyncio.sleep(min(max(stats.reset_time - time.time(), 0.002), 1.0))

    def _warn(self, exc: RedisError) -> None:
        now = time.monotonic()
        if now - self._warned_at > 10:
            self._warned_at = now
            log.warning("Redis limits unavailable, sending under this process's limits: %s", exc)

    async def wait_unpaused(self, account_id: int) -> None:
        await self._local.wait_unpaused(account_id)
        try:
            await self._wait_pause(account_id)
        except RedisError as exc:
            self._warn(exc)

    async def _wait_pause(self, account_id: int) -> None:
        while True:
            now = time.time()
            until, checked = self._pause_seen.get(account_id, (0.0, 0.0))
            if now - checked > _PAUSE_RECHECK_SECONDS:
                self._pause_seen[account_id] = (until, now)  # one look at a time
                async with self._connections:
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
        try:
            async with self._connections:
                await self._redis.set(
                    f"{self._pause_key}{account_id}", repr(until), px=max(1, int(seconds * 1000))
                )
        except RedisError as exc:
            self._warn(exc)

    async def close(self) -> None:
        await self._local.close()
        await self._redis.aclose()


def make_limits(settings: DeliverySettings, redis_url: str | None) -> LimiterBackend:
    """The backend a worker uses: Redis when configured (scale-out), else this process."""
    if redis_url:
        return RedisLimits.from_settings(settings, redis_url)
    return MemoryLimits.from_settings(settings)
