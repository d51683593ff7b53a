"""The dashboard in a real headless Chromium, over the real runtime and the sandbox.

An official sends a notice through the bot, asks `/baocao` for the dashboard link, opens
it on a phone, goes from the ward's page to the notice, and presses «🔔 Nhắc các nhóm chưa
nhận»: the reminders go out through the delivery engine to the silent groups' chats in the
sandbox. Also in the browser: the cookie's flags, a POST without the CSRF token refused, an
official of another ward getting 404, and an expired link's page. The run saves phone and
desktop screenshots of the notice page to docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from broadcasts.area_import import import_areas_csv
from broadcasts.dashboard_access import dashboard_link, link_token, signing_secret
from broadcasts.db import session_scope
from broadcasts.models import (
    Area,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    NoticeStatus,
    Official,
    utcnow,
)
from broadcasts.settings import ApiSettings
from loa.runtime import Roles
from tests.bot.world import (
    ME,
    OFFICIAL,
    TOKEN,
    World,
    compose,
    latest_notice,
    open_world,
    register_official,
    wait_status,
)
from tests.support.browser import desktop_page, phone_page

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PUBLIC_URL = "https://loa.example.vn"


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    api = ApiSettings(
        port=0, public_url=PUBLIC_URL, session_secret=SecretStr("browser-test-secret-0123456789")
    )
    async with open_world(database_url, roles=Roles(), api=api) as w:
        yield w


def _served(w: World, link: str) -> str:
    """The link as the test reaches it: the public address is the API's local one here."""
    parts = urlsplit(link)
    return f"{w.runtime.api_url}{parts.path}?{parts.query}"


async def _send(w: World) -> int:
    """Khu phố 3 (three groups) and tổ 2 of khu phố 1; khu phố 3's leader acknowledges."""
    await register_official(w)
    await compose(w, "01-cat-dien.txt", ["BT-KP3", "BT-KP1-T2"])
    await w.player.press(ME, "wh:now", OFFICIAL)
    await w.player.press(ME, "cf:send", OFFICIAL)
    notice = await latest_notice(w)
    await wait_status(w, notice.id or 0, NoticeStatus.done)
    kp3 = w.chats["BT-KP3"]
    assert "Cảm ơn" in await w.player.press(kp3, "ack:", w.leaders[kp3])
    return notice.id or 0


async def _baocao_link(w: World) -> str:
    await w.player.say_private("/baocao")
    await w.player.wait_text(ME, "Mở trang theo dõi")
    (message,) = [m for m in await w.client.messages(TOKEN, ME) if "trang theo dõi" in m["text"]]
    (url,) = [e["url"] for e in message.get("entities", []) if e.get("type") == "text_link"]
    assert url.startswith(f"{PUBLIC_URL}/dashboard/open?t=")
    assert "24 giờ" in message["text"]
    return str(url)


async def _reminders(w: World, notice_id: int) -> list[Delivery]:
    async with session_scope(w.runtime.sessionmaker) as session:
        return list(
            await session.scalars(
                select(Delivery).where(
                    Delivery.notice_id == notice_id, Delivery.kind == DeliveryKind.reminder
                )
            )
        )


async def _wait_sent(w: World, notice_id: int, count: int) -> list[Delivery]:
    deadline = asyncio.get_running_loop().time() + 30  # only a guard against hanging
    while True:
        rows = await _reminders(w, notice_id)
        if len(rows) == count and all(r.status == DeliveryStatus.sent for r in rows):
            return rows
        assert asyncio.get_running_loop().time() < deadline, [(r.id, r.status) for r in rows]
        await asyncio.sleep(0.1)


async def _reminder_texts(w: World, code: str) -> list[str]:
    messages: list[dict[str, Any]] = await w.client.messages(TOKEN, w.chats[code])
    return [m["text"] for m in messages if "🔔 Nhắc lại" in m["text"]]


async def _other_ward_link(w: World) -> str:
    async with session_scope(w.runtime.sessionmaker) as session:
        csv = "code,name,level,parent_code,kind\nTD,Xã Thạnh Đông,ward,HCM,xã\n"
        await import_areas_csv(session=session, ward_code=None, data=csv)
        ward = (await session.scalars(select(Area).where(Area.code == "TD"))).one()
        official = Official(user_ref="7777", name="Lê Mai", ward_id=ward.id or 0)
        session.add(official)
        await session.flush()
        token = link_token(secret=signing_secret(w.runtime.settings), official=official)
    return dashboard_link(public_url=w.runtime.api_url, token=token)


