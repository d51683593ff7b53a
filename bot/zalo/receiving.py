"""How Zalo events reach `ZaloFront`: a long-poll loop, or the webhook intake.

Long poll: getUpdates answers one event per call and has no update_id or offset, so
nothing tells Zalo what was handled; the loop asks again as soon as an event is handed
over, and waits a little after a failure (a webhook left by another tool answers 409:
the loop deletes it once, as getUpdates cannot work while one is set).

Webhook: Zalo posts each event with the secret in ``X-Bot-Api-Secret-Token`` (the API
route checks it in constant time) and may post it more than once: `WebhookIntake` drops an
event whose (event_name, message_id) it has seen, remembering the last `memory` of them.
An event whose handling fails is forgotten again, so Zalo's next try is handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

import aiohttp
from pydantic import ValidationError

from bot.zalo.handlers import ZaloFront
from broadcasts.errors import InvalidInput
from broadcasts.transports.zalo_client import ZaloApiError, ZaloClient
from broadcasts.transports.zalo_wire import ZaloUpdate

log = logging.getLogger(__name__)
RETRY_SECONDS = 2.0


class SeenEvents:
    """The last `memory` event keys, oldest forgotten first."""

    def __init__(self, memory: int = 10_000) -> None:
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._memory = memory

    def add(self, key: tuple[str, str]) -> bool:
        """True if `key` is new (and now remembered)."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self._memory:
            self._keys.popitem(last=False)
        return True

    def forget(self, key: tuple[str, str]) -> None:
        self._keys.pop(key, None)


async def handle_once(front: ZaloFront, seen: SeenEvents, update: ZaloUpdate) -> bool:
    """Handle `update` unless it was seen; False for a duplicate."""
    if not seen.add(update.key):
        return False
    try:
        await front.handle(update)
    except BaseException:
        seen.forget(update.key)
        raise
    return True


async def poll_updates(
    client: ZaloClient, front: ZaloFront, *, timeout: int = 30, seen: SeenEvents | None = None
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

    def __init__(self, *, front: ZaloFront, secret: str, seen: SeenEvents | None = None) -> None:
        self.front = front
        self.secret = secret
        self.seen = seen or SeenEvents()

    async def receive(self, payload: dict[str, Any]) -> bool:
        """Handle one posted envelope; False for a duplicate. InvalidInput if unreadable."""
        result = payload.get("result", payload)  # the envelope, or a bare event
        try:
            update = ZaloUpdate.model_validate(result)
        except ValidationError as exc:
            raise InvalidInput("this is not a Zalo event") from exc
        return await handle_once(self.front, self.seen, update)
