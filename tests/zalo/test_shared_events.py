"""Several API processes behind one Zalo webhook URL: a copy of an event that reaches
another process than the first is still dropped, because the duplicate filter lives in
Redis (`SharedEvents`, SET NX with a TTL); an event whose handling failed is taken back,
so Zalo's next try is handled. Real Redis, real database, the strict Zalo sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.handlers import ZaloFront
from bot.zalo.receiving import SharedEvents, WebhookIntake
from broadcasts.attempts import CodeAttempts
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.models import Area, AreaLevel, BotAccount, Channel, InviteKind
from broadcasts.settings import CodeSettings
from broadcasts.transports.zalo import ZaloTransport
from broadcasts.transports.zalo_client import ZaloClient
from sandbox.zalo import ZaloControl, ZaloSandbox
from tests.zalo.conftest import LAN, new_zalo_token

SECRET = "shared-secret-0123456789"
PREFIX = "loa:zalo-webhook:test:"


def _event(text: str, message_id: str) -> dict[str, Any]:
    return {
        "ok": True,
        "result": {
            "event_name": "message.text.received",
            "message": {
                "from": LAN,
                "chat": {"id": LAN["id"], "chat_type": "PRIVATE"},
                "text": text,
                "message_id": message_id,
                "date": 1766619597466,
            },
        },
    }


async def _seed(sessionmaker: async_sessionmaker[AsyncSession], token: str) -> tuple[int, str]:
    async with session_scope(sessionmaker) as session:
        ward = Area(code="ZS", name="Phường Zalo", level=AreaLevel.ward, path="ZS/")
        session.add(ward)
        await session.flush()
        bot = BotAccount(transport="zalo", token=token, username="bot.loa", ward_id=ward.id)
        session.add(bot)
        await session.flush()
        invite = await create_invite(session=session, kind=InviteKind.channel, area_id=ward.id or 0)
        return bot.id or 0, invite.code


async def _channels(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessionmaker) as session:
        return await session.scalar(select(func.count()).select_from(Channel)) or 0


@pytest.fixture
async def zalo() -> AsyncIterator[tuple[ZaloSandbox, ZaloControl]]:
    async with ZaloSandbox() as server, ZaloControl(server.url) as control:
        yield server, control


async def test_two_receivers_sharing_redis_handle_an_event_once(
    redis_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    zalo: tuple[ZaloSandbox, ZaloControl],
) -> None:
    server, zc = zalo
    token = new_zalo_token()
    await zc.add_bot(token, "bot.loa")
    await zc.say(token, LAN, "xin chào")  # Lan opens the chat (Zalo needs that to answer)
    account_id, code = await _seed(sessionmaker, token)
    attempts = CodeAttempts(sessionmaker=sessionmaker, settings=CodeSettings())
    # Two processes: each its own Redis connection, HTTP session and front.
    first_redis = aioredis.Redis.from_url(redis_url)
    second_redis = aioredis.Redis.from_url(redis_url)
    async with aiohttp.ClientSession() as first_http, aiohttp.ClientSession() as second_http:

        def intake(http: aiohttp.ClientSession, redis: aioredis.Redis) -> WebhookIntake:
            client = ZaloClient(token, session=http, api_base=server.url)
            front = ZaloFront(
                account_id=account_id,
                account_name="bot.loa",
                transport=ZaloTransport(client),
                sessionmaker=sessionmaker,
                attempts=attempts,
            )
            return WebhookIntake(
                front=front, secret=SECRET, seen=SharedEvents(redis, prefix=PREFIX)
            )

        try:
            one, two = intake(first_http, first_redis), intake(second_http, second_redis)
            event = _event(f"DK {code}", "zmsg-0001")
            assert await one.receive(event) is True
            assert await two.receive(event) is False  # the copy, at the other process
            assert await one.receive(event) is False
            # Another event with the same message id is another event.
            assert await two.receive(_event("xin chào", "zmsg-0002")) is True
            key_ttl = await first_redis.ttl(f"{PREFIX}message.text.received:zmsg-0001")
        finally:
            await first_redis.aclose()
            await second_redis.aclose()
    answers = [m["text"] for m in await zc.messages(token, LAN["id"])]
    assert len(answers) == 2 and "Đã đăng ký" in answers[0], answers
    assert await _channels(sessionmaker) == 1
    assert 0 < key_ttl <= 24 * 3600  # kept a day, then Redis forgets it


async def test_a_key_taken_back_after_a_failure_is_new_again_for_every_process(
    redis_url: str,
) -> None:
    first_redis = aioredis.Redis.from_url(redis_url)
    second_redis = aioredis.Redis.from_url(redis_url)
    try:
        one = SharedEvents(first_redis, prefix=PREFIX)
        two = SharedEvents(second_redis, prefix=PREFIX)
        key = ("message.text.received", "zmsg-0003")
        assert await one.add(key) is True
        assert await two.add(key) is False
        await one.forget(key)  # its handling failed: Zalo's next try must be handled
        assert await two.add(key) is True
        assert await one.add(key) is False
        other = SharedEvents(first_redis, prefix="loa:zalo-webhook:other:")
        assert await other.add(key) is True  # another bot's events are its own
    finally:
        await first_redis.aclose()
        await second_redis.aclose()
