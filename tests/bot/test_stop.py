"""Stopping waits for the updates being handled before the bots' sessions close: a
handler that answered after the close opened an aiohttp session nothing closed (the
«Unclosed client session» warnings of the test suite)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.types import TelegramObject

from loa.runtime import InFlight


async def test_stopping_waits_for_a_handler_in_hand_then_cancels_one_past_the_grace() -> None:
    in_flight = InFlight()
    release = asyncio.Event()
    entered = asyncio.Event()
    finished: list[str] = []

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        entered.set()
        await release.wait()
        finished.append(data["name"])

    first = asyncio.create_task(in_flight(handler, TelegramObject(), {"name": "answer"}))
    await entered.wait()
    settling = asyncio.create_task(in_flight.settle(grace=3600))
    await asyncio.sleep(0)
    assert not settling.done()  # the answer is still being sent
    release.set()
    await settling
    assert first.done() and finished == ["answer"]

    release.clear()
    entered.clear()
    stuck = asyncio.create_task(in_flight(handler, TelegramObject(), {"name": "stuck"}))
    await entered.wait()
    await in_flight.settle(grace=0)
    assert stuck.cancelled() and finished == ["answer"]
    await in_flight.settle(grace=0)  # nothing in hand: returns at once
