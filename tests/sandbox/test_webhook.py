"""Webhook delivery: updates POSTed with the secret header, retried, replies executed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiohttp import web

from sandbox.telegram import webhook
from sandbox.telegram.client import SandboxClient
from tests.sandbox.conftest import LAN, TOKEN


class Hook:
    """A bot's webhook endpoint on an ephemeral port that records what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str | None, dict[str, Any]]] = []
        self.status = 200
        self.reply: dict[str, Any] | None = None
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.received.append((secret, await request.json()))
        self.arrived.set()
        if self.reply is not None and self.status == 200:
            return web.json_response(self.reply)
        return web.Response(status=self.status)

    async def wait(self, count: int) -> None:
        while len(self.received) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 30)


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    h = Hook()
    app = web.Application()
    app.router.add_post("/hook", h.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    h.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield h
    await runner.cleanup()


async def test_updates_are_posted_with_the_secret(
    client: SandboxClient, bot: Bot, hook: Hook
) -> None:
    assert await bot.set_webhook(hook.url, secret_token="s3cret_Token-1")
    sent = await client.private_message(TOKEN, LAN, "/start")
    await hook.wait(1)
    ((secret, update),) = hook.received
    assert secret == "s3cret_Token-1"
    assert update["update_id"] == sent["update_id"] and update["message"]["text"] == "/start"
    info = await bot.get_webhook_info()
    assert info.url == hook.url and info.pending_update_count == 0
    assert info.last_error_message is None


async def test_a_refused_update_is_sent_again(
    client: SandboxClient, bot: Bot, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "RETRY_SECONDS", 0.05)
    hook.status = 500
    assert await bot.set_webhook(hook.url)
    sent = await client.private_message(TOKEN, LAN, "hello")
    await hook.wait(2)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    hook.status = 200
    count = len(hook.received)
    await hook.wait(count + 1)
    ids = {u["update_id"] for _, u in hook.received}
    assert ids == {sent["update_id"]}  # the same update, again: the bot must deduplicate
    while (await bot.get_webhook_info()).pending_update_count:
        await asyncio.sleep(0.05)


async def test_a_method_in_the_answer_is_executed(
    client: SandboxClient, bot: Bot, hook: Hook
) -> None:
    await client.private_message(TOKEN, LAN, "/start")  # opens the chat
    hook.reply = {"method": "sendMessage", "chat_id": LAN["id"], "text": "Xin chào"}
    assert await bot.set_webhook(hook.url)
    msgs = await client.messages(TOKEN, LAN["id"], wait_count=1, wait=30)
    assert [m["text"] for m in msgs] == ["Xin chào"]


async def test_updates_are_in_flight_together(client: SandboxClient, bot: Bot, hook: Hook) -> None:
    gate = asyncio.Event()
    inside = 0
    peak = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        hook.received.append((None, await request.json()))
        hook.arrived.set()
        await gate.wait()
        inside -= 1
        return web.Response()

    for i in range(3):
        await client.private_message(TOKEN, LAN, f"tap {i}")
    app = web.Application()
    app.router.add_post("/hook", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        assert await bot.set_webhook(url, max_connections=40)
        await hook.wait(3)
        assert peak == 3  # one person's three updates are handled concurrently
        gate.set()
        while (await bot.get_webhook_info()).pending_update_count:
            await asyncio.sleep(0.05)
    finally:
        gate.set()
        await bot.delete_webhook()
        await runner.cleanup()


@pytest.mark.parametrize(
    ("url", "secret", "match"),
    [
        ("http://example.org/hook", None, "An HTTPS URL must be provided for webhook"),
        ("https://example.org:8080/hook", None, "only on ports 80, 88, 443 or 8443"),
        ("https://example.org/hook", "base64+/=", "secret token contains unallowed characters"),
        ("https://example.org/hook", "x" * 257, "secret token contains unallowed characters"),
    ],
)
async def test_set_webhook_checks_like_telegram(
    bot: Bot, url: str, secret: str | None, match: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=match):
        await bot.set_webhook(url, secret_token=secret)
    assert (await bot.get_webhook_info()).url == ""
