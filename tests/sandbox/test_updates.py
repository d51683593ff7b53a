"""getUpdates against webhooks and against a second poller: Telegram's two 409s."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError

from sandbox.telegram.client import SandboxClient
from tests.sandbox.conftest import LAN, TOKEN, MakeBot

WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


async def test_webhook_info_and_commands(client: SandboxClient, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.org/hook" and info.pending_update_count == 0
    await client.private_message(TOKEN, LAN, "queued")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates(timeout=0) == []


async def test_get_updates_while_a_webhook_is_set(client: SandboxClient, bot: Bot) -> None:
    await client.private_message(TOKEN, LAN, "/start")
    assert await bot.set_webhook("https://example.org/hook")
    for _ in range(3):  # every time, not once
        with pytest.raises(TelegramConflictError) as exc:
            await bot.get_updates(timeout=0)
        assert exc.value.message == WEBHOOK_ACTIVE
    assert await bot.delete_webhook()
    assert [u.message.text for u in await bot.get_updates(timeout=0) if u.message] == ["/start"]


async def test_set_webhook_ends_a_waiting_poll(client: SandboxClient, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=50))
    await asyncio.sleep(0.2)
    assert await bot.set_webhook("https://example.org/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await asyncio.wait_for(poll, 40)


async def test_a_second_poller_terminates_the_first(
    client: SandboxClient, make_bot: MakeBot
) -> None:
    first, second = make_bot(), make_bot()  # two instances of one bot
    waiting = asyncio.create_task(first.get_updates(timeout=50))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    newer = asyncio.create_task(second.get_updates(timeout=50))
    with pytest.raises(TelegramConflictError) as exc:
        await asyncio.wait_for(waiting, 40)
    assert exc.value.message == TERMINATED
    # the newer poll goes on and gets the next update
    sent = await client.private_message(TOKEN, LAN, "hello")
    updates = await asyncio.wait_for(newer, 40)
    assert [u.update_id for u in updates] == [sent["update_id"]]
    # a short poll terminates a waiting one too
    again = asyncio.create_task(first.get_updates(offset=sent["update_id"] + 1, timeout=50))
    await asyncio.sleep(0.2)
    assert await second.get_updates(offset=sent["update_id"] + 1, timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(again, 40)
