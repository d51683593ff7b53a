"""Webhook delivery: while a bot has a webhook, the sandbox POSTs its updates there.

As Telegram does (core.telegram.org/bots/api#setwebhook):

* each update is a JSON POST to the URL with the header ``X-Telegram-Bot-Api-Secret-Token``
  when a secret_token was set; a 2xx answer delivers it, anything else is an error kept in
  getWebhookInfo (``last_error_date``, ``last_error_message``) and the update is sent again
  later (after ``RETRY_SECONDS``), so a bot must ignore the update_ids it already handled;
* up to ``max_connections`` (default 40) updates are in flight at once, so one person's
  updates may be handled concurrently and out of order;
* a 2xx answer whose JSON body names a ``method`` is executed as that Bot API call, its
  result unknown to the bot (Telegram's "reply to the webhook with a method").

setWebhook checks the URL like Telegram ("bad webhook: An HTTPS URL must be provided for
webhook", ports 80, 88, 443 or 8443) with one sandbox exception: plain http on 127.0.0.1,
::1 or localhost, any port, so that tests can serve the bot locally. The secret token is
1-256 characters of A-Z a-z 0-9 _ - ("secret token contains unallowed characters").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import deque
from typing import Any

import aiohttp
from yarl import URL

from .errors import ApiError, bad_request
from .model import BotState
from .state import World

RETRY_SECONDS = 1.0
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def check_url(url: str) -> None:
    try:
        parsed = URL(url)
    except ValueError:
        raise bad_request(
            "bad webhook: Failed to resolve host: Name or service not known"
        ) from None
    if parsed.scheme == "http" and parsed.host in LOCAL_HOSTS:
        return
    if parsed.scheme != "https" or not parsed.host:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if parsed.port not in (80, 88, 443, 8443):
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def check_secret(secret: str) -> None:
    if not _SECRET.match(secret):
        raise bad_request("secret token contains unallowed characters")


def start(world: World, bot: BotState) -> None:
    """Make sure a delivery task runs for this bot (it ends when the webhook is deleted)."""
    task = world.webhook_tasks.get(bot.token)
    if task is None or task.done():
        world.webhook_tasks[bot.token] = asyncio.get_running_loop().create_task(
            _deliver(world, bot, world.generation)
        )


async def _deliver(world: World, bot: BotState, generation: int) -> None:
    in_flight: dict[int, asyncio.Task[None]] = {}
    retry_at: dict[int, float] = {}
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        try:
            while bot.webhook["url"] and not world.closing and world.generation == generation:
                limit = int(bot.webhook.get("max_connections") or 40)
                now = loop.time()
                wake = 30.0
                for uid, kind, payload in list(bot.updates):
                    if len(in_flight) >= limit:
                        break
                    if uid in in_flight:
                        continue
                    if retry_at.get(uid, 0.0) > now:
                        wake = min(wake, retry_at[uid] - now)
                        continue
                    update = {"update_id": uid, kind: payload}
                    in_flight[uid] = loop.create_task(
                        _post(world, bot, http, update, in_flight, retry_at)
                    )
                await bot.update_signal.wait(wake)
        finally:
            for task in in_flight.values():
                task.cancel()
            for task in list(in_flight.values()):
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _post(
    world: World,
    bot: BotState,
    http: aiohttp.ClientSession,
    update: dict[str, Any],
    in_flight: dict[int, asyncio.Task[None]],
    retry_at: dict[int, float],
) -> None:
    uid = update["update_id"]
    headers = {"Content-Type": "application/json"}
    secret = bot.webhook.get("secret_token")
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    error = None
    reply: Any = None
    try:
        async with http.post(
            bot.webhook["url"],
            data=_dumps(update).encode("utf-8"),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=60),
        ) as resp:
            body = await resp.read()
            if 200 <= resp.status < 300:
                with contextlib.suppress(ValueError, UnicodeDecodeError):
                    reply = json.loads(body) if body else None
            else:
                error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
    except (TimeoutError, aiohttp.ClientError, OSError) as e:
        error = f"Connection failed: {type(e).__name__}"
    finally:
        in_flight.pop(uid, None)
    if error is None:
        retry_at.pop(uid, None)
        bot.updates = deque(u for u in bot.updates if u[0] != uid)
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            await _run_reply(world, bot, reply)
    else:
        bot.webhook["last_error_date"] = int(time.time())
        bot.webhook["last_error_message"] = error
        retry_at[uid] = asyncio.get_running_loop().time() + RETRY_SECONDS
    bot.update_signal.notify()


async def _run_reply(world: World, bot: BotState, reply: dict[str, Any]) -> None:
    from .methods import METHODS  # imported here: the methods module imports this one

    fn = METHODS.get(str(reply["method"]).lower())
    if fn is None:
        return
    params = {k: v for k, v in reply.items() if k != "method"}
    try:
        await fn(world, bot, params)
    except ApiError as e:  # Telegram does not tell the bot either
        bot.stats.error(e.code, params.get("chat_id"))
