"""The Bot API surface and the control API basics, driven by the real aiogram Bot."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandStart
from aiogram.types import BotCommand, CallbackQuery, Message

from sandbox.telegram.client import SandboxClient, SandboxError
from sandbox.telegram.server import SandboxServer
from tests.sandbox.conftest import (
    LAN,
    MINH,
    OTHER,
    TOKEN,
    FakeClock,
    MakeBot,
    keyboard,
    started,
)


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot
    assert me.username == "loa123456_bot" and me.first_name == "Loa"
    assert me.can_read_all_group_messages is False  # privacy mode is on by default


async def test_bad_token_and_unknown_method(sandbox: SandboxServer, make_bot: MakeBot) -> None:
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await make_bot("123:not.a.valid*token").get_me()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.url}/bot{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{sandbox.url}/bot{TOKEN}/getMe") as resp:  # GET works too
            assert (await resp.json())["result"]["id"] == 123456
        async with http.post(
            f"{sandbox.url}/_sandbox/private_message",
            json={"token": TOKEN, "user": LAN, "text": "hi"},
        ) as resp:
            assert resp.status == 200
        async with http.post(  # a JSON body is accepted like a form one
            f"{sandbox.url}/bot{TOKEN}/sendMessage",
            json={
                "chat_id": LAN["id"],
                "text": "json body",
                "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "x"}]]},
            },
        ) as resp:
            body = await resp.json()
    assert body["ok"] and body["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "x"


async def test_private_command_wakes_long_poll(client: SandboxClient, bot: Bot) -> None:
    # The poll would last 50 s; what it returns shows that the message woke it.
    poll = asyncio.create_task(bot.get_updates(timeout=50))
    await asyncio.sleep(0.2)
    assert not poll.done()
    sent = await client.private_message(TOKEN, LAN, "/start abc")
    updates = await asyncio.wait_for(poll, 60)
    assert [u.update_id for u in updates] == [sent["update_id"]]
    msg = updates[0].message
    assert msg is not None and msg.text == "/start abc" and msg.chat.type == "private"
    assert msg.chat.id == LAN["id"] and msg.from_user and msg.from_user.username == "lan"
    assert msg.entities and msg.entities[0].type == "bot_command"
    assert (msg.entities[0].offset, msg.entities[0].length) == (0, 6)
    # confirmed by the next offset; a short poll then finds nothing
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == []


async def test_dispatcher_feed_update_answers(client: SandboxClient, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def on_start(message: Message) -> None:
        name = message.from_user.first_name if message.from_user else "?"
        await message.answer(f"Xin chào, <b>{name}</b>!", parse_mode="HTML")

    dp = Dispatcher()
    dp.include_router(router)
    await client.private_message(TOKEN, LAN, "/start")
    (update,) = await bot.get_updates(timeout=2)
    await dp.feed_update(bot, update)
    (msg,) = await client.messages(TOKEN, LAN["id"])
    assert msg["text"] == "Xin chào, <b>Lan</b>!" and msg["plain_text"] == "Xin chào, Lan!"
    assert msg["parse_mode"] == "HTML"


async def test_dispatcher_polling_round_trip(client: SandboxClient, bot: Bot) -> None:
    router = Router()

    @router.message(Command("ping"))
    async def on_ping(message: Message) -> None:
        await message.answer("pong", reply_markup=keyboard("again"))

    @router.callback_query(F.data == "again")
    async def on_again(query: CallbackQuery) -> None:
        await query.answer("pong again", show_alert=True)

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    try:
        await client.private_message(TOKEN, LAN, "/ping")
        (msg,) = await client.messages(TOKEN, LAN["id"], wait_count=1, wait=30)
        assert msg["text"] == "pong"
        cq = await client.press(TOKEN, LAN["id"], msg["message_id"], LAN)
        answer = await client.callback_answer(cq, wait=30)
        assert answer is not None
        assert answer["text"] == "pong again" and answer["show_alert"] is True
    finally:
        await dp.stop_polling()
        await polling


async def test_private_chat_rules(client: SandboxClient, bot: Bot) -> None:
    await client.add_bot_to_group(TOKEN, "G", MINH)  # the sandbox knows Minh now
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(MINH["id"], "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "nobody")
    await client.private_message(TOKEN, MINH, "hello")
    assert await bot.send_message(MINH["id"], "hi")


async def test_two_tokens_are_independent(client: SandboxClient, make_bot: MakeBot) -> None:
    a, b = make_bot(), make_bot(OTHER)
    assert (await a.get_me()).id != (await b.get_me()).id
    await client.private_message(TOKEN, LAN, "/start")
    assert await b.get_updates(timeout=0) == []
    assert len(await a.get_updates(timeout=0)) == 1
    assert (await a.send_message(LAN["id"], "from a")).message_id == 2
    with pytest.raises(TelegramForbiddenError):
        await b.send_message(LAN["id"], "from b")
    await client.private_message(OTHER, LAN, "/start")
    assert (await b.send_message(LAN["id"], "from b")).message_id == 2
    assert [m["text"] for m in await client.messages(TOKEN, LAN["id"])] == ["from a"]
    assert [m["text"] for m in await client.messages(OTHER, LAN["id"])] == ["from b"]
    assert (await client.stats(TOKEN))["sent"] == 1
    assert (await client.stats())["sent"] == 2


async def test_stats_count_duplicates(client: SandboxClient, bot: Bot, clock: FakeClock) -> None:
    await started(client, bot)
    group = await client.add_bot_to_group(TOKEN, "G", LAN)
    await bot.send_message(group, "notice", reply_markup=keyboard("ack:1"))
    await bot.send_message(group, "notice", reply_markup=keyboard("ack:1"))  # duplicate
    await bot.send_message(group, "notice", reply_markup=keyboard("ack:2"))
    clock.advance(1)  # the group's burst of 3 is spent
    await bot.send_message(group, "notice")
    await bot.send_message(LAN["id"], "notice", reply_markup=keyboard("ack:1"))  # other chat
    stats = await client.stats(TOKEN)
    assert stats["sent"] == 5 and stats["duplicates"] == 1
    assert stats["per_chat"] == {str(group): 4, str(LAN["id"]): 1}
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(group, "")
    assert (await client.stats())["errors_by_code"] == {"400": 1}


async def test_commands_and_misc(client: SandboxClient, bot: Bot) -> None:
    commands = [
        BotCommand(command="start", description="Bắt đầu"),
        BotCommand(command="help", description="Trợ giúp"),
    ]
    assert await bot.set_my_commands(commands)
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(language_code="en") == []
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="bad command", description="x")])
    assert await bot.log_out() and await bot.close()
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.get_file("abc")  # getFile exists now (sandbox.telegram.media)


async def test_messages_wait_count_and_reset(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)

    async def later() -> None:
        await asyncio.sleep(0.2)
        await bot.send_message(LAN["id"], "one")
        await bot.send_message(LAN["id"], "two")

    task = asyncio.create_task(later())
    msgs = await client.messages(TOKEN, LAN["id"], wait_count=2, wait=30)
    await task
    assert [m["text"] for m in msgs] == ["one", "two"]
    assert len(await client.messages(TOKEN, LAN["id"], wait_count=5, wait=0.2)) == 2

    await client.reset()
    assert await client.stats() == {
        "sent": 0,
        "edited": 0,
        "rejected_429": 0,
        "errors_by_code": {},
        "per_chat": {},
        "rejected_429_per_chat": {},
        "duplicates": 0,
    }
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(LAN["id"], "forgotten")
    assert await client.health()


async def test_control_errors_are_readable(sandbox: SandboxServer, client: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="token") as exc:
        await client.private_message("nope", LAN, "x")
    assert exc.value.status == 400
    with pytest.raises(SandboxError, match="positive integer id"):
        await client.private_message(TOKEN, {"first_name": "no id"}, "x")
    with pytest.raises(SandboxError, match="kind must be one of"):
        await client.add_fault("boom")  # type: ignore[arg-type]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.url}/_sandbox/groups", data=b"{not json") as resp:
            assert resp.status == 400 and "error" in await resp.json()


async def test_stop_ends_pending_long_poll() -> None:
    sb = SandboxServer()
    await sb.start()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.url)))
    try:
        # A 50 s poll that stop() must end: if it did not, wait_for would give up first.
        poll = asyncio.create_task(bot.get_updates(timeout=50))
        await asyncio.sleep(0.2)
        await sb.stop()
        assert await asyncio.wait_for(poll, 40) == []
    finally:
        await bot.session.close()


async def test_module_runs_standalone() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.telegram",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        async with SandboxClient(url) as c:
            assert await c.health()
            assert (await c.limits())["telegram"] is True  # strict out of the box
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 60) == 0
