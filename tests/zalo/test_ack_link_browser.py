"""End to end, in a real headless Chromium on a 360 px phone: the delivery engine sends a
notice with a photo and a PDF to a Zalo chat in the strict sandbox; the chat receives the
photo by its signed link, then the text with the PDF's download link, the reply line and
the acknowledgement link. Opening that link shows the notice; pressing «✅ Tôi đã nhận»
shows the thanks and stores one acknowledgement (method link); pressing again stores no
second one; a tampered link shows its error page. The photo and the PDF download."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.attachments import store_file
from broadcasts.db import session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.models import (
    Area,
    AreaLevel,
    Attachment,
    BotAccount,
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Official,
    Rendition,
    utcnow,
)
from broadcasts.settings import (
    ApiSettings,
    AttachmentSettings,
    DeliverySettings,
    Settings,
    ZaloSettings,
)
from sandbox.zalo import ZaloControl, ZaloSandbox
from tests.api.conftest import ADMIN_KEY
from tests.api.link_world import NOTICE_TEXT, PDF_BYTES, PDF_NAME, link_acks
from tests.api.live_server import live_api
from tests.broadcasts.delivery.world import add_deliveries
from tests.support.browser import PHONE, phone_page
from tests.zalo.conftest import LAN, new_zalo_token

HINT = 'Trả lời 1 hoặc "đã nhận" để xác nhận.'
PHOTO_BYTES = b"\xff\xd8\xff\xe0 not really a JPEG, served as one \xff\xd9"
ACK_LINK = re.compile(r"Hoặc bấm: (http://\S+/a/\S+)$")
FILE_LINK = re.compile(r"📎 " + re.escape(PDF_NAME) + r": (http://\S+/f/\S+)")


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], token: str, chat: str, store: Path
) -> tuple[int, int]:
    files = AttachmentSettings(dir=store)
    async with session_scope(sessionmaker) as session:
        ward = Area(code="BT", name="Phường Bến Thành", level=AreaLevel.ward, path="BT/")
        session.add(ward)
        await session.flush()
        official = Official(user_ref="501", name="Trần Văn Minh", ward_id=ward.id or 0)
        bot = BotAccount(transport="zalo", token=token, username="bot.loa", ward_id=ward.id)
        session.add_all([official, bot])
        await session.flush()
        channel = Channel(area_id=ward.id or 0, bot_id=bot.id or 0, transport="zalo", chat_ref=chat)
        notice = Notice(
            ward_id=ward.id or 0,
            official_id=official.id,
            text=NOTICE_TEXT,
            status=NoticeStatus.dispatching,
            dispatched_at=utcnow(),
        )
        session.add_all([channel, notice])
        await session.flush()
        session.add(Rendition(notice_id=notice.id or 0, locale="vi", text=NOTICE_TEXT))
        for position, (kind, name, mime, data) in enumerate(
            [
                ("photo", "so-do.jpg", "image/jpeg", PHOTO_BYTES),
                ("document", PDF_NAME, "application/pdf", PDF_BYTES),
            ]
        ):
            digest, key = store_file(files, data)
            session.add(
                Attachment(
                    notice_id=notice.id or 0,
                    position=position,
                    kind=kind,
                    file_name=name,
                    mime_type=mime,
                    size=len(data),
                    sha256=digest,
                    storage_key=key,
                )
            )
        ids = (notice.id or 0, channel.id or 0, bot.id or 0)
    await add_deliveries(
        sessionmaker, notice_id=ids[0], channel_ids=[ids[1]], accounts={ids[1]: ids[2]}
    )
    return ids[0], ids[1]


async def _deliver(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    zalo_url: str,
    api_url: str,
    store: Path,
) -> None:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        zalo=ZaloSettings(api_base=zalo_url, per_bot_per_second=20),
        api=ApiSettings(public_url=api_url),
        attachments=AttachmentSettings(dir=store),
        delivery=DeliverySettings(send_timeout_seconds=5.0, poll_interval_seconds=0.05),
    )
    worker = DeliveryWorker(sessionmaker=sessionmaker, settings=settings)
    task = asyncio.create_task(worker.run())
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            async with session_scope(sessionmaker) as session:
                statuses = list(await session.scalars(select(col(Delivery.status))))
            if statuses and all(
                s in (DeliveryStatus.sent, DeliveryStatus.failed) for s in statuses
            ):
                break
            assert asyncio.get_running_loop().time() < deadline, statuses
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        await task
    assert statuses == [DeliveryStatus.sent]


@pytest.mark.browser
async def test_a_zalo_chat_acknowledges_by_link_in_a_phone_browser(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    token = new_zalo_token()
    async with ZaloSandbox() as zalo, ZaloControl(zalo.url) as zc:
        await zc.add_bot(token, "bot.loa")
        chat = await zc.say(token, LAN, "xin chào")
        notice_id, channel_id = await _seed(sessionmaker, token, chat, store)
        with live_api(database_url, admin_key=ADMIN_KEY, attachments_dir=store) as api_url:
            await _deliver(
                database_url, sessionmaker, zalo_url=zalo.url, api_url=api_url, store=store
            )
            received = await zc.messages(token, chat)
            assert [("photo" in m, "text" in m) for m in received] == [(True, False), (False, True)]
            text = received[1]["text"]
            assert len(text) <= 2000 and HINT in text
            ack_found = ACK_LINK.search(text)
            file_found = FILE_LINK.search(text)
            assert ack_found is not None and file_found is not None, text
            assert text.index(HINT) < ack_found.start()  # the link follows the reply line
            link = ack_found.group(1)
            assert link.startswith(api_url + "/a/")

            async with httpx.AsyncClient(timeout=httpx.Timeout(120.0)) as http:
                photo = await http.get(received[0]["photo"])
                pdf = await http.get(file_found.group(1))
            assert photo.status_code == 200 and photo.content == PHOTO_BYTES
            assert photo.headers["content-type"] == "image/jpeg"
            assert pdf.status_code == 200 and pdf.content == PDF_BYTES
            assert pdf.headers["content-type"] == "application/pdf"
            assert "attachment;" in pdf.headers["content-disposition"]

            async with phone_page() as page:
                opened = await page.goto(link)
                assert opened is not None and opened.status == 200
                assert await page.locator("h1").inner_text() == "Thông báo của Phường Bến Thành"
                notice = page.locator("article.notice")
                assert "bảo trì lưới điện trên đường Lê Lợi" in await notice.inner_text()
                assert "Trần Văn Minh" in await page.locator(".meta").inner_text()
                button = page.get_by_role("button", name="✅ Tôi đã nhận")
                box = await button.bounding_box()
                assert box is not None and box["height"] >= 44
                assert box["width"] >= PHONE["width"] - 2 * 16 - 1  # the whole column
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"]  # no sideways scrolling at 360 px
                font = await page.evaluate(
                    "parseFloat(getComputedStyle(document.querySelector('article')).fontSize)"
                )
                assert font >= 18  # large type for older volunteers
                await page.screenshot(path=str(tmp_path / "ack-page-360.png"), full_page=True)

                await page.get_by_label("Họ tên (không bắt buộc)").fill("Nguyễn Thị Lan")
                await button.click()
                await page.get_by_text("Cảm ơn bác/anh/chị!").wait_for()
                assert "Phường đã ghi nhận" in await page.locator("main").inner_text()
                acks = await link_acks(sessionmaker, notice_id)
                assert [(a.method, a.person_name, a.channel_id) for a in acks] == [
                    ("link", "Nguyễn Thị Lan", channel_id)
                ]

                await page.goto(link)
                assert "đã bấm «Tôi đã nhận»" in await page.locator(".done").inner_text()
                await page.get_by_role("button", name="✅ Tôi đã nhận").click()
                await page.get_by_text("Đã nhận rồi").wait_for()
                assert len(await link_acks(sessionmaker, notice_id)) == 1

                tampered = link[:-5] + ("AAAAA" if not link.endswith("AAAAA") else "BBBBB")
                refused = await page.goto(tampered)
                assert refused is not None and refused.status == 404
                assert await page.locator("h1").inner_text() == "Liên kết này không đúng"
                assert (await page.evaluate("document.documentElement.scrollWidth")) <= 360
            assert len(await link_acks(sessionmaker, notice_id)) == 1
    assert (tmp_path / "ack-page-360.png").stat().st_size > 0
