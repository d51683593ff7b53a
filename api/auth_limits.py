"""Failed authentication is counted and logged, per client address and per key prefix.

After `failures` wrong keys within `window_seconds` from one address, or against one key
prefix, every further attempt from there (right key or wrong) is answered 429 with
Retry-After until the window has room again: guessing becomes slow, and a real key
being guessed at does not lock out its owner's other addresses for longer than the window.
Each failure is logged with the address and the prefix the caller sent, never the secret.

The counts live in memory (one process), or in Redis when `redis_url` is set, so that all
API processes share them. `limits`' moving window does the counting.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException, Request
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from broadcasts.errors import NotAllowed

log = logging.getLogger(__name__)

# `loa_<prefix>_…`: the prefix is public (it is shown in key lists); anything else that was
# presented is a secret or a guess and is neither logged nor used as a counter key.
_PREFIX = re.compile(r"^loa_([a-z0-9]{8})_")


class TooManyFailures(HTTPException):
    """429: too many failed authentications from this address or for this key."""


class AuthFailureLimiter:
    def __init__(
        self,
        *,
        failures_per_address: int,
        failures_per_key: int,
        window_seconds: int,
        redis_url: str | None = None,
    ) -> None:
        storage: Storage
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            storage = RedisStorage(uri, implementation="redispy", key_prefix="loa:auth")
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_address = RateLimitItemPerSecond(failures_per_address, window_seconds)
        self.per_key = RateLimitItemPerSecond(failures_per_key, window_seconds)

    def _subjects(self, address: str, prefix: str | None) -> list[tuple[RateLimitItem, str]]:
        subjects: list[tuple[RateLimitItem, str]] = [(self.per_address, f"address:{address}")]
        if prefix is not None:
            subjects.append((self.per_key, f"key:{prefix}"))
        return subjects

    async def check(self, address: str, prefix: str | None) -> None:
        """Raise 429 if this address or this key prefix has used up its failures."""
        for item, subject in self._subjects(address, prefix):
            if not await self.limiter.test(item, subject):
                reset, _ = await self.limiter.get_window_stats(item, subject)
                retry_after = max(1, math.ceil(reset - time.time()))
                log.warning(
                    "authentication refused: too many failures for %s (retry in %ss)",
                    subject,
                    retry_after,
                )
                raise TooManyFailures(
                    429,
                    "too many failed authentications; wait before trying again",
                    headers={"Retry-After": str(retry_after)},
                )

    async def failed(self, address: str, prefix: str | None, reason: str) -> None:
        log.warning(
            "authentication failed from %s (key prefix %s): %s",
            address,
            prefix or "-",
            reason,
        )
        for item, subject in self._subjects(address, prefix):
            await self.limiter.hit(item, subject)


def key_prefix(presented: str) -> str | None:
    match = _PREFIX.match(presented.strip())
    return match.group(1) if match else None


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@asynccontextmanager
async def guarded_attempt(request: Request, presented: str) -> AsyncIterator[None]:
    """Around one key verification: refuse (429) a client or key that failed too often,
    and count and log the attempt if it fails (`NotAllowed`), then let the failure go on."""
    limiter: AuthFailureLimiter | None = getattr(request.app.state, "auth_limiter", None)
    if limiter is None:  # an app built without `create_app`'s wiring
        yield
        return
    address = client_address(request)
    prefix = key_prefix(presented)
    await limiter.check(address, prefix)
    try:
        yield
    except NotAllowed as exc:
        await limiter.failed(address, prefix, exc.message)
        raise
