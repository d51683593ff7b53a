"""getUpdates and the webhook methods, with Telegram's two conflicts.

* While a webhook is set, getUpdates answers 409 "Conflict: can't use getUpdates method while
  webhook is active; use deleteWebhook to delete the webhook first"; a long poll that is
  waiting when setWebhook is called ends with the same 409.
* Only one getUpdates per bot at a time: a new getUpdates (long or short) ends the one that
  is still waiting with 409 "Conflict: terminated by other getUpdates request; make sure
  that only one bot instance is running", and is itself answered normally. Two bot
  instances polling one token therefore keep knocking each other out, as on Telegram.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import webhook
from .errors import TERMINATED, WEBHOOK_ACTIVE, conflict
from .model import BotState
from .params import method, p_bool, p_int, p_json
from .state import World


@method("getUpdates")
async def get_updates(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    if bot.webhook["url"]:
        raise conflict(WEBHOOK_ACTIVE)
    bot.poll_serial += 1
    serial = bot.poll_serial
    bot.update_signal.notify()  # a long poll still waiting sees the new serial: 409
    offset = p_int(params, "offset")
    limit = min(max(p_int(params, "limit") or 100, 1), 100)
    timeout = min(max(p_int(params, "timeout") or 0, 0), 50)
    allowed = p_json(params, "allowed_updates", "allowed updates")
    if allowed is not None:
        bot.allowed_updates = list(allowed) or None
    if offset:
        bot.confirm(offset)
    updates = bot.take(limit)
    if updates or timeout <= 0:
        return updates
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    generation = world.generation
    while not updates and not world.closing and world.generation == generation:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await bot.update_signal.wait(remaining)
        if bot.poll_serial != serial:
            raise conflict(TERMINATED)
        if bot.webhook["url"]:
            raise conflict(WEBHOOK_ACTIVE)
        updates = bot.take(limit)
    return updates


@method("setWebhook")
async def set_webhook(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    url = str(params.get("url") or "")
    secret = str(params.get("secret_token") or "")
    if url:
        webhook.check_url(url)
    if params.get("secret_token") is not None:
        webhook.check_secret(secret)
    bot.webhook = {"url": url}
    for key in ("max_connections", "ip_address"):
        if params.get(key) is not None:
            bot.webhook[key] = params[key]
    allowed = p_json(params, "allowed_updates", "allowed updates")
    if allowed is not None:
        bot.webhook["allowed_updates"] = allowed
        bot.allowed_updates = list(allowed) or None
    if secret:
        bot.webhook["secret_token"] = secret
    if p_bool(params, "drop_pending_updates"):
        bot.updates.clear()
    bot.update_signal.notify()  # a waiting long poll ends with the webhook conflict
    if url:
        webhook.start(world, bot)
    return True


@method("deleteWebhook")
async def delete_webhook(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    bot.webhook = {"url": ""}
    if p_bool(params, "drop_pending_updates"):
        bot.updates.clear()
    bot.update_signal.notify()  # the delivery task ends
    return True


@method("getWebhookInfo")
async def get_webhook_info(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    info = {"has_custom_certificate": False, "pending_update_count": len(bot.updates)}
    info.update({k: v for k, v in bot.webhook.items() if k != "secret_token"})
    if "max_connections" in info:
        info["max_connections"] = int(info["max_connections"])
    return info
