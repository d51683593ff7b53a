"""How Zalo events reach `ZaloFront`: a long-poll loop, or the webhook intake.

Long poll: getUpdates answers one event per call and has no update_id or offset, so
nothing tells Zalo what was handled; the loop asks again as soon as an event is handed
over, and waits a little after a failure (a webhook left by another tool answers 409:
the loop deletes it once, as getUpdates cannot work while one is set).

Webhook: Zalo posts each event with the secret in ``X-Bot-Api-Secret-Token`` (the API
route checks it in constant time) and may post it more than once: `WebhookIntake` drops an
event whose (event_name, message_id) it has seen. Which events were seen is kept in this
process's memory (`SeenEvents`, the last `memory` of them), or in Redis (`SharedEvents`,
one SET NX with a TTL per event) when ``LOA_REDIS_URL`` is set: several API processes
behind one webhook URL then drop a copy that reaches another process than the first did.
An event whose handling fails is forgotten again, so Zalo's next try is handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, Protocol

import aiohttp
from pydantic import ValidationError
from redis.asyncio import Redis

from bot.zalo.handlers import ZaloFront
from broadcasts.errors import InvalidInput
from broadcasts.transports.zalo_client import ZaloApiError, ZaloClient
from broadcasts.transports.zalo_wire import ZaloUpdate

log = logging.getLogger(__name__)
RETRY_SECONDS = 2.0
# Zalo publishes no redelivery window; a day is far past any retry of a webhook post.
SHARED_SECONDS = 24 * 3600

EventKey = tuple[str, str]


class EventFilter(Protocol):
    """Which events were taken already (by this process, or by any, through Redis)."""

    async def add(self, key: EventKey) -> bool:
        """True if `key` is new (and now remembered); False for a duplicate."""
        ...

    async def forget(self, key: EventKey) -> None:
        """Take `key` back (its handling failed), so a later copy is handled."""
        ...


class SeenEvents:
    """The last `memory` event keys in this process, oldest forgotten first."""

    def __init__(self, memory: int = 10_000) -> None:
        self._keys: OrderedDict[EventKey, None] = OrderedDict()
        self._memory = memory

    async def add(self, key: EventKey) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self._memory:
            self._keys.popitem(last=False)
        return True

    async def forget(self, key: EventKey) -> None:
        self._keys.pop(key, None)


class SharedEvents:
    """The event keys taken by any process, in Redis: one SET NX per event, with a TTL."""

    def __init__(self, redis: Redis, *, prefix: str, seconds: int = SHARED_SECONDS) -> None:
        self._redis = redis
        self._prefix = prefix
        self._seconds = seconds

    def _name(self, key: EventKey) -> str:
        # The message id is Zalo's string; the event name has no colon, so this is unique.
        return f"{self._prefix}{key[0]}:{key[1]}"

    async def add(self, key: EventKey) -> bool:
        return bool(await self._redis.set(self._name(key), 1, nx=True, ex=self._seconds))

    async def forget(self, key: EventKey) -> None:
        await self._redis.delete(self._name(key))


async def handle_once(front: ZaloFront, seen: EventFilter, update: ZaloUpdate) -> bool:
    """Handle `update` unless it was seen; False for a duplicate."""
    if not await seen.add(update.key):
        return False
    try:
        await front.handle(update)
    except BaseException:
        await seen.forget(update.key)
        raise
    return True


async def poll_updates(
    client: ZaloClient, front: ZaloFront, *, timeout: int = 30, seen: EventFilter | None = None
) -> None:
    """Ask for events until cancelled, handing each one to `front`."""
    seen = seen or SeenEvents()
    webhook_deleted = False
    while True:
        try:
            update = await client.get_update(timeout=timeout)
        except ZaloApiError as exc:
            if exc.code == 409 and not webhook_deleted:
                await client.delete_webhook()
                webhook_deleted = True
                log.info("zalo bot %s: a webhook was set; deleted it to poll", front.account_id)
                continue
            log.warning("zalo bot %s: getUpdates failed: %s", front.account_id, exc)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("zalo bot %s: getUpdates got no answer: %s", front.account_id, exc)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if update is None:
            continue
        try:
            await handle_once(front, seen, update)
        except Exception:  # one bad event must not stop the bot; it is logged with its cause
            log.exception("zalo bot %s: event %s failed", front.account_id, update.key)


class WebhookIntake:
    """One Zalo bot's webhook: the secret it expects and its duplicate filter."""

    def __init__(self, *, front: ZaloFront, secret: str, seen: EventFilter | None = None) -> None:
        self.front = front
        self.secret = secret
        self.seen: EventFilter = seen or SeenEvents()

    async def receive(self, payload: dict[str, Any]) -> bool:
        """Handle one posted envelope; False for a duplicate. InvalidInput if unreadable."""
        result = payload.get("result", payload)  # the envelope, or a bare event
        try:
            update = ZaloUpdate.model_validate(result)
        except ValidationError as exc:
            raise InvalidInput("this is not a Zalo event") from exc
        return await handle_once(self.front, self.seen, update)
