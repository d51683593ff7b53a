"""POST /bots asks the Bot API server (the strict sandbox) whose token it is; tokens are
stored encrypted and never answered; rotate and disable."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.bots import active_bots
from broadcasts.db import session_scope
from broadcasts.models import AuditEvent, BotAccount
from broadcasts.settings import ApiSettings, Settings, TelegramSettings
from sandbox.telegram.server import SandboxServer
from tests.api.conftest import ADMIN_KEY, BASE_URL, assert_problem
from tests.api.factories import seed_tree

TOKEN = "740001:WardBotOfBenThanh"
ROTATED = "740001:WardBotAfterRevoke"


@pytest.fixture
async def bots_api(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with SandboxServer() as sandbox:
        settings = Settings(
            database_url=database_url,
            api=ApiSettings(bootstrap_key=SecretStr(ADMIN_KEY)),
            telegram=TelegramSettings(api_base=sandbox.url),
        )
        app: FastAPI = create_app(sessionmaker=sessionmaker, settings=settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url=BASE_URL,
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            ) as client,
        ):
            async with session_scope(sessionmaker) as session:
                await seed_tree(session)
            yield client


async def test_a_bot_is_added_by_its_token_and_the_token_never_shown(
    bots_api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await bots_api.post(
        "/bots", json={"transport": "telegram", "token": TOKEN, "ward": "BT"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["username"], body["ward_code"], body["active"]) == ("loa740001_bot", "BT", True)
    listing = await bots_api.get("/bots")
    assert listing.json()["count"] == 1 and listing.json()["data"][0]["id"] == body["id"]
    for answer in (response, listing, await bots_api.get(f"/bots/{body['id']}")):
        assert "token" not in answer.text and TOKEN.split(":")[1] not in answer.text
    # At rest: the column holds a Fernet ciphertext, the hash finds it again.
    async with sessionmaker() as session:
        raw, digest, ward_id = (
            await session.execute(text("SELECT token, token_hash, ward_id FROM bot_account"))
        ).one()
        bot = (await session.scalars(select(BotAccount))).one()
        events = list(await session.scalars(select(AuditEvent.action)))  # type: ignore[call-overload]
    assert raw != TOKEN and TOKEN.split(":")[1] not in raw and raw.startswith("gAAAAA")
    assert digest == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert bot.token == TOKEN and ward_id is not None and bot.ward_id == ward_id
    assert "bot.create" in events
    again = await bots_api.post("/bots", json={"token": TOKEN, "ward": "BT"})
    assert_problem(again, 409, "already stored")


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"token": "not-a-token", "ward": "BT"}, 422, "not a Telegram bot token"),
        ({"token": "740002:revoked.token", "ward": "BT"}, 422, "Telegram refused this token"),
        ({"token": TOKEN, "ward": "NOPE"}, 404, "NOPE"),
        ({"token": TOKEN, "ward": "BT-KP1"}, 422, "a bot serves a ward"),
        ({"token": TOKEN, "transport": "viber"}, 422, "transport"),
        ({"token": "740001:has space", "ward": "BT"}, 422, "token"),
    ],
)
async def test_a_bad_token_or_ward_is_refused_and_nothing_stored(
    bots_api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, str],
    status: int,
    reason: str,
) -> None:
    assert_problem(await bots_api.post("/bots", json=body), status, reason)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(BotAccount)) == 0


async def test_rotate_and_disable(
    bots_api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await bots_api.post("/bots", json={"token": TOKEN, "ward": "BT"})).json()
    other = await bots_api.post(f"/bots/{created['id']}/token", json={"token": "740009:Other"})
    assert_problem(other, 422, "belongs to @loa740009_bot")
    rotated = await bots_api.post(f"/bots/{created['id']}/token", json={"token": ROTATED})
    assert rotated.status_code == 200, rotated.text
    async with sessionmaker() as session:
        bot = (await session.scalars(select(BotAccount))).one()
        assert bot.token == ROTATED
        assert bot.token_hash == hashlib.sha256(ROTATED.encode()).hexdigest()
    disabled = await bots_api.post(f"/bots/{created['id']}/disable")
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    async with sessionmaker() as session:
        assert await active_bots(session=session) == []
    assert_problem(await bots_api.post("/bots/999/disable"), 404, "999")
    assert_problem(await bots_api.post("/bots/999/token", json={"token": ROTATED}), 404, "999")
