"""Preparing notices through the API: renditions, warnings, findings, edits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.ai import AISettings
from broadcasts.db import session_scope
from broadcasts.models import Notice, Rendition
from broadcasts.settings import ApiSettings, Settings
from tests.api.conftest import ADMIN_KEY, BASE_URL, assert_problem
from tests.api.factories import seed_tree
from tests.support.openai_stub import OpenAIStub

NOTICES = Path(__file__).resolve().parents[2] / "broadcasts" / "samples" / "notices"


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessionmaker) as session:
        await seed_tree(session)


async def test_offline_prepare_warns_about_private_data_and_missing_translation(
    admin: httpx.AsyncClient, seeded: None
) -> None:
    text = (NOTICES / "06-tai-san-that-lac.txt").read_text(encoding="utf-8")
    r = await admin.post(
        "/notices/prepare", json={"ward_code": "BT", "text": text, "locales": ["vi", "en"]}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["engine"] == "offline"
    assert [x["locale"] for x in body["renditions"]] == ["vi", "en"]
    vi, en = body["renditions"]
    assert vi["source"] == "offline" and en["text"] == vi["text"]  # no invented translation
    codes = {w["code"] for w in body["warnings"]}
    assert {"private_phone", "private_id_number", "no_translation_offline"} <= codes
    again = await admin.get(f"/notices/{body['notice_id']}/renditions")
    assert again.json() == body["renditions"]


async def test_edit_with_an_invented_date_is_flagged(
    admin: httpx.AsyncClient, seeded: None
) -> None:
    text = (NOTICES / "01-cat-dien.txt").read_text(encoding="utf-8")
    notice_id = (
        await admin.post("/notices/prepare", json={"ward_code": "BT", "text": text})
    ).json()["notice_id"]
    ok = await admin.put(
        f"/notices/{notice_id}/renditions/vi",
        json={"text": "Cúp điện 07:30–16:00 ngày 28/11, gọi 1900 545454."},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["source"] == "edited" and not ok.json()["flagged"]
    bad = await admin.put(
        f"/notices/{notice_id}/renditions/vi",
        json={"text": "Cúp điện 07:30 ngày 15/12, gọi 1900 545454."},
    )
    assert bad.json()["flagged"]
    assert any("15/12" in f["value"] for f in bad.json()["findings"])


async def test_bad_input_writes_nothing(
    admin: httpx.AsyncClient, seeded: None, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert_problem(
        await admin.post("/notices/prepare", json={"ward_code": "NOPE", "text": "x"}), 404
    )
    assert_problem(
        await admin.post("/notices/prepare", json={"ward_code": "BT-KP1", "text": "x"}),
        422,
        "not a ward",
    )
    assert_problem(await admin.post("/notices/prepare", json={"ward_code": "BT", "text": ""}), 422)
    too_long = {"ward_code": "BT", "text": "Thông báo. " * 1_000}  # 11,000 > 10,000 characters
    assert_problem(
        await admin.post("/notices/prepare", json=too_long), 422, "at most 10000 characters"
    )
    assert_problem(await admin.put("/notices/999/renditions/vi", json={"text": "x"}), 404)
    async with session_scope(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Notice)) == 0
        assert await session.scalar(select(func.count()).select_from(Rendition)) == 0


@pytest.fixture
async def ai_admin(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[httpx.AsyncClient, OpenAIStub]]:
    async with OpenAIStub("ok") as stub:
        settings = Settings(
            database_url=database_url,
            api=ApiSettings(bootstrap_key=SecretStr(ADMIN_KEY)),
            ai=AISettings(base_url=stub.base_url, timeout_seconds=2, max_retries=0),
        )
        app = create_app(sessionmaker=sessionmaker, settings=settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url=BASE_URL,
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            ) as client,
        ):
            yield client, stub


async def test_ai_prepare_keeps_private_data_on_the_machine(
    ai_admin: tuple[httpx.AsyncClient, OpenAIStub], seeded: None
) -> None:
    client, stub = ai_admin
    text = (NOTICES / "06-tai-san-that-lac.txt").read_text(encoding="utf-8")
    r = await client.post(
        "/notices/prepare", json={"ward_code": "BT", "text": text, "locales": ["vi", "en"]}
    )
    assert r.status_code == 201, r.text
    assert r.json()["engine"] == "ai"
    assert stub.requests, "the endpoint was never called"
    for request in stub.requests:
        for private in ("0903 456 789", "0903456789", "079185004321"):
            assert private not in request.decoded
    assert "0903" not in str(r.json()["renditions"][1]["findings"])
