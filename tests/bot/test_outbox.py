"""The outbox against the sandbox, with Telegram's per-chat flood limit on: a burst is
paced, a 429 is waited out (the sleep is injected), edits are coalesced and the last
state always lands, "message is not modified" is not an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.outbox import Edit, Outbox, Screen
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer

TOKEN = "720002:OutboxBot"
USER = {"id": 4321, "first_name": "Lan"}


class Sandbox:
    def __init__(self, client: SandboxClient, bot: Bot) -> None:
        self.client = client
        self.bot = bot
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:  # the outbox's clock: record, do not wait
        self.sleeps.append(seconds)

    async def messages(self) -> list[dict[str, object]]:
        return await self.client.messages(TOKEN, USER["id"])


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    server = SandboxServer()
    await server.start()
    client = SandboxClient(server.url)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
    try:
        assert (await client.limits())["telegram"]  # 1 message/s per chat, a burst of 3
        await client.private_message(TOKEN, USER, "/start")  # the chat exists
        yield Sandbox(client, bot)
    finally:
        await bot.session.close()
        await client.aclose()
        await server.stop()


async def test_a_burst_to_one_chat_is_paced_not_refused(sandbox: Sandbox) -> None:
    outbox = Outbox(sandbox.bot)
    for i in range(6):
        await outbox.send(USER["id"], Screen(f"screen {i}"))
    assert [m["text"] for m in await sandbox.messages()] == [f"screen {i}" for i in range(6)]
    assert outbox.retry_afters[USER["id"]] == 0
    assert await sandbox.client.rejected_429(TOKEN, USER["id"]) == 0


async def test_a_429_is_waited_out_then_sent(sandbox: Sandbox) -> None:
    await sandbox.client.add_fault("429", token=TOKEN, chat_id=USER["id"], retry_after=7)
    outbox = Outbox(sandbox.bot, sleep=sandbox.sleep)
    sent = await outbox.send(USER["id"], Screen("after the wait"))
    assert sandbox.sleeps == [7.0]
    assert outbox.retry_afters[USER["id"]] == 1
    assert [m["message_id"] for m in await sandbox.messages()] == [sent.message_id]


async def test_an_unchanged_edit_is_no_error(sandbox: Sandbox) -> None:
    outbox = Outbox(sandbox.bot)
    sent = await outbox.send(USER["id"], Screen("same"))
    await outbox.edit(USER["id"], sent.message_id, Screen("same"))  # known: no request
    await Outbox(sandbox.bot).edit(USER["id"], sent.message_id, Screen("same"))  # Telegram: 400
    (message,) = await sandbox.messages()
    assert message["edits"] == []


async def test_status_edits_are_coalesced_and_the_last_state_lands(sandbox: Sandbox) -> None:
    outbox = Outbox(sandbox.bot)
    sent = await outbox.send(USER["id"], Screen("0 of 40"))
    state = {"done": 0, "rendering": 0, "most": 0}

    async def render() -> Edit:
        state["rendering"] += 1
        state["most"] = max(state["most"], state["rendering"])
        await asyncio.sleep(0)
        state["rendering"] -= 1
        return Edit(USER["id"], sent.message_id, Screen(f"{state['done']} of 40"))

    for _ in range(40):  # forty acknowledgements, faster than one edit a second
        state["done"] += 1
        outbox.keep_fresh(("status", 1), render)
        await asyncio.sleep(0.01)
    await outbox.settled()
    (message,) = await sandbox.messages()
    assert message["text"] == "40 of 40"
    assert len(message["edits"]) < 40  # coalesced: far fewer edits than requests
    assert state["most"] == 1  # one render (and edit) in flight at a time
    assert outbox.retry_afters[USER["id"]] == 0
