"""Keys: none or a bad one is 401, a key without the scope is 403; /health is open."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.apikeys import create_api_key
from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.settings import Settings
from tests.api.conftest import ADMIN_KEY, assert_problem


async def test_health_needs_no_key(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/health")
    assert response.status_code == 200
    body = response.json()
    # No bot and no worker here: "none" is reported, and is not an outage.
    assert (body["status"], body["database"], body["up"], body["bot"]) == ("ok", "ok", True, None)
    assert body["receiving"] == {"state": "none", "age_seconds": None, "processes": 0}
    assert body["delivering"]["state"] == "none"


async def test_missing_and_wrong_keys_are_401(anon: httpx.AsyncClient) -> None:
    missing = await anon.get("/areas")
    assert_problem(missing, 401, "API key is required")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_problem(await anon.get("/areas", headers={"Authorization": "Bearer loa_nope_x"}), 401)
    assert_problem(await anon.get("/areas", headers={"X-API-Key": ADMIN_KEY + "x"}), 401)
    ok = await anon.get("/areas", headers={"X-API-Key": ADMIN_KEY})
    assert ok.status_code == 200 and ok.json() == {"data": [], "count": 0}


async def test_reports_key_reads_notices_only(
    anon: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(sessionmaker) as session:
        _, plaintext = await create_api_key(session=session, name="dash", scopes=["reports"])
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert (await anon.get("/notices", headers=headers)).status_code == 200
    assert_problem(await anon.get("/areas", headers=headers), 403, "admin")
    assert_problem(
        await anon.post("/api-keys", headers=headers, json={"name": "x", "scopes": ["admin"]}), 403
    )
    assert_problem(await anon.post("/notices/1/cancel", headers=headers), 403, "admin")


async def test_unknown_paths_are_problems_too(admin: httpx.AsyncClient) -> None:
    assert_problem(await admin.get("/nowhere"), 404)
    assert_problem(await admin.put("/areas"), 405)


async def test_health_reports_an_unreachable_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'loa.db'}")
    app = create_app(sessionmaker=make_sessionmaker(engine), settings=Settings())
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://loa.test"
        ) as client:
            assert_problem(await client.get("/health"), 503, "not reachable")
    finally:
        await engine.dispose()
