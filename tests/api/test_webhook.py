"""The webhook endpoint over a real HTTP server (uvicorn on an ephemeral port).

Without the secret token, or with a wrong one, nothing is read or handled; a redelivered
update is answered but not handled again, also when it reaches another API process (the
ids taken are shared in Redis). The receiver is the bot's real one, over a dispatcher
whose only handler records what it was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn
from aiogram import Bot, Dispatcher
from aiogram.types import Message

from api.app import create_app
from api.routes.telegram_webhook import SECRET_HEADER, webhook_path
from bot.webhook import SharedIds, TakenIds, WebhookReceiver
from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.settings import Settings
from tests.api.conftest import assert_problem

SECRET = "Right-secret_0123456789"
BOT_ID = 7


@dataclass
class Served:
    http: httpx.AsyncClient
    handled: list[str]
    arrived: asyncio.Event


def _update(update_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_767_225_600,
            "chat": {"id": 501, "type": "private", "first_name": "Lan"},
            "from": {"id": 501, "is_bot": False, "first_name": "Lan"},
            "text": text,
        },
    }


@asynccontextmanager
async def _serve(tmp_path: Path, taken: TakenIds | None = None) -> AsyncIterator[Served]:
    """One API process: the app with the bot's receiver, behind uvicorn on port 0."""
    handled: list[str] = []
    arrived = asyncio.Event()
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def record(message: Message) -> None:
        handled.append(message.text or "")
        arrived.set()

    bot = Bot("123456:TEST-token")  # never calls Telegram: the handler only records
    receiver = WebhookReceiver(dispatcher=dispatcher, bot=bot, secret=SECRET, taken=taken)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / f'loa-{id(receiver)}.db'}")
    app = create_app(
        sessionmaker=make_sessionmaker(engine), settings=Settings(), webhooks={BOT_ID: receiver}
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.02)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            yield Served(http, handled, arrived)
    finally:
        server.should_exit = True
        await task
        await receiver.close()
        await bot.session.close()
        await engine.dispose()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with _serve(tmp_path) as one:
        yield one


async def _post(
    served: Served, body: Any, secret: str | None, bot_id: int = BOT_ID
) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    if isinstance(body, bytes):
        return await served.http.post(webhook_path(bot_id), content=body, headers=headers)
    return await served.http.post(webhook_path(bot_id), json=body, headers=headers)


async def _handled_after(served: Served, update: dict[str, Any]) -> list[str]:
    """Post a last update and wait until it was handled: what came before is done too."""
    served.arrived.clear()
    assert (await _post(served, update, SECRET)).json() == {"ok": True, "duplicate": False}
    await asyncio.wait_for(served.arrived.wait(), timeout=20)
    return served.handled


async def test_missing_or_wrong_secret_is_refused_and_nothing_is_handled(served: Served) -> None:
    first = _update(1, "first")
    assert_problem(await _post(served, first, None), 401, SECRET_HEADER, "missing")
    assert_problem(await _post(served, first, "wrong-secret"), 403, SECRET_HEADER)
    assert_problem(await _post(served, first, SECRET[:-1]), 403)  # a prefix is not enough
    # The body is not even read: a wrong secret with garbage is still 403, not 422.
    assert_problem(await _post(served, b"{not json", "wrong-secret"), 403)
    assert_problem(await _post(served, first, SECRET, bot_id=BOT_ID + 1), 404, "does not receive")
    # None of it counted as seen: the same update with the right secret is handled.
    assert await _handled_after(served, first) == ["first"]


async def test_a_redelivered_update_is_answered_but_handled_once(served: Served) -> None:
    first = _update(10, "once")
    assert (await _post(served, first, SECRET)).json() == {"ok": True, "duplicate": False}
    again = await _post(served, first, SECRET)
    assert again.status_code == 200 and again.json() == {"ok": True, "duplicate": True}
    assert await _handled_after(served, _update(11, "next")) == ["once", "next"]


async def test_a_body_that_is_not_an_update_is_422(served: Served) -> None:
    assert_problem(await _post(served, b"{not json", SECRET), 422, "not JSON")
    assert_problem(await _post(served, [1, 2], SECRET), 422, "not a JSON object")
    assert_problem(await _post(served, {"hello": 1}, SECRET), 422, "not a Telegram update")
    assert served.handled == []


async def test_a_redelivery_to_another_api_process_is_not_handled_again(
    tmp_path: Path, redis_url: str
) -> None:
    redis = aioredis.Redis.from_url(redis_url)
    try:
        async with (
            _serve(tmp_path, SharedIds(redis, prefix="loa:webhook:7:")) as one,
            _serve(tmp_path, SharedIds(redis, prefix="loa:webhook:7:")) as other,
        ):
            update = _update(20, "shared")
            assert (await _post(one, update, SECRET)).json()["duplicate"] is False
            assert (await _post(other, update, SECRET)).json()["duplicate"] is True
            assert await _handled_after(other, _update(21, "after")) == ["after"]
            assert await _handled_after(one, _update(22, "later")) == ["shared", "later"]
            assert await redis.ttl("loa:webhook:7:20") > 0  # forgotten after a day, not kept
    finally:
        await redis.aclose()
