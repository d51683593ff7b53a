"""Telegram's flood limits: on by default, on sends and edits, private chats included."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from sandbox.telegram.client import SandboxClient
from sandbox.telegram.errors import ApiError
from sandbox.telegram.limits import RateLimits
from sandbox.telegram.server import SandboxServer
from tests.sandbox.conftest import LAN, MINH, TOKEN, FakeClock, keyboard, started


async def test_limits_are_telegrams_by_default(client: SandboxClient) -> None:
    limits = await client.limits()
    assert limits["enabled"] is True and limits["telegram"] is True
    assert (limits["per_bot_per_second"], limits["per_group_per_minute"]) == (30, 20)
    assert (limits["per_chat_per_second"], limits["chat_burst"]) == (1.0, 3)
    assert SandboxServer().world.limits.is_telegram()


async def test_private_chat_burst_then_one_per_second(
    client: SandboxClient, bot: Bot, clock: FakeClock
) -> None:
    await started(client, bot)
    await started(client, bot, MINH)
    for i in range(3):
        await bot.send_message(LAN["id"], f"burst {i}")
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(LAN["id"], "one too many")
    assert exc.value.retry_after == 1
    assert await bot.send_message(MINH["id"], "another chat has its own budget")
    clock.advance(1.0)
    assert await bot.send_message(LAN["id"], "a second later")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(LAN["id"], "but not two")
    assert await client.rejected_429(TOKEN, LAN["id"]) == 2
    assert await client.rejected_429(TOKEN, MINH["id"]) == 0


async def test_the_429_is_telegrams(
    client: SandboxClient, bot: Bot, sandbox: SandboxServer
) -> None:
    await started(client, bot)
    for i in range(3):
        await bot.send_message(LAN["id"], f"burst {i}")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{sandbox.url}/bot{TOKEN}/sendMessage", data={"chat_id": LAN["id"], "text": "x"}
        ) as resp:
            assert resp.status == 429
            assert await resp.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }


async def test_edits_share_the_chat_budget(
    client: SandboxClient, bot: Bot, clock: FakeClock
) -> None:
    await started(client, bot)
    sent = await bot.send_message(LAN["id"], "v0", reply_markup=keyboard("a"))
    await bot.edit_message_text("v1", chat_id=LAN["id"], message_id=sent.message_id)
    await bot.edit_message_reply_markup(
        chat_id=LAN["id"], message_id=sent.message_id, reply_markup=keyboard("b")
    )
    with pytest.raises(TelegramRetryAfter):
        await bot.edit_message_text("v2", chat_id=LAN["id"], message_id=sent.message_id)
    with pytest.raises(TelegramRetryAfter):
        await bot.edit_message_reply_markup(chat_id=LAN["id"], message_id=sent.message_id)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(LAN["id"], "a send too")
    assert await bot.delete_message(LAN["id"], sent.message_id)  # deleting is not limited
    clock.advance(1.0)
    other = await bot.send_message(LAN["id"], "after a second")
    assert other.text == "after a second"
    assert await client.rejected_429(TOKEN, LAN["id"]) == 3


async def test_group_twenty_per_minute(client: SandboxClient, bot: Bot, clock: FakeClock) -> None:
    group = await client.add_bot_to_group(TOKEN, "Tổ 5", LAN)
    for i in range(20):
        await bot.send_message(group, f"g{i}")
        clock.advance(1.0)  # paced at the per-chat rate
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(group, "g20")
    assert exc.value.retry_after == 40  # the first send leaves the window at 60 s
    clock.advance(39.5)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(group, "still early")
    clock.advance(0.5)
    assert await bot.send_message(group, "g20")
    assert await client.rejected_429(TOKEN, group) == 2


async def test_bot_thirty_per_second_across_chats(
    client: SandboxClient, bot: Bot, clock: FakeClock
) -> None:
    groups = [await client.add_bot_to_group(TOKEN, f"Tổ {i}", LAN) for i in range(31)]
    for group in groups[:30]:
        await bot.send_message(group, "notice")
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(groups[30], "notice")
    assert exc.value.retry_after == 1
    clock.advance(1.0)
    assert await bot.send_message(groups[30], "notice")
    stats = await client.stats(TOKEN)
    assert stats["rejected_429"] == 1 and stats["rejected_429_per_chat"] == {str(groups[30]): 1}


async def test_refused_requests_consume_nothing(
    client: SandboxClient, bot: Bot, clock: FakeClock
) -> None:
    await started(client, bot)
    for _ in range(5):
        with pytest.raises(Exception, match="message text is empty"):
            await bot.send_message(LAN["id"], " ")
    for i in range(3):
        await bot.send_message(LAN["id"], f"burst {i}")
    for _ in range(5):  # hammering while limited does not push the next slot further out
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(LAN["id"], "again")
    clock.advance(1.0)
    assert await bot.send_message(LAN["id"], "next slot")


async def test_looser_limits_are_explicit(clock: FakeClock) -> None:
    why = "measures the engine's own ceiling"
    async with SandboxServer(limits=RateLimits(enabled=False, why=why), clock=clock) as sb:
        async with SandboxClient(sb.url) as client:
            assert (await client.limits())["why"] == why
            assert (await client.limits())["telegram"] is False
            await client.reset()  # a reset keeps the caller's settings
            assert (await client.limits())["enabled"] is False
            # and the control API can put Telegram's back
            assert (await client.set_limits())["telegram"] is True


def test_rate_limit_windows_on_a_synthetic_clock() -> None:
    limits = RateLimits()
    # 30 per bot within any second (less the 20 ms tolerance), spread over many chats
    for i in range(30):
        limits.check("1:a", 100 + i, False, 10.0 + i * 0.01)
    with pytest.raises(ApiError) as exc:
        limits.check("1:a", 999, False, 10.5)
    assert exc.value.code == 429 and exc.value.parameters == {"retry_after": 1}
    limits.check("1:b", 999, False, 10.5)  # another bot has its own budget
    limits.check("1:a", 999, False, 10.99)  # the first send left the window at 10.98
    # a client pacing at exactly 30/s never trips over jitter
    limits.configure({"chat_burst": 1000, "per_chat_per_second": 1000})
    for i in range(300):
        limits.check("1:a", 1, False, 100.0 + i / 30 + (0.004 if i % 2 else -0.004))

    # per chat: a burst of 3, then one per second
    limits.configure({})
    for t in (0.0, 0.01, 0.02):
        limits.check("1:a", 7, False, t)
    with pytest.raises(ApiError):
        limits.check("1:a", 7, False, 0.5)
    limits.check("1:a", 7, False, 1.05)
    with pytest.raises(ApiError):
        limits.check("1:a", 7, False, 1.5)

    # per group: 20 within any minute
    limits.configure({"chat_burst": 1000, "per_chat_per_second": 1000})
    for i in range(20):
        limits.check("1:a", -5, True, i * 2.0)
    with pytest.raises(ApiError) as exc:
        limits.check("1:a", -5, True, 50.0)
    assert exc.value.parameters == {"retry_after": 10}
    limits.check("1:a", -5, True, 60.0)
    limits.check("1:a", 5, False, 50.0)  # private chats have no per-minute cap
