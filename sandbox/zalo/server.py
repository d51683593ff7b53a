"""The Zalo sandbox's Bot API (``/bot<TOKEN>/<method>``), its webhook delivery, and a
runner for in-process use (``ZaloSandbox``).

Every method is a POST with a JSON object body and answers the documented envelope
``{ok, result}`` or ``{ok: false, error_code, description}`` (with that HTTP status).
Anything the documentation does not offer is refused: other methods (editMessageText,
deleteMessage, answerCallbackQuery, …) are 404, and ``reply_markup`` / ``parse_mode``
are 400, so a client that leans on Telegram's ideas fails here as it would on Zalo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from . import control
from .state import MAX_TEXT, SECRET_HEADER, ApiError, Bot, ZaloWorld, now_ms

WORLD = web.AppKey("zalo_world", ZaloWorld)
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
WEBHOOK_RETRIES = 3
WEBHOOK_RETRY_SECONDS = 0.5
_NOT_ZALO = ("reply_markup", "parse_mode", "entities", "inline_keyboard")

Method = Callable[[ZaloWorld, Bot, dict[str, Any]], Awaitable[Any]]


def _text(value: Any, name: str, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise ApiError(400, f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    if len(value) > MAX_TEXT:
        raise ApiError(400, f"{name} length must be from 1 to {MAX_TEXT} characters")
    return value


async def get_me(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    return bot.info()


async def get_updates(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    if bot.webhook_url:
        raise ApiError(409, "Conflict: getUpdates is not available while a webhook is set")
    try:
        timeout = min(max(float(body.get("timeout", 30)), 0.0), 60.0)
    except (TypeError, ValueError):
        raise ApiError(400, "timeout must be a number of seconds") from None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not bot.events and not world.closing and not bot.webhook_url:
        bot.event_added.clear()
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(bot.event_added.wait(), remaining)
    if not bot.events or bot.webhook_url:
        raise ApiError(408, "Request timeout")
    return bot.events.popleft()  # one event per call, no update_id


def _check_webhook(url: Any, secret: Any) -> None:
    if not isinstance(url, str) or not url:
        raise ApiError(400, "url is required")
    try:
        parsed = URL(url)
    except ValueError:
        raise ApiError(400, "url is invalid") from None
    local = parsed.scheme == "http" and parsed.host in LOCAL_HOSTS  # the sandbox's exception
    if not local and (parsed.scheme != "https" or not parsed.host):
        raise ApiError(400, "url must be an HTTPS URL")
    if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
        raise ApiError(400, "secret_token must be 8 to 256 characters")


async def set_webhook(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    _check_webhook(body.get("url"), body.get("secret_token"))
    bot.webhook_url, bot.webhook_secret = body["url"], body["secret_token"]
    bot.webhook_updated_at = now_ms()
    bot.event_added.set()  # a waiting getUpdates ends; the queue goes to the webhook
    return {"url": bot.webhook_url, "updated_at": bot.webhook_updated_at}


async def delete_webhook(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    bot.webhook_url = bot.webhook_secret = ""
    bot.webhook_updated_at = now_ms()
    return {"url": "", "updated_at": bot.webhook_updated_at}


async def get_webhook_info(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    return {"url": bot.webhook_url, "updated_at": bot.webhook_updated_at}


async def send_message(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    chat = world.chat_for_send(bot, body.get("chat_id"))
    text = _text(body.get("text"), "text", required=True)
    world.charge(bot)
    return world.record_sent(bot, chat, {"text": text})


async def send_photo(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    chat = world.chat_for_send(bot, body.get("chat_id"))
    photo = _text(body.get("photo"), "photo", required=True)
    assert photo is not None
    if not photo.startswith(("https://", "http://")):
        raise ApiError(400, "photo must be a URL")
    caption = _text(body.get("caption"), "caption", required=False)
    world.charge(bot)
    return world.record_sent(bot, chat, {"photo": photo, "caption": caption})


async def send_sticker(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    chat = world.chat_for_send(bot, body.get("chat_id"))
    sticker = _text(body.get("sticker"), "sticker", required=True)
    world.charge(bot)
    return world.record_sent(bot, chat, {"sticker": sticker})


async def send_chat_action(world: ZaloWorld, bot: Bot, body: dict[str, Any]) -> Any:
    world.chat_for_send(bot, body.get("chat_id"))
    if body.get("action") not in ("typing", "upload_photo"):
        raise ApiError(400, "action must be typing or upload_photo")
    return None


METHODS: dict[str, Method] = {
    "getMe": get_me,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendSticker": send_sticker,
    "sendChatAction": send_chat_action,
}


def _answer(result: Any = None, error: ApiError | None = None) -> web.Response:
    if error is not None:
        body = {"ok": False, "error_code": error.code, "description": error.description}
        return web.json_response(body, status=error.code)
    return web.json_response({"ok": True, "result": result})


async def bot_api(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    method = METHODS.get(request.match_info["method"])
    try:
        if request.method != "POST":
            raise ApiError(405, "Method Not Allowed")
        bot = world.bot(request.match_info["token"])
        if method is None:
            raise ApiError(404, "Not Found")
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            raise ApiError(400, "the body must be JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object")
        if any(key in body for key in _NOT_ZALO):
            raise ApiError(400, "Zalo messages have no buttons or formatting")
        result = await method(world, bot, body)
    except ApiError as exc:
        return _answer(error=exc)
    return _answer(result)


async def _post(session: aiohttp.ClientSession, bot: Bot, event: dict[str, Any]) -> int:
    try:
        async with session.post(
            bot.webhook_url,
            json={"ok": True, "result": event},
            headers={SECRET_HEADER: bot.webhook_secret},
            timeout=aiohttp.ClientTimeout(total=10),
        ) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def deliver_webhooks(world: ZaloWorld) -> None:
    """While a bot has a webhook, POST its events there (and the duplicates it asks for)."""
    async with aiohttp.ClientSession() as session:
        while not world.closing:
            sent_any = False
            for bot in list(world.bots.values()):
                if not bot.webhook_url or not bot.events:
                    continue
                event = bot.events.popleft()
                sent_any = True
                for _ in range(1 + bot.duplicates):
                    for attempt in range(WEBHOOK_RETRIES):
                        status = await _post(session, bot, event)
                        bot.webhook_posts.append(status)
                        if 200 <= status < 300:
                            break
                        if attempt + 1 < WEBHOOK_RETRIES:
                            await asyncio.sleep(WEBHOOK_RETRY_SECONDS)
            if not sent_any:
                await asyncio.sleep(0.02)


def create_app(world: ZaloWorld | None = None) -> web.Application:
    world = world if world is not None else ZaloWorld()
    app = web.Application()
    app[WORLD] = world
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    control.setup(app, world)

    async def webhooks(_app: web.Application) -> Any:
        task = asyncio.create_task(deliver_webhooks(world), name="zalo-webhooks")
        yield
        world.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(webhooks)
    return app


class ZaloSandbox:
    """Runs the Zalo sandbox in the current event loop (``url`` once started)."""

    def __init__(self, world: ZaloWorld | None = None) -> None:
        self.world = world if world is not None else ZaloWorld()
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the Zalo sandbox is not running")
        return f"http://127.0.0.1:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        runner = web.AppRunner(
            create_app(self.world), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            self.world.close()
            await runner.cleanup()

    async def __aenter__(self) -> ZaloSandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
