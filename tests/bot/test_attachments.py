"""An official sends files to the bot, end to end over the strict sandbox: the real bot
downloads them, the notice reaches every targeted group with the files and the button on
the last message; refused files get a plain Vietnamese answer and create nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.keyboards import ReviewCb, TreeCb, WhenCb
from broadcasts.db import session_scope
from broadcasts.models import Attachment, AttachmentFile, Notice, NoticeStatus
from broadcasts.settings import AttachmentSettings
from sandbox.telegram.client import MediaItem
from tests.bot.world import (
    ME,
    OFFICIAL,
    TOKEN,
    World,
    area_id,
    latest_notice,
    on,
    open_world,
    register_official,
    wait_status,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
PDF = b"%PDF-1.4\n" + b"1" * 500
CAPTION = (
    "Thông báo: cúp điện khu phố 3 từ 8 giờ đến 11 giờ sáng thứ Bảy, ngày 05/12/2026 "
    "để bảo trì đường dây. Bà con chủ động sắp xếp công việc."
)
KP3 = ("BT-KP3", "BT-KP3-T5", "BT-KP3-T6")


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    store = AttachmentSettings(
        dir=tmp_path / "files", max_file_bytes=4096, album_gather_seconds=0.5
    )
    async with open_world(database_url, attachments=store) as w:
        await register_official(w)
        yield w


async def send_files(w: World, items: list[MediaItem], caption: str | None = None) -> None:
    await w.client.private_media(TOKEN, OFFICIAL, items, caption=caption)


async def review_of(w: World) -> int:
    _, data = await w.player.button(ME, "rv:targets:")
    return ReviewCb.unpack(data).n


async def send_to_kp3(w: World, n: int) -> Notice:
    await w.player.press(ME, on(ReviewCb(action="targets", n=n)), OFFICIAL)
    tree = TreeCb(action="toggle", area_id=await area_id(w, "BT-KP3"), n=n)
    await w.player.press(ME, on(tree), OFFICIAL)
    await w.player.press(ME, on(TreeCb(action="done", n=n)), OFFICIAL)
    await w.player.press(ME, on(WhenCb(action="now", n=n)), OFFICIAL)
    await w.player.press(ME, "cf:send", OFFICIAL)
    notice = await latest_notice(w)
    await wait_status(w, notice.id or 0, NoticeStatus.done)
    return notice


def has_button(message: dict[str, Any]) -> bool:
    return "inline_keyboard" in str(message.get("reply_markup"))


async def group_messages(w: World, code: str) -> list[dict[str, Any]]:
    """The notice's messages in a group (not the greeting from its registration)."""
    found = await w.client.messages(TOKEN, w.chats[code])
    return [m for m in found if m["media"] or has_button(m)]


async def count(w: World, model: Any) -> int:
    async with session_scope(w.runtime.sessionmaker) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_photo_with_caption_reaches_every_group_with_the_button(world: World) -> None:
    w = world
    await send_files(w, [{"kind": "photo", "data": PNG}], caption=CAPTION)
    n = await review_of(w)
    await w.player.wait_text(ME, "📎 Kèm theo: 1 ảnh")
    await send_to_kp3(w, n)
    for code in KP3:
        (message,) = await group_messages(w, code)
        assert message["media"] == "photo"
        assert "cúp điện" in message["plain_text"]
        assert has_button(message)
    assert await count(w, AttachmentFile) == 1  # the bot's own file id, from the intake


async def test_a_pdf_without_caption_asks_for_the_text(world: World) -> None:
    w = world
    pdf: MediaItem = {"kind": "document", "data": PDF, "file_name": "cong-van.pdf"}
    await send_files(w, [pdf])
    await w.player.wait_text(ME, "vài dòng nội dung")
    assert await count(w, Notice) == 0
    await w.player.say_private(CAPTION)
    n = await review_of(w)
    await w.player.wait_text(ME, "📎 Kèm theo: 1 tệp PDF")
    await send_to_kp3(w, n)
    for code in KP3:
        messages = await group_messages(w, code)
        assert messages[0]["media"] == "document"
        assert messages[0]["file"]["file_name"] == "cong-van.pdf"
        assert has_button(messages[-1]) and not any(has_button(m) for m in messages[:-1])


async def test_an_album_of_three_photos_then_the_text(world: World) -> None:
    w = world
    photos: list[MediaItem] = [{"kind": "photo", "data": PNG + bytes([i])} for i in range(3)]
    await send_files(w, photos, caption=CAPTION)
    n = await review_of(w)
    try:
        await w.player.wait_text(ME, "📎 Kèm theo: 3 ảnh", timeout=5)
    except TimeoutError:
        print([m["text"][:80] for m in await w.client.messages(TOKEN, ME)])
        raise
    assert await count(w, Notice) == 1
    await send_to_kp3(w, n)
    for code in KP3:
        messages = await group_messages(w, code)
        assert [m["media"] for m in messages] == ["photo", "photo", "photo", None]
        assert has_button(messages[3]) and not any(has_button(m) for m in messages[:3])


async def test_too_big_or_wrong_files_are_refused_and_create_nothing(world: World) -> None:
    w = world
    big: MediaItem = {"kind": "document", "data": PDF * 10, "file_name": "to.pdf"}
    await send_files(w, [big], caption=CAPTION)
    await w.player.wait_text(ME, "quá lớn")
    exe: MediaItem = {"kind": "document", "data": b"MZ" + PDF, "file_name": "setup.exe"}
    await send_files(w, [exe], caption=CAPTION)
    await w.player.wait_text(ME, "chưa gửi được loại tệp này")
    pdf: MediaItem = {"kind": "document", "data": PDF, "file_name": "cong-van.pdf"}
    await send_files(w, [pdf])
    await w.player.wait_text(ME, "vài dòng nội dung")
    await w.player.say_private("/huy")  # drops the held file, cancels nothing else
    await w.player.wait_text(ME, "Đã bỏ các tệp anh/chị vừa gửi")
    assert await count(w, Notice) == 0
    assert await count(w, Attachment) == 0


async def test_a_file_while_composing_another_notice_is_not_taken(world: World) -> None:
    w = world
    await w.player.say_private(CAPTION)
    await review_of(w)
    await send_files(w, [{"kind": "photo", "data": PNG}])
    await w.player.wait_text(ME, "Loa chỉ nhận tệp khi anh/chị bắt đầu một thông báo mới")
    assert await count(w, Attachment) == 0
