"""Peers of Loa's delivery engine, each sending one text to a list of chats as its users do.

    python tests/benchmarks/peers.py --peer aiogram|ptb|broadcaster --url URL --token TOKEN \
        --chats FILE --text TEXT

Run by `bench_delivery` in the benchmark's own environment (`.bench-venv`, made by
`make bench`: python-telegram-bot and aiogram-broadcaster are never Loa's dependencies),
so this file imports nothing of Loa. Each peer starts from the first chat whenever it is
started: none of them keeps what it sent, so after a kill -9 a restart sends again what
went out before the kill (the benchmark counts those as duplicates). Prints one JSON line
when done: messages sent, 429s it was answered, seconds, and its own CPU seconds.

- `aiogram`: the plain loop a typical bot has, sequential `send_message` with
  `asyncio.sleep(1/30)` between sends, sleeping `retry_after` on a 429 and trying again.
- `ptb`: python-telegram-bot's `ExtBot` with `AIORateLimiter` (30/s overall, 20/min per
  group, three retries on a 429), every send started at once, as its documentation shows.
- `broadcaster`: aiogram-broadcaster's `Broadcaster`, a mailer at 30/s (`SimpleInterval`)
  with its `FileStorage`, so it resumes after a restart; it never retries a failed send.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

PER_SECOND = 30


async def aiogram_loop(url: str, token: str, chats: list[int], text: str) -> dict[str, Any]:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramRetryAfter

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    limited = 0
    try:
        for chat in chats:
            while True:
                try:
                    await bot.send_message(chat_id=chat, text=text)
                    break
                except TelegramRetryAfter as exc:
                    limited += 1
                    await asyncio.sleep(exc.retry_after)
            await asyncio.sleep(1 / PER_SECOND)
    finally:
        await bot.session.close()
    return {"sent": len(chats), "http_429": limited}


async def ptb(url: str, token: str, chats: list[int], text: str) -> dict[str, Any]:
    from telegram.error import RetryAfter
    from telegram.ext import AIORateLimiter, ExtBot

    limited = 0
    bot: Any = ExtBot(token, base_url=f"{url}/bot", rate_limiter=AIORateLimiter(max_retries=3))

    async def one(chat: int) -> None:
        nonlocal limited
        while True:
            try:
                await bot.send_message(chat_id=chat, text=text)
                return
            except RetryAfter as exc:  # only after AIORateLimiter's own retries
                limited += 1
                delay = exc.retry_after
                await asyncio.sleep(delay if isinstance(delay, int | float) else 1)

    async with bot:
        await asyncio.gather(*(one(chat) for chat in chats))
    return {"sent": len(chats), "http_429": limited}


async def broadcaster(
    url: str, token: str, chats: list[int], text: str, state: str
) -> dict[str, Any]:
    """aiogram-broadcaster at 30/s (`SimpleInterval`), with its `FileStorage`, so a restart
    resumes from the chats it recorded as done. It does not retry: a 429 is a failed chat."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram_broadcaster import Broadcaster
    from aiogram_broadcaster.contents import TextContent
    from aiogram_broadcaster.intervals import SimpleInterval
    from aiogram_broadcaster.storages.file import FileStorage

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    storage = FileStorage(state)
    broadcaster = Broadcaster(bot, storage=storage)
    await storage.startup()
    try:
        await broadcaster.restore_mailers()
        mailers = list(broadcaster)
        if mailers:
            mailer = mailers[0]  # a restart: what the file says is left
        else:
            mailer = await broadcaster.create_mailer(
                chats=chats,
                content=TextContent(text=text),
                interval=SimpleInterval(interval=1 / PER_SECOND),
            )
        left = len(mailer.chats.pending.ids)
        if left:
            await mailer.start()
        failed = len(mailer.chats.failed.ids)
    finally:
        await bot.session.close()
    return {"sent": left, "http_429": None, "failed": failed}


PEERS: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
    "aiogram": aiogram_loop,
    "ptb": ptb,
    "broadcaster": broadcaster,
}


_MODULES = {
    "aiogram": ("aiogram", "aiogram.client.session.aiohttp"),
    "ptb": ("telegram", "telegram.ext"),
    "broadcaster": ("aiogram", "aiogram_broadcaster", "aiogram_broadcaster.storages.file"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", choices=sorted(PEERS), required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--chats", required=True, help="a JSON file: the chat ids")
    parser.add_argument("--text", required=True)
    parser.add_argument("--state", help="where a peer that keeps its progress keeps it")
    args = parser.parse_args()
    with open(args.chats) as f:
        chats = [int(c) for c in json.load(f)]
    for module in _MODULES[args.peer]:  # imports are not the peer's sending: kept out
        importlib.import_module(module)
    started, cpu = time.monotonic(), time.process_time()
    peer = PEERS[args.peer]
    extra = (args.state,) if args.peer == "broadcaster" else ()
    result = asyncio.run(peer(args.url, args.token, chats, args.text, *extra))
    result.update(
        seconds=round(time.monotonic() - started, 3), cpu_seconds=time.process_time() - cpu
    )
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
