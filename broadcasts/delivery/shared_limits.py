"""Send limits shared by every worker through Redis (the scale-out deployment).

The same rule as `limits.py`, with the logs in Redis: one sorted set per account, chat and
group, whose members are the sends that still count, scored by when their answer came (or
by start + `hold` while in flight). One Lua script checks every log of a message and, when
all have room, enters the send in each at Redis's time; a second one stamps the answer.
Times are Redis's own clock, so the processes' clocks never meet. The answer is stamped at
the moment it came, not when the stamp reaches Redis (a busy machine's round trip, tens of
ms, would otherwise count as part of every send): the admission ran on Redis after this
process asked for it, so Redis's clock at the answer is at most the admission's time plus
what this process's clock measured from asking to the answer (`answer_bound`, with a
margin for the two clocks' rates; Redis's time when the stamp runs bounds it too). A
process also paces its own sends with `MemoryLimits`, so it never bursts; its own log ends
at the same answer, before the stamp's round trip. Should Redis fail, sending goes on under
this process's limits alone (a 429 then pauses the bot) and a warning is logged.

A 429's pause is a key with a time to live: every process sees how long is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from broadcasts.delivery.clock import LOOP_CLOCK, Clock
from broadcasts.delivery.limits import MemoryLimits, hold_seconds, may_still_arrive, window
from broadcasts.settings import DeliverySettings

log = logging.getLogger(__name__)

# How stale one process's view of another's 429 pause may be.
_PAUSE_RECHECK_SECONDS = 0.1
_WARN_EVERY_SECONDS = 10.0

# Lua turns numbers into strings with 14 digits; times in µs need 16: format them whole.
# KEYS: the logs; ARGV: member, hold (µs), then limit and period (µs) of each log.
# Returns {0, Redis's time (µs)} when the send was entered in every log, else {how many µs
# to wait first}.
_ADMIT = """
local function whole(x) return string.format('%.0f', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local hold = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', whole(now - period))
  if redis.call('ZCARD', key) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    wait = math.max(wait, oldest + period - now)
  end
end
if wait > 0 then
  return {math.ceil(wait)}
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, whole(now + hold), ARGV[1])
  redis.call('PEXPIRE', key, whole(math.ceil((hold + tonumber(ARGV[2 + 2 * i])) / 1000) + 1000))
end
return {0, now}
"""

# KEYS: the logs the send was entered in; ARGV: member, the latest the answer can have come
# (µs, Redis's clock). Stamps the answer's arrival: that, or now if earlier.
_ANSWERED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at = string.format('%.0f', math.min(now, tonumber(ARGV[2])))
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', at, ARGV[1])
end
return 0
"""

# KEYS: the pause key; ARGV: milliseconds. Never shortens a longer pause.
_PAUSE = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""

_MICROS = 1_000_000
# How much faster this process's clock may run than Redis's, or the other way round: far
# more than NTP ever slews a clock (0.05%).
_RATE_MARGIN = 1e-3


@dataclass(slots=True)
class _Entry:
    """A send entered in the shared logs: where, and when it was admitted on Redis's clock
    (`admitted_us`), asked for at `asked` on this process's clock."""

    keys: list[str]
    member: str
    admitted_us: int
    asked: float


def answer_bound(admitted_us: int, asked: float, answered: float) -> int:
    """The latest moment, on Redis's clock (µs), that an answer seen at `answered` can have
    come, for a send admitted at `admitted_us` after this process asked at `asked`.

    The admission ran at or after the asking, so from the admission to the answer Redis's
    clock moved at most what this process's measured from the asking to the seeing, give
    or take the clocks' rates.
    """
    return admitted_us + math.ceil(max(0.0, answered - asked) * _MICROS * (1 + _RATE_MARGIN))


