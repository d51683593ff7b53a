"""The Telegram Bot API sandbox, driven by the real aiogram Bot and by SandboxClient."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from sandbox.telegram.client import SandboxClient, SandboxError
from sandbox.telegram.errors import ApiError
from sandbox.telegram.faults import RateLimits
from sandbox.telegram.server import SandboxServer

TOKEN = "123456:ABCdef"
OTHER = "654321:XYZ-other_token"
LAN = {"id": 5001, "first_name": "Lan", "username": "lan", "language_code": "vi"}
MINH = {"id": 5002, "first_name": "Minh"}

MakeBot = Callable[..., Bot]


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as sb:
        yield sb


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url) as c:
        yield c


@pytest.fixture
async def make_bot(sandbox: SandboxServer) -> AsyncIterator[MakeBot]:
    bots: list[Bot] = []

    def make(token: str = TOKEN, timeout: float = 60.0) -> Bot:
        session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url), timeout=timeout)
        bots.append(Bot(token, session=session))
        return bots[-1]

    yield make
    for b in bots:
        await b.session.close()


@pytest.fixture
def bot(make_bot: MakeBot) -> Bot:
    return make_bot()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=f"Button {d}", callback_data=d)] for d in data]
    )


async def started(client: SandboxClient, bot: Bot, user: dict[str, Any] = LAN) -> int:
    """The user writes /start so the bot may write back; returns the next update offset."""
    await client.private_message(bot.token, user, "/start")
    updates = await bot.get_updates(timeout=1)
    return updates[-1].update_id + 1


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot
    assert me.username == "loa123456_bot" and me.first_name == "Loa"


async def test_bad_token_and_unknown_method(sandbox: SandboxServer, make_bot: MakeBot) -> None:
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await make_bot("123:not.a.valid*token").get_me()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.url}/bot{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{sandbox.url}/bot{TOKEN}/getMe") as resp:  # GET works too
            assert (await resp.json())["result"]["id"] == 123456
        await client_json_send(http, sandbox.url)


async def client_json_send(http: aiohttp.ClientSession, url: str) -> None:
    """A JSON body is accepted like a form one."""
    async with http.post(
        f"{url}/_sandbox/private_message", json={"token": TOKEN, "user": LAN, "text": "hi"}
    ) as resp:
        assert resp.status == 200
    async with http.post(
        f"{url}/bot{TOKEN}/sendMessage",
        json={
            "chat_id": LAN["id"],
            "text": "json body",
            "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "x"}]]},
        },
    ) as resp:
        body = await resp.json()
    assert body["ok"] and body["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "x"


async def test_private_command_wakes_long_poll(client: SandboxClient, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started_at = time.monotonic()
    sent = await client.private_message(TOKEN, LAN, "/start abc")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started_at < 2
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
        (msg,) = await client.messages(TOKEN, LAN["id"], wait_count=1, wait=5)
        assert msg["text"] == "pong"
        cq = await client.press(TOKEN, LAN["id"], msg["message_id"], LAN)
        answer = await client.callback_answer(cq, wait=5)
        assert answer is not None
        assert answer["text"] == "pong again" and answer["show_alert"] is True
    finally:
        await dp.stop_polling()
        await polling


async def test_keyboard_press_reaches_bot(client: SandboxClient, bot: Bot) -> None:
    offset = await started(client, bot)
    sent = await bot.send_message(LAN["id"], "Thông báo", reply_markup=keyboard("ack:1", "ack:2"))
    assert sent.reply_markup is not None
    cq_id = await client.press(TOKEN, LAN["id"], sent.message_id, LAN, "ack:2")
    (update,) = await bot.get_updates(offset=offset, timeout=2)
    query = update.callback_query
    assert query is not None and query.id == cq_id and query.data == "ack:2"
    assert query.from_user.id == LAN["id"]
    assert query.message is not None and query.message.message_id == sent.message_id
    # the default button is the first one
    cq_default = await client.press(TOKEN, LAN["id"], sent.message_id, MINH)
    (update,) = await bot.get_updates(offset=update.update_id + 1, timeout=2)
    assert update.callback_query and update.callback_query.data == "ack:1"

    assert await client.callback_answer(cq_id, wait=0) is None
    assert await bot.answer_callback_query(cq_id, text="Đã nhận")
    assert await client.callback_answer(cq_id) == {
        "text": "Đã nhận",
        "show_alert": False,
        "url": None,
        "cache_time": None,
    }
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(cq_id, text="twice")
    # a pending answer is waited for
    waiting = asyncio.create_task(client.callback_answer(cq_default, wait=5))
    await asyncio.sleep(0.1)
    await bot.answer_callback_query(cq_default)
    assert (await waiting) == {"text": None, "show_alert": False, "url": None, "cache_time": None}

    with pytest.raises(SandboxError, match="no button"):
        await client.press(TOKEN, LAN["id"], sent.message_id, LAN, "nope")
    with pytest.raises(SandboxError, match="no message"):
        await client.press(TOKEN, LAN["id"], 999, LAN)


async def test_edit_message_text(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    sent = await bot.send_message(LAN["id"], "v1", reply_markup=keyboard("a"))
    edited = await bot.edit_message_text(
        "v2", chat_id=LAN["id"], message_id=sent.message_id, reply_markup=keyboard("a")
    )
    assert isinstance(edited, Message) and edited.text == "v2" and edited.edit_date
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "v2", chat_id=LAN["id"], message_id=sent.message_id, reply_markup=keyboard("a")
        )
    # same text but without the keyboard is a change: the keyboard goes away
    await bot.edit_message_text("v2", chat_id=LAN["id"], message_id=sent.message_id)
    await bot.edit_message_reply_markup(
        chat_id=LAN["id"], message_id=sent.message_id, reply_markup=keyboard("b")
    )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=LAN["id"], message_id=12345)
    (msg,) = await client.messages(TOKEN, LAN["id"])
    assert msg["text"] == "v2"
    assert msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"
    assert [e["text"] for e in msg["edits"]] == ["v1", "v2", "v2"]
    assert msg["edits"][0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    assert (await client.stats(TOKEN))["edited"] == 3
    assert await bot.delete_message(LAN["id"], sent.message_id)
    assert await client.messages(TOKEN, LAN["id"]) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(LAN["id"], sent.message_id)


async def test_text_validation(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(LAN["id"], "   ")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(LAN["id"], "x" * 4097)
    assert (await bot.send_message(LAN["id"], "ư" * 4096)).text == "ư" * 4096
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(LAN["id"], "x", reply_markup=keyboard("d" * 65))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(LAN["id"], "x", reply_markup=keyboard("đ" * 33))  # 66 bytes
    assert await bot.send_message(LAN["id"], "x", reply_markup=keyboard("d" * 64))


@pytest.mark.parametrize(
    "text",
    [
        "<b>unclosed",
        "<foo>unknown</foo>",
        "<b><i>crossed</b></i>",
        "stray </b>",
        "fish & chips",
        "&bogus; entity",
        "a < b",
        "<span>plain span</span>",
    ],
)
async def test_html_cant_parse_entities(client: SandboxClient, bot: Bot, text: str) -> None:
    await started(client, bot)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(LAN["id"], text, parse_mode="HTML")


async def test_html_entities_reported(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    msg = await bot.send_message(
        LAN["id"],
        '<b>Cắt điện</b> 😀 <a href="https://evn.vn?a=1&amp;b=2">EVN</a> &lt;3 &#9889;'
        '<pre><code class="language-text">x</code></pre><tg-spoiler>s</tg-spoiler>'
        "<blockquote expandable>q</blockquote>",
        parse_mode="HTML",
    )
    assert msg.text == "Cắt điện 😀 EVN <3 ⚡xsq"
    kinds = [(e.type, e.offset, e.length) for e in msg.entities or []]
    # 😀 is two UTF-16 code units, so EVN starts at offset 12
    assert kinds == [
        ("bold", 0, 8),
        ("text_link", 12, 3),
        ("pre", 20, 1),
        ("spoiler", 21, 1),
        ("expandable_blockquote", 22, 1),
    ]
    assert msg.entities and msg.entities[1].url == "https://evn.vn?a=1&b=2"
    assert msg.entities[2].language == "text"


async def test_flood_limits(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    await started(client, bot, MINH)
    # per chat: a burst of 3, then a slow refill (0.2/s here so a busy machine cannot flake)
    await client.set_limits(True, per_chat_per_second=0.2)
    for i in range(3):
        await bot.send_message(LAN["id"], f"burst {i}")
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(LAN["id"], "one too many")
    assert 1 <= exc.value.retry_after <= 5
    assert await bot.send_message(MINH["id"], "another chat is fine")

    # per bot: N within any second
    await client.set_limits(True, per_bot_per_second=3, per_chat_per_second=100, chat_burst=100)
    for i in range(3):
        await bot.send_message(MINH["id"], f"bot {i}")
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(LAN["id"], "fourth")
    assert exc.value.retry_after == 1

    # per group: N within any minute
    group = await client.add_bot_to_group(TOKEN, "Tổ 5", LAN)
    await client.set_limits(True, per_group_per_minute=2, per_chat_per_second=100, chat_burst=100)
    await bot.send_message(group, "g1")
    await bot.send_message(group, "g2")
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(group, "g3")
    assert 55 <= exc.value.retry_after <= 60

    stats = await client.stats(TOKEN)
    assert stats["rejected_429"] == 3 and stats["errors_by_code"] == {"429": 3}
    await client.set_limits(False)
    assert await bot.send_message(group, "g3")


def test_rate_limit_windows_on_a_synthetic_clock() -> None:
    limits = RateLimits()
    limits.configure({"enabled": True})
    # 30 per bot within any second (less the 20 ms tolerance), spread over many chats
    for i in range(30):
        limits.check("1:a", 100 + i, False, 10.0 + i * 0.01)
    with pytest.raises(ApiError) as exc:
        limits.check("1:a", 999, False, 10.5)
    assert exc.value.code == 429 and exc.value.parameters == {"retry_after": 1}
    limits.check("1:b", 999, False, 10.5)  # another bot has its own budget
    limits.check("1:a", 999, False, 10.99)  # the first send left the window at 10.98
    # a client pacing at exactly 30/s never trips over jitter
    limits.configure({"enabled": True, "chat_burst": 1000, "per_chat_per_second": 1000})
    for i in range(300):
        limits.check("1:a", 1, False, 100.0 + i / 30 + (0.004 if i % 2 else -0.004))

    # per chat: a burst of 3, then one per second
    limits.configure({"enabled": True})
    for t in (0.0, 0.01, 0.02):
        limits.check("1:a", 7, False, t)
    with pytest.raises(ApiError):
        limits.check("1:a", 7, False, 0.5)
    limits.check("1:a", 7, False, 1.05)
    with pytest.raises(ApiError):
        limits.check("1:a", 7, False, 1.5)

    # per group: 20 within any minute
    limits.configure({"enabled": True, "chat_burst": 1000, "per_chat_per_second": 1000})
    for i in range(20):
        limits.check("1:a", -5, True, i * 2.0)
    with pytest.raises(ApiError) as exc:
        limits.check("1:a", -5, True, 50.0)
    assert exc.value.parameters == {"retry_after": 10}
    limits.check("1:a", -5, True, 60.0)
    limits.check("1:a", 5, False, 50.0)  # private chats have no per-minute cap


@pytest.mark.parametrize(
    ("fault", "error", "match"),
    [
        ({"kind": "429", "retry_after": 7}, TelegramRetryAfter, "retry after 7"),
        ({"kind": "403"}, TelegramForbiddenError, "bot was blocked by the user"),
        (
            {"kind": "403", "description": "Forbidden: user is deactivated"},
            TelegramForbiddenError,
            "deactivated",
        ),
        ({"kind": "400_not_found"}, TelegramBadRequest, "chat not found"),
        ({"kind": "5xx"}, TelegramServerError, "Bad Gateway"),
        ({"kind": "5xx", "status": 500}, TelegramServerError, "Internal Server Error"),
    ],
)
async def test_faults_map_to_aiogram_errors(
    client: SandboxClient, bot: Bot, fault: dict[str, Any], error: type[Exception], match: str
) -> None:
    await started(client, bot)
    await client.add_fault(token=TOKEN, chat_id=LAN["id"], **fault)
    with pytest.raises(error, match=match) as exc:
        await bot.send_message(LAN["id"], "hello")
    if isinstance(exc.value, TelegramRetryAfter):
        assert exc.value.retry_after == 7
    assert await bot.send_message(LAN["id"], "hello")  # times=1: consumed
    stats = await client.stats(TOKEN)
    assert stats["sent"] == 1 and sum(stats["errors_by_code"].values()) == 1


async def test_fault_filters_persistence_and_clear(
    client: SandboxClient, make_bot: MakeBot
) -> None:
    bot, other = make_bot(), make_bot(OTHER)
    await started(client, bot)
    await started(client, other)
    await client.add_fault("403", token=TOKEN, times=0)
    for _ in range(3):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(LAN["id"], "x")
    assert await other.send_message(LAN["id"], "other bot is unaffected")
    assert await client.clear_faults() == 1
    assert await bot.send_message(LAN["id"], "x")


async def test_migrate_fault(client: SandboxClient, bot: Bot) -> None:
    group = await client.add_bot_to_group(TOKEN, "Khu phố 1", LAN)
    await bot.send_message(group, "before")
    await client.add_fault("migrate", token=TOKEN)
    with pytest.raises(TelegramMigrateToChat) as exc:
        await bot.send_message(group, "during")
    new_id = exc.value.migrate_to_chat_id
    assert str(new_id).startswith("-100")
    with pytest.raises(TelegramMigrateToChat) as again:
        await bot.send_message(group, "still the old id")
    assert again.value.migrate_to_chat_id == new_id
    sent = await bot.send_message(new_id, "after")
    assert sent.chat.type == "supergroup" and sent.chat.id == new_id


async def test_delay_fault_times_out(client: SandboxClient, make_bot: MakeBot) -> None:
    bot = make_bot(timeout=0.3)
    await started(client, bot)
    await client.add_fault("delay", delay=0.8)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(LAN["id"], "slow")
    # Telegram did get it: the message lands once the delay is over
    msgs = await client.messages(TOKEN, LAN["id"], wait_count=1, wait=3)
    assert [m["text"] for m in msgs] == ["slow"]


async def test_groups_membership_and_migration(client: SandboxClient, bot: Bot) -> None:
    group = await client.add_bot_to_group(TOKEN, "Tổ dân phố 6", LAN)
    assert group < 0 and not str(group).startswith("-100")
    (update,) = await bot.get_updates(timeout=2)
    change = update.my_chat_member
    assert change is not None and change.chat.id == group and change.chat.title == "Tổ dân phố 6"
    assert change.from_user.id == LAN["id"]
    assert change.old_chat_member.status == "left" and change.new_chat_member.status == "member"
    assert (await bot.get_chat_member(group, bot.id)).status == "member"
    assert (await bot.get_chat(group)).title == "Tổ dân phố 6"

    sent = await client.group_message(TOKEN, group, MINH, "/register@loa123456_bot ABC")
    (update,) = await bot.get_updates(offset=update.update_id + 1, timeout=2)
    assert update.message and update.message.chat.type == "group"
    assert update.message.message_id == sent["message_id"]
    assert update.message.entities and update.message.entities[0].length == 23
    assert (await bot.get_chat_member(group, MINH["id"])).status == "member"
    assert (await bot.send_message(group, "ok")).message_id == sent["message_id"] + 1

    new_id = await client.migrate(TOKEN, group)
    old_msg, new_msg = await bot.get_updates(offset=update.update_id + 1, timeout=2)
    assert old_msg.message and old_msg.message.migrate_to_chat_id == new_id
    assert new_msg.message and new_msg.message.migrate_from_chat_id == group
    with pytest.raises(TelegramMigrateToChat) as exc:
        await bot.send_message(group, "old id")
    assert exc.value.migrate_to_chat_id == new_id
    assert await bot.send_message(new_id, "new id")

    await client.remove_bot(TOKEN, new_id, LAN)
    (update,) = await bot.get_updates(offset=new_msg.update_id + 1, timeout=2)
    assert update.my_chat_member and update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(new_id, "gone")

    left = await client.add_bot_to_group(TOKEN, "Another", LAN, type="supergroup")
    assert str(left).startswith("-100")
    await client.remove_bot(TOKEN, left, status="left")
    with pytest.raises(TelegramForbiddenError, match="not a member"):
        await bot.send_message(left, "gone")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-999, "nowhere")
    with pytest.raises(SandboxError, match="not in chat"):
        await client.group_message(TOKEN, left, MINH, "hello?")


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


async def test_stats_count_duplicates(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    group = await client.add_bot_to_group(TOKEN, "G", LAN)
    await bot.send_message(group, "notice", reply_markup=keyboard("ack:1"))
    await bot.send_message(group, "notice", reply_markup=keyboard("ack:1"))  # duplicate
    await bot.send_message(group, "notice", reply_markup=keyboard("ack:2"))
    await bot.send_message(group, "notice")
    await bot.send_message(LAN["id"], "notice", reply_markup=keyboard("ack:1"))  # other chat
    stats = await client.stats(TOKEN)
    assert stats["sent"] == 5 and stats["duplicates"] == 1
    assert stats["per_chat"] == {str(group): 4, str(LAN["id"]): 1}
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(group, "")
    assert (await client.stats())["errors_by_code"] == {"400": 1}


async def test_webhook_commands_and_misc(client: SandboxClient, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/hook")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.org/hook" and info.pending_update_count == 0
    await client.private_message(TOKEN, LAN, "queued")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates(timeout=0) == []

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
    with pytest.raises(TelegramNotFound):
        await bot.get_file("abc")


async def test_messages_wait_count_and_reset(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)

    async def later() -> None:
        await asyncio.sleep(0.2)
        await bot.send_message(LAN["id"], "one")
        await bot.send_message(LAN["id"], "two")

    task = asyncio.create_task(later())
    msgs = await client.messages(TOKEN, LAN["id"], wait_count=2, wait=5)
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
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.2)
        started_at = time.monotonic()
        await sb.stop()
        assert await asyncio.wait_for(poll, 5) == []
        assert time.monotonic() - started_at < 3
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
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        async with SandboxClient(url) as c:
            assert await c.health()
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
