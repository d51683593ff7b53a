"""An app over a fresh database, with an admin client, a keyless client, and seeded rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.settings import ApiSettings, Settings

ADMIN_KEY = "loa_test_bootstrap_admin_key_0123456789"
BASE_URL = "http://loa.test"


@dataclass
class CancelRecorder:
    """Stands in for the runtime's `on_cancel` hook."""

    calls: list[int] = field(default_factory=list)

    async def __call__(self, notice_id: int) -> None:
        self.calls.append(notice_id)


@pytest.fixture
def cancelled() -> CancelRecorder:
    return CancelRecorder()


@pytest.fixture
async def app(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    cancelled: CancelRecorder,
) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=database_url, api=ApiSettings(bootstrap_key=SecretStr(ADMIN_KEY))
    )
    app = create_app(sessionmaker=sessionmaker, settings=settings, on_cancel=cancelled)
    async with app.router.lifespan_context(app):  # ASGITransport does not run the lifespan
        yield app


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as client:
        yield client


@pytest.fixture
async def admin(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, *fragments: str) -> dict[str, object]:
    """The response is RFC 9457 problem JSON with this status, mentioning each fragment."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert str(body["type"]).startswith("urn:loa:problem:")
    assert body["title"] and body["detail"]
    for fragment in fragments:
        assert fragment in str(body), (fragment, body)
    return body
