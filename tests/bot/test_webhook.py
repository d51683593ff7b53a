"""Webhook mode and polling mode against the sandbox, with the whole runtime.

Webhook mode: setWebhook (with the secret token and the update types) at start,
deleteWebhook at stop; a wrong or missing secret changes nothing; a redelivered update
is handled once; /health says whether the webhook is still Loa's. Polling mode: a
webhook left by another tool is deleted at start (and logged), and /health turns
"degraded" while getUpdates fails (409 while another tool holds a webhook). Scaled out,
`loa api` takes the updates the sandbox posts and `loa bot` manages the webhook.
"""

from __future__ import annotations

import logging

import pytest

from loa.demo import Player
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.bot.telegram_world import (
    PUBLIC_URL,
    QUICK,
    SECRET,
    TOKEN,
    USERNAME,
    WEBHOOK_URL,
    Loa,
    bot_api,
    loa_settings,
    open_loa,
    seed,
)

LEADER = {"id": 8101, "first_name": "Tổ trưởng Minh"}


async def _group(loa: Loa, title: str) -> dict[str, object]:
    chat_id = await loa.client.add_bot_to_group(TOKEN, title, LEADER)
    return {"id": chat_id, "type": "group", "title": title}


async def _texts(loa: Loa, chat_id: int) -> list[str]:
    return [m["plain_text"] for m in await loa.client.messages(TOKEN, chat_id)]


async def test_webhook_mode_takes_each_update_once_and_only_with_the_secret(
    database_url: str,
) -> None:
    async with open_loa(database_url, mode="webhook") as loa:
        info = await loa.bot_api("getWebhookInfo")
        assert info["url"] == WEBHOOK_URL == f"{PUBLIC_URL}/telegram/webhook/1"
        assert {"message", "callback_query", "my_chat_member"} <= set(info["allowed_updates"])
        health = await loa.wait_health(lambda h: h["bot"]["receiving"])
        assert health["status"] == "ok" and health["bot"]["mode"] == "webhook"

        chat = await _group(loa, "Nhóm Khu phố 1")
        chat_id = int(str(chat["id"]))
        update = loa.group_message(chat, LEADER, f"/dangky@{USERNAME} {loa.codes['BT-KP1']}")
        missing = await loa.post_update(update, secret=None)
        wrong = await loa.post_update(update, secret=SECRET.swapcase())
        assert (missing.status_code, wrong.status_code) == (401, 403)
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert await loa.channel(chat_id) is None  # nothing was handled

        first = await loa.post_update(update)
        assert first.json() == {"ok": True, "duplicate": False}
        await loa.player.wait_text(chat_id, "✅")
        again = await loa.post_update(update)  # Telegram redelivers the same update
        assert again.json() == {"ok": True, "duplicate": True}
        # A later update, answered: whatever came before it has been handled too.
        await loa.post_update(loa.group_message(chat, LEADER, f"/dangky@{USERNAME}"))
        await loa.player.wait_text(chat_id, "Vui lòng gửi kèm mã")
        texts = await _texts(loa, chat_id)
        assert sum("✅" in t for t in texts) == 1
        assert not [t for t in texts if "Mã này" in t]  # the code was not tried twice
        channel = await loa.channel(chat_id)
        assert channel is not None and channel.active

        await loa.runtime.stop()
        assert (await loa.bot_api("getWebhookInfo"))["url"] == ""  # deleted at stop


async def test_health_says_when_the_webhook_is_no_longer_ours(database_url: str) -> None:
    async with open_loa(database_url, mode="webhook") as loa:
        await loa.wait_health(lambda h: h["bot"]["receiving"])
        await loa.bot_api("setWebhook", url="https://other-tool.example/hook")
        health = await loa.wait_health(lambda h: not h["bot"]["receiving"])
        assert health["status"] == "degraded"
        assert (
            "not ours" in health["bot"]["error"] and "other-tool.example" in health["bot"]["error"]
        )


