"""POST /bots with "transport": "zalo" asks Zalo's getMe (through LOA_ZALO__API_BASE,
here the Zalo sandbox) whose token it is; stored encrypted, in the ward's tenancy."""

from __future__ import annotations

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
from broadcasts.models import BotAccount
from broadcasts.settings import ApiSettings, Settings, ZaloSettings
from sandbox.zalo import ZaloControl, ZaloSandbox
from tests.api.conftest import ADMIN_KEY, BASE_URL, assert_problem
from tests.api.factories import seed_tree

TOKEN = "4109000001:zaloWardBotOfBenThanh"


@pytest.fixture
async def bots_api(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with ZaloSandbox() as zalo, ZaloControl(zalo.url) as zc:
        await zc.add_bot(TOKEN, "bot.loa.benthanh")
        settings = Settings(
            database_url=database_url,
            api=ApiSettings(bootstrap_key=SecretStr(ADMIN_KEY)),
            zalo=ZaloSettings(api_base=zalo.url),
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


async def test_a_zalo_bot_is_added_by_its_token(
    bots_api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await bots_api.post(
        "/bots", json={"transport": "zalo", "token": TOKEN, "ward": "BT"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["transport"], body["username"], body["ward_code"]) == (
        "zalo",
        "bot.loa.benthanh",
        "BT",
    )
    assert TOKEN.split(":")[1] not in response.text
    async with sessionmaker() as session:
        raw = (await session.execute(text("SELECT token FROM bot_account"))).scalar_one()
        assert raw.startswith("gAAAAA") and TOKEN.split(":")[1] not in raw
        assert [b.id for b in await active_bots(session=session, transport="zalo")] == [body["id"]]
        assert await active_bots(session=session) == []  # not served as a Telegram bot
    again = await bots_api.post("/bots", json={"transport": "zalo", "token": TOKEN, "ward": "BT"})
    assert_problem(again, 409, "already stored")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-zalo-token", "not a Zalo bot token"),
        ("4109000002:unknownToZalo", "Zalo refused this token"),
    ],
)
async def test_a_bad_zalo_token_is_refused_and_nothing_stored(
    bots_api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    token: str,
    reason: str,
) -> None:
    response = await bots_api.post(
        "/bots", json={"transport": "zalo", "token": token, "ward": "BT"}
    )
    assert_problem(response, 422, reason)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(BotAccount)) == 0
