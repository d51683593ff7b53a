"""The dashboard over httpx (no browser): access, tenancy, CSRF, cookies and content."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.apikeys import create_api_key
from broadcasts.dashboard_access import dashboard_link, link_token
from broadcasts.db import session_scope
from broadcasts.models import (
    Area,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    NoticeStatus,
    Official,
    utcnow,
)
from broadcasts.settings import ApiSettings, Settings
from tests.api.conftest import ADMIN_KEY
from tests.api.dashboard_world import SESSION_SECRET, DashWorld, build_dash_world
from tests.api.factories import add_notice

BASE = "http://loa.test"


@pytest.fixture
async def dash_app(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=database_url,
        api=ApiSettings(
            bootstrap_key=SecretStr(ADMIN_KEY),
            session_secret=SecretStr(SESSION_SECRET),
            auth_failures_per_address=3,
        ),
    )
    app = create_app(sessionmaker=sessionmaker, settings=settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> DashWorld:
    return await build_dash_world(sessionmaker)


def _client(app: FastAPI, base: str = BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


async def _official_link(
    sessionmaker: async_sessionmaker[AsyncSession], official_id: int, **kw: object
) -> str:
    async with session_scope(sessionmaker) as session:
        official = await session.get(Official, official_id)
        assert official is not None
        token = link_token(secret=SESSION_SECRET, official=official, **kw)  # type: ignore[arg-type]
    return dashboard_link(public_url=BASE, token=token)


@asynccontextmanager
async def _signed_in_official(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], official_id: int
) -> AsyncIterator[httpx.AsyncClient]:
    link = await _official_link(sessionmaker, official_id)
    async with _client(app) as client:
        response = await client.get(link)
        assert response.status_code == 303 and response.headers["location"] == "/dashboard"
        yield client


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _reminders(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessionmaker) as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.kind == DeliveryKind.reminder)
        )
    return int(count or 0)


async def test_without_a_session_pages_send_to_the_sign_in_form(
    dash_app: FastAPI, world: DashWorld
) -> None:
    async with _client(dash_app) as client:
        for path in ("/dashboard", f"/dashboard/notices/{world.notice_id}"):
            response = await client.get(path)
            assert response.status_code == 303
            assert response.headers["location"] == "/dashboard/login"
        form = await client.get("/dashboard/login")
        assert form.status_code == 200
        assert "Đăng nhập" in form.text
        assert form.headers["content-security-policy"].startswith("default-src 'none'")
        assert "form-action 'self'" in form.headers["content-security-policy"]


async def test_official_link_opens_the_ward_and_the_notice(
    dash_app: FastAPI, world: DashWorld, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with _signed_in_official(dash_app, sessionmaker, world.official_id) as client:
        ward = await client.get("/dashboard")
        assert ward.status_code == 200, ward.text
        assert "Phường Bến Thành" in ward.text
        assert "Cúp điện ngày 12/3" in ward.text
        assert f'href="/dashboard/notices/{world.notice_id}"' in ward.text
        assert "Thạnh Đông" not in ward.text
        # The channel that stopped receiving, and why, in plain words.
        assert "Loa đã bị xóa khỏi nhóm" in ward.text
        notice = await client.get(f"/dashboard/notices/{world.notice_id}")
        assert notice.status_code == 200
        page = notice.text
        for words in ("Đã nhận", "Chưa nhận", "Lan", "Chin", "Khu phố 1", "Zalo", "Telegram"):
            assert words in page, words
        assert "data:image/svg+xml" in page  # the charts
        assert "Nhắc các nhóm chưa nhận" in page
        assert "(2)" in page  # two silent groups: tổ 2 and khu phố 10


async def test_another_wards_notice_is_not_found(
    dash_app: FastAPI, world: DashWorld, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with _signed_in_official(dash_app, sessionmaker, world.other_official_id) as client:
        response = await client.get(f"/dashboard/notices/{world.notice_id}")
        assert response.status_code == 404
        assert "Cúp điện" not in response.text
        assert "Không tìm thấy thông báo" in response.text
        before = await _reminders(sessionmaker)
        home = await client.get("/dashboard")
        posted = await client.post(
            f"/dashboard/notices/{world.notice_id}/remind", data={"csrf": _csrf(home.text)}
        )
        assert posted.status_code == 404
        assert await _reminders(sessionmaker) == before
        own = await client.get(f"/dashboard/notices/{world.other_notice_id}")
        assert own.status_code == 200 and "Thạnh Đông" in own.text


async def test_remind_needs_the_csrf_token(
    dash_app: FastAPI, world: DashWorld, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with _signed_in_official(dash_app, sessionmaker, world.official_id) as client:
        url = f"/dashboard/notices/{world.notice_id}/remind"
        for data in ({}, {"csrf": "forged"}):
            refused = await client.post(url, data=data)
            assert refused.status_code == 403, refused.text
            assert "hết hạn" in refused.text
        assert await _reminders(sessionmaker) == 0
        page = await client.get(f"/dashboard/notices/{world.notice_id}")
        done = await client.post(url, data={"csrf": _csrf(page.text)})
        assert done.status_code == 303
        assert done.headers["location"].endswith("?reminded=2")
        assert await _reminders(sessionmaker) == 2
        after = await client.get(done.headers["location"])
        assert "2 nhóm" in after.text


async def test_admin_signs_in_with_a_key_and_the_cookie_is_strict(
    dash_app: FastAPI, world: DashWorld
) -> None:
    async with _client(dash_app, "https://loa.test") as client:
        form = await client.get("/dashboard/login")
        response = await client.post(
            "/dashboard/login", data={"key": ADMIN_KEY, "csrf": _csrf(form.text)}
        )
        assert response.status_code == 303
        cookie = next(
            v
            for k, v in response.headers.multi_items()
            if k == "set-cookie" and v.startswith("loa_dashboard=")
        )
        flags = cookie.lower()
        assert "httponly" in flags and "secure" in flags and "samesite=lax" in flags
        assert "path=/dashboard" in flags
        wards = await client.get("/dashboard")  # a city key picks a ward
        assert "Phường Bến Thành" in wards.text and "Xã Thạnh Đông" in wards.text
        ward = await client.get("/dashboard", params={"ward": "BT"})
        assert "Cúp điện ngày 12/3" in ward.text
        out = await client.post("/dashboard/logout", data={"csrf": _csrf(ward.text)})
        assert out.status_code == 303
        client.cookies.clear()  # the browser drops it (Max-Age=0); httpx keeps the jar
        assert (await client.get("/dashboard")).status_code == 303


async def test_cookie_is_not_secure_over_plain_http(dash_app: FastAPI, world: DashWorld) -> None:
    async with _client(dash_app) as client:
        form = await client.get("/dashboard/login")
        response = await client.post(
            "/dashboard/login", data={"key": ADMIN_KEY, "csrf": _csrf(form.text)}
        )
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


async def test_login_without_its_token_or_with_a_wrong_key_is_refused_and_limited(
    dash_app: FastAPI, world: DashWorld
) -> None:
    async with _client(dash_app) as client:
        no_token = await client.post("/dashboard/login", data={"key": ADMIN_KEY})
        assert no_token.status_code == 403
        assert "loa_dashboard=" not in no_token.headers.get("set-cookie", "")
        for _ in range(3):
            form = await client.get("/dashboard/login")
            wrong = await client.post(
                "/dashboard/login", data={"key": "loa_wrongkey_x", "csrf": _csrf(form.text)}
            )
            assert wrong.status_code == 401
            assert "không đúng" in wrong.text
        form = await client.get("/dashboard/login")
        limited = await client.post(
            "/dashboard/login", data={"key": ADMIN_KEY, "csrf": _csrf(form.text)}
        )
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert "loa_dashboard=" not in limited.headers.get("set-cookie", "")


async def test_an_expired_or_altered_link_shows_a_clear_page(
    dash_app: FastAPI, world: DashWorld, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    old = await _official_link(
        sessionmaker, world.official_id, issued_at=utcnow() - timedelta(hours=25)
    )
    async with _client(dash_app) as client:
        expired = await client.get(old)
        assert expired.status_code == 410
        assert "Liên kết này đã hết hạn" in expired.text and "/baocao" in expired.text
        assert "loa_dashboard=" not in expired.headers.get("set-cookie", "")
        fresh = await _official_link(sessionmaker, world.official_id)
        altered = await client.get(fresh[:-3] + "xyz")
        assert altered.status_code == 400
        assert "không hợp lệ" in altered.text


async def test_a_deactivated_official_loses_the_session(
    dash_app: FastAPI, world: DashWorld, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with _signed_in_official(dash_app, sessionmaker, world.official_id) as client:
        assert (await client.get("/dashboard")).status_code == 200
        async with session_scope(sessionmaker) as session:
            official = await session.get(Official, world.official_id)
            assert official is not None
            official.active = False
        assert (await client.get("/dashboard")).status_code == 303


async def _key(
    sessionmaker: async_sessionmaker[AsyncSession], scopes: list[str], ward_code: str | None
) -> str:
    async with session_scope(sessionmaker) as session:
        ward_id = None
        if ward_code is not None:
            ward_id = (await session.scalars(select(Area.id).where(Area.code == ward_code))).one()
        _key_row, plaintext = await create_api_key(
            session=session, name=f"{ward_code} {' '.join(scopes)}", scopes=scopes, ward_id=ward_id
        )
    return plaintext


@asynccontextmanager
async def _signed_in_key(app: FastAPI, key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as client:
        form = await client.get("/dashboard/login")
        response = await client.post(
            "/dashboard/login", data={"key": key, "csrf": _csrf(form.text)}
        )
        assert response.status_code == 303, response.text
        yield client


async def test_a_ward_key_sees_its_ward_only(
    dash_app: FastAPI, world: DashWorld, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = await _key(sessionmaker, ["admin"], "TD")
    async with _signed_in_key(dash_app, key) as client:
        home = await client.get("/dashboard")
        assert "Xã Thạnh Đông" in home.text and "Cúp điện" not in home.text
        assert (await client.get(f"/dashboard/notices/{world.notice_id}")).status_code == 404
        picked = await client.get("/dashboard", params={"ward": "BT"})  # not theirs to pick
        assert "Xã Thạnh Đông" in picked.text and "Cúp điện" not in picked.text


async def test_a_reports_key_reads_but_does_not_remind(
    dash_app: FastAPI, world: DashWorld, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    key = await _key(sessionmaker, ["reports"], "BT")
    async with _signed_in_key(dash_app, key) as client:
        page = await client.get(f"/dashboard/notices/{world.notice_id}")
        assert page.status_code == 200
        assert 'id="remind"' not in page.text  # no button for a reader
        refused = await client.post(
            f"/dashboard/notices/{world.notice_id}/remind", data={"csrf": _csrf(page.text)}
        )
        assert refused.status_code == 403 and "chỉ được xem báo cáo" in refused.text
    assert await _reminders(sessionmaker) == 0


async def test_without_a_signing_secret_the_dashboard_says_it_is_not_set_up(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], world: DashWorld
) -> None:
    settings = Settings(database_url=database_url)
    app = create_app(sessionmaker=sessionmaker, settings=settings)
    async with _client(app) as client:
        response = await client.get("/dashboard/open", params={"t": "anything"})
        assert response.status_code == 503
        assert "Trang theo dõi chưa được cài đặt" in response.text


async def test_a_notice_not_sent_yet_has_a_page_and_nothing_to_remind(
    dash_app: FastAPI, world: DashWorld, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(sessionmaker) as session:
        ward = await session.get(Area, world.ward_id)
        assert ward is not None
        channels = list(await session.scalars(select(Channel).where(Channel.active)))[:2]
        notice, _ = await add_notice(
            session, ward, channels, [DeliveryStatus.pending] * 2, status=NoticeStatus.scheduled
        )
        notice_id = notice.id or 0
    async with _signed_in_official(dash_app, sessionmaker, world.official_id) as client:
        page = await client.get(f"/dashboard/notices/{notice_id}")
        assert page.status_code == 200, page.text
        assert 'id="remind"' not in page.text and "Đang chờ" in page.text
        refused = await client.post(
            f"/dashboard/notices/{notice_id}/remind", data={"csrf": _csrf(page.text)}
        )
        assert refused.status_code == 409
        assert "chưa đến được nhóm nào" in refused.text
    assert await _reminders(sessionmaker) == 0
