"""Webhook mode over the Zalo sandbox: Loa calls setWebhook with its secret at start, the
sandbox posts each event with `X-Bot-Api-Secret-Token` (and duplicates of it, as Zalo
may); a duplicate is handled once, a request with a wrong or missing secret reads and
records nothing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from broadcasts.db import session_scope
from broadcasts.models import Channel
from broadcasts.settings import ApiSettings, ZaloSettings
from broadcasts.transports.zalo_wire import SECRET_HEADER
from loa.runtime import Roles
from tests.zalo.conftest import CHIN, LAN
from tests.zalo.world import ZALO_TOKEN, ZaloWorld, channel_code, open_zalo_world, wait_text

SECRET = "zalo-webhook-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def zw(database_url: str) -> AsyncIterator[ZaloWorld]:
    port = _free_port()
    zalo = ZaloSettings(
        mode="webhook", webhook_url=f"http://127.0.0.1:{port}", webhook_secret=SecretStr(SECRET)
    )
    async with open_zalo_world(
        database_url, roles=Roles(), zalo=zalo, api=ApiSettings(port=port)
    ) as world:
        yield world


async def _channels(zw: ZaloWorld) -> int:
    async with session_scope(zw.runtime.sessionmaker) as session:
        return (
            await session.scalar(
                select(func.count()).select_from(Channel).where(Channel.transport == "zalo")  # type: ignore[arg-type]
            )
            or 0
        )


async def test_events_come_by_webhook_and_duplicates_count_once(zw: ZaloWorld) -> None:
    stats = await zw.zalo.stats(ZALO_TOKEN)
    assert stats["webhook_url"].endswith(f"/zalo/webhook/{zw.zalo_account_id}")
    await zw.zalo.duplicate_webhooks(ZALO_TOKEN, 2)  # every event posted three times
    lan = await zw.zalo.say(ZALO_TOKEN, LAN, f"DK {await channel_code(zw, 'BT-KP1')}")
    await wait_text(zw, lan, "Đã đăng ký")
    await zw.zalo.say(ZALO_TOKEN, LAN, "xin chào")
    await wait_text(zw, lan, "Xin chào")  # the next event: the duplicates were all handled
    answers = [m["text"] for m in await zw.zalo.messages(ZALO_TOKEN, lan)]
    # Handled once: registered once, and no «already registered» / «used code» answer.
    assert len(answers) == 2, answers
    assert await _channels(zw) == 1
    posts = (await zw.zalo.stats(ZALO_TOKEN))["webhook_posts"]
    assert posts == [200] * 6


async def test_a_wrong_or_missing_secret_reads_and_records_nothing(zw: ZaloWorld) -> None:
    code = await channel_code(zw, "BT-KP1")
    event = {
        "ok": True,
        "result": {
            "event_name": "message.text.received",
            "message": {
                "from": CHIN,
                "chat": {"id": CHIN["id"], "chat_type": "PRIVATE"},
                "text": f"DK {code}",
                "message_id": "forged0001",
                "date": 1766619597466,
            },
        },
    }
    url = f"{zw.runtime.api_url}/zalo/webhook/{zw.zalo_account_id}"
    async with httpx.AsyncClient() as client:
        wrong = await client.post(url, json=event, headers={SECRET_HEADER: "not-the-secret"})
        missing = await client.post(url, json=event)
        other_bot = await client.post(
            url.rsplit("/", 1)[0] + "/999", json=event, headers={SECRET_HEADER: SECRET}
        )
        assert (wrong.status_code, missing.status_code, other_bot.status_code) == (403, 401, 404)
        assert wrong.headers["content-type"].startswith("application/problem+json")
        assert await _channels(zw) == 0
        assert await zw.zalo.messages(ZALO_TOKEN, CHIN["id"]) == []
        # The same event with the secret is handled, once.
        first = await client.post(url, json=event, headers={SECRET_HEADER: SECRET})
        again = await client.post(url, json=event, headers={SECRET_HEADER: SECRET})
    assert first.json() == {"ok": True, "duplicate": False}
    assert again.json() == {"ok": True, "duplicate": True}
    assert await _channels(zw) == 1