async def test_polling_deletes_a_leftover_webhook_and_says_so(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def leave_a_webhook(sandbox_url: str) -> None:
        await bot_api(sandbox_url, "setWebhook", url="https://old-tool.example/hook/s3cr3t")

    caplog.set_level(logging.INFO, logger="loa.runtime")
    async with open_loa(database_url, before_start=leave_a_webhook) as loa:
        assert (await loa.bot_api("getWebhookInfo"))["url"] == ""
        logged = [r.getMessage() for r in caplog.records if r.name == "loa.runtime"]
        assert "a webhook was set (url https://old-tool.example/…); deleted it to poll" in logged
        assert not [m for m in logged if "s3cr3t" in m]  # the URL's path may hold a secret
        # Polling works: a group registers.
        chat_id = await loa.client.add_bot_to_group(TOKEN, "Nhóm Khu phố 2", LEADER)
        await loa.client.group_message(
            TOKEN, chat_id, LEADER, f"/dangky@{USERNAME} {loa.codes['BT-KP2']}"
        )
        await loa.player.wait_text(chat_id, "✅")
        health = await loa.health()
        assert health["status"] == "ok"
        assert health["bot"]["mode"] == "polling" and health["bot"]["receiving"] is True
        assert health["bot"]["last_update_age_seconds"] is not None


async def test_health_is_degraded_while_getupdates_fails(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        await loa.wait_health(lambda h: h["bot"]["receiving"])
        await loa.client.add_fault("5xx", token=TOKEN, method="getUpdates", times=0)
        health = await loa.wait_health(lambda h: not h["bot"]["receiving"])
        assert health["status"] == "degraded"
        assert "getUpdates failed" in health["bot"]["error"]
        await loa.client.clear_faults()
        health = await loa.wait_health(lambda h: h["bot"]["receiving"])
        assert health["status"] == "ok" and health["bot"]["error"] is None


async def test_health_is_degraded_while_another_tool_holds_a_webhook(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        await loa.wait_health(lambda h: h["bot"]["receiving"])
        # Telegram refuses getUpdates with 409 for as long as a webhook is set.
        await loa.bot_api("setWebhook", url="https://other-tool.example/hook")
        health = await loa.wait_health(lambda h: not h["bot"]["receiving"])
        assert health["status"] == "degraded" and "409" in health["bot"]["error"]
        await loa.bot_api("deleteWebhook")
        await loa.wait_health(lambda h: h["bot"]["receiving"])


async def test_scaled_out_webhook_mode_gets_updates_from_telegram(database_url: str) -> None:
    """`loa api` takes the updates Telegram posts; `loa bot` sets and deletes the webhook."""
    sandbox = SandboxServer()
    await sandbox.start()
    api = Runtime(
        loa_settings(database_url, sandbox.url, mode="webhook"),
        Roles(bot=False, scheduler=False, worker=False),
        **QUICK,
    )
    bot: Runtime | None = None
    client = SandboxClient(sandbox.url)
    try:
        await api.start()
        codes = await seed(api)
        settings = loa_settings(database_url, sandbox.url, mode="webhook", webhook_url=api.api_url)
        bot = Runtime(settings, Roles(api=False), **QUICK)
        await bot.start(migrate=False)
        info = await bot_api(sandbox.url, "getWebhookInfo")
        assert info["url"] == api.api_url + "/telegram/webhook/1"
        # The sandbox posts each update with the secret token, as Telegram does.
        player = Player(client, TOKEN)
        chat_id = await client.add_bot_to_group(TOKEN, "Nhóm Khu phố 1", LEADER)
        await player.wait_text(chat_id, f"/dangky@{USERNAME} MÃ")
        await client.group_message(TOKEN, chat_id, LEADER, f"/dangky@{USERNAME} {codes['BT-KP1']}")
        await player.wait_text(chat_id, "✅")
        assert (await bot_api(sandbox.url, "getWebhookInfo"))["pending_update_count"] == 0
        await bot.stop()
        assert (await bot_api(sandbox.url, "getWebhookInfo"))["url"] == ""
    finally:
        if bot is not None:
            await bot.stop()
        await api.stop()
        await client.aclose()
        await sandbox.stop()
