"""Button presses: real and forged, and answerCallbackQuery once, in time."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from sandbox.telegram.client import SandboxClient, SandboxError
from tests.sandbox.conftest import LAN, MINH, OTHER, TOKEN, FakeClock, MakeBot, keyboard, started

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


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
    cq_default = await client.press(TOKEN, LAN["id"], sent.message_id, LAN)
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
    # a pending answer is waited for
    waiting = asyncio.create_task(client.callback_answer(cq_default, wait=30))
    await asyncio.sleep(0.1)
    await bot.answer_callback_query(cq_default)
    assert (await waiting) == {"text": None, "show_alert": False, "url": None, "cache_time": None}

    with pytest.raises(SandboxError, match="no button"):
        await client.press(TOKEN, LAN["id"], sent.message_id, LAN, "nope")
    with pytest.raises(SandboxError, match="no message"):
        await client.press(TOKEN, LAN["id"], 999, LAN)
    with pytest.raises(SandboxError, match="cannot press"):  # only Lan sees Lan's chat
        await client.press(TOKEN, LAN["id"], sent.message_id, MINH)


async def test_a_query_is_answered_once(client: SandboxClient, bot: Bot) -> None:
    await started(client, bot)
    sent = await bot.send_message(LAN["id"], "x", reply_markup=keyboard("a"))
    cq = await client.press(TOKEN, LAN["id"], sent.message_id, LAN)
    assert await bot.answer_callback_query(cq, text="first")
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.answer_callback_query(cq, text="second", show_alert=True)
    assert exc.value.message == TOO_OLD
    assert (await client.callback_answer(cq) or {})["text"] == "first"  # the first one stands
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("4242", text="unknown id")


async def test_a_query_expires(client: SandboxClient, bot: Bot, clock: FakeClock) -> None:
    await started(client, bot)
    sent = await bot.send_message(LAN["id"], "x", reply_markup=keyboard("a"))
    late = await client.press(TOKEN, LAN["id"], sent.message_id, LAN)
    in_time = await client.press(TOKEN, LAN["id"], sent.message_id, LAN)
    clock.advance(15.0)
    assert await bot.answer_callback_query(in_time)  # 15 s is still in time
    clock.advance(0.5)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.answer_callback_query(late)
    assert exc.value.message == TOO_OLD
    assert await client.callback_answer(late, wait=0) is None

    await client.set_callback_timeout(2)  # configurable
    quick = await client.press(TOKEN, LAN["id"], sent.message_id, LAN)
    clock.advance(2.5)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(quick)


async def test_another_bot_cannot_answer(client: SandboxClient, make_bot: MakeBot) -> None:
    bot, other = make_bot(), make_bot(OTHER)
    await started(client, bot)
    sent = await bot.send_message(LAN["id"], "x", reply_markup=keyboard("a"))
    cq = await client.press(TOKEN, LAN["id"], sent.message_id, LAN)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await other.answer_callback_query(cq)
    assert await bot.answer_callback_query(cq)


async def test_a_forged_press(client: SandboxClient, bot: Bot) -> None:
    group = await client.add_bot_to_group(TOKEN, "Tổ 1", LAN)
    offset = (await bot.get_updates(timeout=0))[-1].update_id + 1
    sent = await bot.send_message(group, "Thông báo", reply_markup=keyboard("ack:17"))
    with pytest.raises(SandboxError, match="no button"):
        await client.press(TOKEN, group, sent.message_id, MINH, "ack:18")
    cq = await client.press(TOKEN, group, sent.message_id, MINH, "ack:18", forge=True)
    (update,) = await bot.get_updates(offset=offset, timeout=2)
    query = update.callback_query
    assert query is not None and query.id == cq and query.data == "ack:18"
    assert query.message is not None and query.message.chat.id == group
    assert query.message.message_id == sent.message_id
    with pytest.raises(SandboxError, match="non-empty string"):
        await client.press(TOKEN, group, sent.message_id, MINH, forge=True)
