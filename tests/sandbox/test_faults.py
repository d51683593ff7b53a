"""Injected faults: errors and delays the aiogram client sees exactly as Telegram's."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from sandbox.telegram.client import SandboxClient
from tests.sandbox.conftest import LAN, OTHER, TOKEN, MakeBot, started


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
    msgs = await client.messages(TOKEN, LAN["id"], wait_count=1, wait=30)
    assert [m["text"] for m in msgs] == ["slow"]
