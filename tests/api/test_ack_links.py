"""The signed-link pages over the live API (uvicorn on a free port): the page shows the
notice, a press records one `link` acknowledgement per browser, a press without the
page's check is refused (403), and a tampered, expired or withdrawn link shows its page
with its status and records nothing; `/f/<token>` downloads the file with its name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.app import create_app
from broadcasts.db import session_scope
from broadcasts.links import LinkKind, page_check, sign
from broadcasts.models import AuditEvent, Channel, Notice
from broadcasts.settings import Settings
from tests.api.conftest import ADMIN_KEY
from tests.api.link_world import (
    NOTICE_TEXT,
    PDF_BYTES,
    Delivered,
    count_acks,
    link_acks,
    seed_delivered,
)
from tests.api.live_server import live_api

CHECK = re.compile(r'name="check" value="([^"]+)"')
# A hang guard only (the live server shares two busy cores with other tests), not a bound.
TIMEOUT = httpx.Timeout(120.0)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def base_url(database_url: str, store: Path) -> Iterator[str]:
    with live_api(database_url, admin_key=ADMIN_KEY, attachments_dir=store) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as http:
        yield http


@pytest.fixture
async def delivered(sessionmaker: async_sessionmaker[AsyncSession], store: Path) -> Delivered:
    return await seed_delivered(sessionmaker, store=store)


def _check(page: httpx.Response) -> str:
    found = CHECK.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_the_page_shows_the_notice_and_sets_a_safe_cookie(
    client: httpx.AsyncClient, delivered: Delivered
) -> None:
    page = await client.get(f"/a/{delivered.ack_token()}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="vi">' in html
    assert "Thông báo của Phường Bến Thành" in html
    assert "Người gửi: Trần Văn Minh · Phường Bến Thành" in html
    assert "Cắt điện khu phố 1" in html and "bảo trì lưới điện trên đường Lê Lợi" in html
    assert "✅ Tôi đã nhận" in html and "Họ tên (không bắt buộc)" in html
    assert "<script" not in html and "http" not in html.split("<body>")[1]  # nothing loads
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("loa_person=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    csp = page.headers["content-security-policy"]
    assert "form-action 'self'" in csp and "style-src 'sha256-" in csp
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert page.headers["cache-control"] == "no-store"


async def test_a_press_records_one_link_ack_per_browser(
    client: httpx.AsyncClient,
    delivered: Delivered,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = delivered.ack_token()
    page = await client.get(f"/a/{token}")
    check = _check(page)
    done = await client.post(f"/a/{token}", data={"check": check, "name": "  Bà\tTư  "})
    assert done.status_code == 200, done.text
    assert "Cảm ơn bác/anh/chị!" in done.text
    again = await client.post(f"/a/{token}", data={"check": check, "name": "Bà Tư"})
    assert again.status_code == 200
    assert "Đã nhận rồi" in again.text and "Tôi đã nhận" in again.text
    acks = await link_acks(sessionmaker, delivered.notice_id)
    assert len(acks) == 1
    ack = acks[0]
    assert ack.method == "link" and ack.person_name == "Bà Tư"
    assert ack.delivery_id == delivered.delivery_id and ack.channel_id == delivered.channel_id
    assert ack.person_ref.startswith("link:")
    reopened = await client.get(f"/a/{token}")  # the page now says it was recorded
    assert "Bác/anh/chị đã bấm «Tôi đã nhận» thông báo này lúc" in reopened.text
    # Another browser (no cookie) is another person.
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=TIMEOUT) as other:
        their = await other.get(f"/a/{token}")
        assert (await other.post(f"/a/{token}", data={"check": _check(their)})).status_code == 200
    assert [a.person_name for a in await link_acks(sessionmaker, delivered.notice_id)] == [
        "Bà Tư",
        "",
    ]
    async with session_scope(sessionmaker) as session:
        logged = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action) == "ack.link")
        )
    assert logged == 2


async def test_a_press_without_the_page_check_is_refused(
    client: httpx.AsyncClient,
    delivered: Delivered,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = delivered.ack_token()
    other_token = delivered.ack_token(expires_in=timedelta(days=3))  # same delivery, other link
    page = await client.get(f"/a/{token}")
    check = _check(page)
    for data in ({}, {"check": ""}, {"check": "x" * 22}, {"check": page_check_of(other_token)}):
        refused = await client.post(f"/a/{token}", data=data)
        assert refused.status_code == 403, data
        assert "Chưa ghi nhận được" in refused.text
    # The right check without the cookie it is bound to (another site's form, cookies off).
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=TIMEOUT) as bare:
        assert (await bare.post(f"/a/{token}", data={"check": check})).status_code == 403
    # The check of one link does not press another.
    assert (await client.post(f"/a/{other_token}", data={"check": check})).status_code == 403
    assert await count_acks(sessionmaker) == 0


def page_check_of(token: str) -> str:
    return page_check(token, "someone-else")


async def test_tampered_expired_and_withdrawn_links_record_nothing(
    client: httpx.AsyncClient,
    delivered: Delivered,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = delivered.ack_token()
    check = _check(await client.get(f"/a/{token}"))
    tampered = token[:10] + ("B" if token[10] == "A" else "A") + token[11:]
    for bad in (tampered, token[:-3], "nothing", "A" * 44):
        page = await client.get(f"/a/{bad}")
        assert page.status_code == 404, bad
        assert "Liên kết này không đúng" in page.text
        assert (await client.post(f"/a/{bad}", data={"check": check})).status_code == 404
    expired = sign(
        LinkKind.ack,
        delivery_id=delivered.delivery_id,
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    page = await client.get(f"/a/{expired}")
    assert page.status_code == 410 and "Liên kết này đã hết hạn" in page.text
    assert "7 ngày" in page.text
    # A file link is no acknowledgement link.
    assert (await client.get(f"/a/{delivered.file_token()}")).status_code == 404
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Notice)
            .where(col(Notice.id) == delivered.notice_id)
            .values(recalled_at=datetime.now(UTC))
        )
    page = await client.get(f"/a/{token}")
    assert page.status_code == 410 and "không cần bấm «Đã nhận» nữa" in page.text
    assert (await client.post(f"/a/{token}", data={"check": check})).status_code == 410
    assert (await client.get(f"/f/{delivered.file_token()}")).status_code == 404
    assert await count_acks(sessionmaker) == 0


async def test_a_deactivated_channel_link_records_nothing(
    client: httpx.AsyncClient,
    delivered: Delivered,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = delivered.ack_token()
    check = _check(await client.get(f"/a/{token}"))
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Channel).where(col(Channel.id) == delivered.channel_id).values(active=False)
        )
    refused = await client.post(f"/a/{token}", data={"check": check})
    assert refused.status_code == 410
    assert await count_acks(sessionmaker) == 0


async def test_the_download_has_its_type_and_name(
    client: httpx.AsyncClient, delivered: Delivered
) -> None:
    got = await client.get(f"/f/{delivered.file_token()}")
    assert got.status_code == 200
    assert got.content == PDF_BYTES
    assert got.headers["content-type"] == "application/pdf"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%2012.pdf" in disposition
    assert got.headers["x-content-type-options"] == "nosniff"
    token = delivered.file_token()
    tampered = token[:-1] + ("B" if token.endswith("A") else "A")
    for bad in (tampered, token[:-1] + "=", delivered.ack_token(), "x"):
        page = await client.get(f"/f/{bad}")
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Không mở được tệp này" in page.text


async def test_the_cookie_is_secure_over_https(app: FastAPI, delivered: Delivered) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://loa.test"
    ) as client:
        page = await client.get(f"/a/{delivered.ack_token()}")
    assert page.status_code == 200
    assert "Secure" in page.headers["set-cookie"]
    assert NOTICE_TEXT.splitlines()[0] in page.text


async def test_a_new_press_tells_the_runtime_once(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    delivered: Delivered,
) -> None:
    """`on_ack` (the runtime: status message, «✅ Đã nhận» line) runs after a new press
    only, with its notice and delivery."""
    calls: list[tuple[int, int]] = []

    async def on_ack(notice_id: int, delivery_id: int) -> None:
        calls.append((notice_id, delivery_id))

    settings = Settings(_env_file=None, database_url=database_url)
    app = create_app(sessionmaker=sessionmaker, settings=settings, on_ack=on_ack)
    token = delivered.ack_token()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://loa.test"
    ) as client:
        check = _check(await client.get(f"/a/{token}"))
        for _ in range(2):
            assert (await client.post(f"/a/{token}", data={"check": check})).status_code == 200
    assert calls == [(delivered.notice_id, delivered.delivery_id)]