class RedisLimits:
    """Limits shared by every worker through Redis."""

    def __init__(
        self,
        redis_url: str,
        *,
        per_bot_per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: float = 20.0,
        hold: float = 30.0,
        prefix: str = "loa",
        max_connections: int = 128,
        transport_rates: Mapping[str, float] | None = None,
        clock: Clock = LOOP_CLOCK,
    ) -> None:
        self._clock = clock
        self._local = MemoryLimits(
            per_bot_per_second=per_bot_per_second,
            per_chat_per_second=per_chat_per_second,
            per_group_per_minute=per_group_per_minute,
            hold=hold,
            transport_rates=transport_rates,
            clock=clock,
        )
        self._hold_us = math.ceil(hold * _MICROS)
        windows = (
            ("bot", window(per_bot_per_second, 1.0)),
            ("chat", window(per_chat_per_second, 1.0)),
            ("group", window(per_group_per_minute, 60.0)),
        )
        self._windows = [(scope, w[0], math.ceil(w[1] * _MICROS)) for scope, w in windows if w]
        self._redis = aioredis.from_url(redis_url, max_connections=max_connections)
        self._admit = self._redis.register_script(_ADMIT)
        self._answered = self._redis.register_script(_ANSWERED)
        self._set_pause = self._redis.register_script(_PAUSE)
        # Calls wait for a connection here rather than fail when the pool is busy.
        self._connections = asyncio.Semaphore(max_connections)
        self._prefix = prefix
        self._members = (f"{secrets.token_hex(6)}:{n}" for n in itertools.count())
        self._pause_seen: dict[int, tuple[float, float]] = {}  # account -> (until, checked)
        self._account_locks: dict[int, asyncio.Lock] = {}
        self._warned_at = -math.inf

    @classmethod
    def from_settings(
        cls,
        settings: DeliverySettings,
        redis_url: str,
        *,
        transport_rates: Mapping[str, float] | None = None,
        clock: Clock = LOOP_CLOCK,
    ) -> RedisLimits:
        return cls(
            redis_url,
            per_bot_per_second=settings.per_bot_per_second,
            per_chat_per_second=settings.per_chat_per_second,
            per_group_per_minute=settings.per_group_per_minute,
            hold=hold_seconds(settings.send_timeout_seconds),
            max_connections=max(32, min(512, settings.concurrency)),
            transport_rates=transport_rates,
            clock=clock,
        )

    def use_transport(self, account_id: int, transport: str) -> None:
        self._local.use_transport(account_id, transport)

    @contextlib.asynccontextmanager
    async def turn(
        self, account_id: int, chat_ref: str, slots: asyncio.Semaphore
    ) -> AsyncIterator[None]:
        async with self._shared(
            self._local.turn(account_id, chat_ref, slots), account_id, chat_ref
        ):
            yield

    @contextlib.asynccontextmanager
    async def account_turn(self, account_id: int) -> AsyncIterator[None]:
        async with self._shared(self._local.account_turn(account_id), account_id, None):
            yield

    @contextlib.asynccontextmanager
    async def _shared(
        self, local: AbstractAsyncContextManager[None], account_id: int, chat_ref: str | None
    ) -> AsyncIterator[None]:
        """This process's turn `local`, then a turn in the shared logs. The answer ends the
        local turn (its log, its slot) at once; the shared logs are stamped after that."""
        entry: _Entry | None = None
        answered: float | None = None
        try:
            async with local:
                try:
                    entry = await self._shared_turn(account_id, chat_ref, next(self._members))
                except RedisError as exc:
                    self._warn(exc)
                try:
                    yield
                except BaseException as exc:
                    if not may_still_arrive(exc):
                        answered = self._clock.monotonic()
                    raise
                answered = self._clock.monotonic()
        finally:
            if entry is not None and answered is not None:
                await self._stamp(entry, answered)

    def _keys(self, account_id: int, chat_ref: str | None) -> list[tuple[str, int, int]]:
        """The logs a send enters: the account's, and its chat's unless `chat_ref` is None."""
        keys = []
        for scope, limit, period in self._windows:
            name = f"{self._prefix}:log:{scope}:{account_id}"
            if scope == "bot":
                # A slower platform's account (Zalo): its own rate, in every process.
                limit, period = self._bot_window(account_id, limit, period)
            else:
                if chat_ref is None:
                    continue
                name = f"{name}:{chat_ref}"
            keys.append((name, limit, period))
        return keys

    def _bot_window(self, account_id: int, limit: int, period: int) -> tuple[int, int]:
        own = window(self._local.account_rate(account_id), 1.0)
        return (own[0], math.ceil(own[1] * _MICROS)) if own else (limit, period)

    async def _shared_turn(
        self, account_id: int, chat_ref: str | None, member: str
    ) -> _Entry | None:
        """Wait until every shared log has room and enter the send (None: no shared log)."""
        await self._wait_pause(account_id)
        keys = self._keys(account_id, chat_ref)
        if not keys:
            return None
        args: list[Any] = [member, self._hold_us]
        for _, limit, period in keys:
            args += [limit, period]
        longest = max(period for _, _, period in keys)
        # One waiter per account and process: the others queue here instead of asking
        # Redis together each time a send leaves the window.
        lock = self._account_locks.setdefault(account_id, asyncio.Lock())
        async with lock:
            while True:
                async with self._connections:
                    asked = self._clock.monotonic()  # before the call: Redis runs it later
                    reply = await self._admit(keys=[k for k, _, _ in keys], args=args)
                wait_us = int(reply[0])
                if wait_us <= 0:
                    return _Entry([k for k, _, _ in keys], member, int(reply[1]), asked)
                # Past one period, every send that counts is in flight: look again then.
                await self._clock.sleep(min(wait_us, longest) / _MICROS)

    async def _stamp(self, entry: _Entry, answered: float) -> None:
        at = answer_bound(entry.admitted_us, entry.asked, answered)
        try:
            async with self._connections:
                await self._answered(keys=entry.keys, args=[entry.member, at])
        except RedisError as exc:  # the entry then counts until start + hold
            self._warn(exc)

    def _warn(self, exc: RedisError) -> None:
        now = self._clock.monotonic()
        if now - self._warned_at > _WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("Redis limits unavailable, sending under this process's limits: %s", exc)

    async def wait_unpaused(self, account_id: int) -> None:
        await self._local.wait_unpaused(account_id)
        try:
            await self._wait_pause(account_id)
        except RedisError as exc:
            self._warn(exc)

    def _pause_key(self, account_id: int) -> str:
        return f"{self._prefix}:pause:{account_id}"

    async def _wait_pause(self, account_id: int) -> None:
        clock = self._clock
        while True:
            now = clock.monotonic()
            until, checked = self._pause_seen.get(account_id, (0.0, -math.inf))
            if now - checked > _PAUSE_RECHECK_SECONDS:
                self._pause_seen[account_id] = (until, now)  # one look at a time
                async with self._connections:
                    left_ms = int(await self._redis.pttl(self._pause_key(account_id)))
                until = now + left_ms / 1000 if left_ms > 0 else 0.0
                self._pause_seen[account_id] = (until, now)
            if until <= now:
                return
            await clock.sleep(until - now)

    async def pause(self, account_id: int, seconds: float) -> None:
        await self._local.pause(account_id, seconds)
        now = self._clock.monotonic()
        self._pause_seen[account_id] = (now + seconds, now)
        try:
            async with self._connections:
                await self._set_pause(
                    keys=[self._pause_key(account_id)], args=[max(1, math.ceil(seconds * 1000))]
                )
        except RedisError as exc:
            self._warn(exc)

    async def close(self) -> None:
        await self._local.close()
        await self._redis.aclose()