async def test_from_the_bot_link_to_a_reminder_on_a_phone_and_a_desktop(world: World) -> None:
    w = world
    notice_id = await _send(w)
    link = _served(w, await _baocao_link(w))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async with phone_page() as page:
        response = await page.goto(link)
        assert response is not None and response.ok
        assert urlsplit(page.url).path == "/dashboard"
        assert "Phường Bến Thành" in await page.inner_text("h1")
        assert "Khu phố 3" in await page.inner_text("#areas")
        await page.screenshot(path=str(SCREENSHOTS / "ward-phone.png"), full_page=True)
        (cookie,) = [c for c in await page.context.cookies() if c["name"] == "loa_dashboard"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert cookie["secure"]  # the public address is https (Chromium trusts 127.0.0.1)

        await page.click(f'a[href="/dashboard/notices/{notice_id}"]')
        await page.wait_for_url(f"**/dashboard/notices/{notice_id}")
        pending = await page.inner_text("#pending")
        assert "Tổ dân phố 5" in pending and "Tổ dân phố 2" in pending
        assert "Nhóm BT-KP3 (" not in pending  # its leader pressed
        assert await page.locator("#pending li").count() == 3
        assert "Leader BT-KP3" in await page.inner_text("#by-area")
        assert "(3)" in await page.inner_text("#remind")
        # Every chart has loaded as an image.
        widths = await page.eval_on_selector_all("img.chart", "els => els.map(e => e.naturalWidth)")
        assert len(widths) == 2 and all(width > 0 for width in widths)
        # The page fits the phone's width: nothing to scroll sideways.
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        await page.screenshot(path=str(SCREENSHOTS / "notice-phone.png"), full_page=True)

        # A POST without the form's token (another site's form, say) changes nothing.
        forged = await page.request.post(
            f"{w.runtime.api_url}/dashboard/notices/{notice_id}/remind", form={}
        )
        assert forged.status == 403
        assert await _reminders(w, notice_id) == []

        await page.click("#remind")
        await page.wait_for_url("**?reminded=3")
        assert "Đang gửi lời nhắc đến 3 nhóm" in await page.inner_text("main")
    rows = await _wait_sent(w, notice_id, 3)
    assert len({r.channel_id for r in rows}) == 3
    for code in ("BT-KP3-T5", "BT-KP3-T6", "BT-KP1-T2"):
        (text,) = await _reminder_texts(w, code)
        assert f"#{notice_id}" in text
    assert await _reminder_texts(w, "BT-KP3") == []  # acknowledged: not reminded

    async with desktop_page() as page:
        await page.goto(link)  # still valid: the link works for a day
        await page.goto(f"{w.runtime.api_url}/dashboard/notices/{notice_id}")
        assert "đã gửi 3" in await page.inner_text("#pending")
        await page.screenshot(path=str(SCREENSHOTS / "notice-desktop.png"), full_page=True)


async def test_another_wards_official_gets_404_and_an_old_link_a_clear_page(
    world: World,
) -> None:
    w = world
    notice_id = await _send(w)
    async with phone_page() as page:
        await page.goto(await _other_ward_link(w))
        assert urlsplit(page.url).path == "/dashboard"
        response = await page.goto(f"{w.runtime.api_url}/dashboard/notices/{notice_id}")
        assert response is not None and response.status == 404
        text = await page.inner_text("main")
        assert "Không tìm thấy thông báo" in text and "Cúp" not in text

    async with session_scope(w.runtime.sessionmaker) as session:
        official = (
            await session.scalars(select(Official).where(Official.user_ref == "9001"))
        ).one()
        token = link_token(
            secret=signing_secret(w.runtime.settings),
            official=official,
            issued_at=utcnow() - timedelta(hours=25),
        )
    async with phone_page() as page:
        response = await page.goto(dashboard_link(public_url=w.runtime.api_url, token=token))
        assert response is not None and response.status == 410
        text = await page.inner_text("main")
        assert "Liên kết này đã hết hạn" in text and "/baocao" in text
        assert [c for c in await page.context.cookies() if c["name"] == "loa_dashboard"] == []
