"""Fixtures for the sandbox's own tests: a strict sandbox on an ephemeral port whose clock
only moves when a test moves it, the control client, and real aiogram bots talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer

TOKEN = "123456:ABCdef"
OTHER = "654321:XYZ-other_token"
BOT_NAME = "loa123456_bot"
LAN: dict[str, Any] = {"id": 5001, "first_name": "Lan", "username": "lan", "language_code": "vi"}
MINH: dict[str, Any] = {"id": 5002, "first_name": "Minh"}

MakeBot = Callable[..., Bot]


class FakeClock:
    """A monotonic clock that stands still until ``advance``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox(clock: FakeClock) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(clock=clock) as sb:
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
