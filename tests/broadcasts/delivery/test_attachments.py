"""Notices with files, end to end over the strict sandbox with the real aiogram client:
a photo with the message as caption, an album then the text, a caption too long, file ids
reused by the bot that has one and uploaded again by another, and a transport without
files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.attachments import store_file
from broadcasts.db import session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.delivery.claims import FileInfo, NoticeTexts
from broadcasts.delivery.files import plan
from broadcasts.models import Attachment, AttachmentFile
from broadcasts.settings import AttachmentSettings
from broadcasts.transports.base import TransportCapabilities
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES, parse_ack_data
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.broadcasts.delivery.conftest import make_groups, make_settings, new_token, sqlite_only
from tests.broadcasts.delivery.world import Seeded, add_deliveries, seed

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
PDF = b"%PDF-1.4\n" + b"0" * 300


@pytest.fixture
def store(tmp_path: Path) -> AttachmentSettings:
    return AttachmentSettings(dir=tmp_path / "files")


def worker_for(
    database_url: str,
    sandbox: SandboxServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: AttachmentSettings,
) -> DeliveryWorker:
    settings = make_settings(database_url, sandbox.url)
    settings.attachments = store
    return DeliveryWorker(sessionmaker=sessionmaker, settings=settings)


async def attach(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: AttachmentSettings,
    notice_id: int,
    files: list[tuple[str, str, bytes]],
) -> list[int]:
    ids = []
    async with session_scope(sessionmaker) as session:
        for position, (kind, name, data) in enumerate(files):
            digest, key = store_file(store, data)
            row = Attachment(
                notice_id=notice_id,
                position=position,
                kind=kind,
                file_name=name,
                mime_type="image/png" if kind == "photo" else "application/pdf",
                size=len(data),
                sha256=digest,
                storage_key=key,
            )
            session.add(row)
            await session.flush()
            ids.append(row.id or 0)
    return ids


def ack_of(message: dict[str, object]) -> int | None:
    markup = message.get("reply_markup")
    if not isinstance(markup, dict):
        return None
    return parse_ack_data(markup["inline_keyboard"][0][0]["callback_data"])


@sqlite_only
async def test_a_photo_carries_the_message_and_the_button(
    tg: SandboxClient,
    sandbox: SandboxServer,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: AttachmentSettings,
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 3)
    seeded = await seed(sessionmaker, groups={token: chats})
    await attach(sessionmaker, store, seeded.notice_id, [("photo", "cong-van.png", PNG)])
    assert await worker_for(database_url, sandbox, sessionmaker, store).run_until_idle()
    for chat in chats:
        (message,) = await tg.messages(token, chat)
        assert message["media"] == "photo"
        assert "Thông báo: cúp điện" in message["plain_text"]  # the caption
        assert ack_of(message) in seeded.deliveries


@sqlite_only
async def test_an_album_goes_first_then_the_text_with_the_button(
    tg: SandboxClient,
    sandbox: SandboxServer,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: AttachmentSettings,
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 2)
    seeded = await seed(sessionmaker, groups={token: chats})
    photos = [("photo", f"anh-{i}.png", PNG + bytes([i])) for i in range(3)]
    await attach(sessionmaker, store, seeded.notice_id, photos)
    assert await worker_for(database_url, sandbox, sessionmaker, store).run_until_idle()
    for chat in chats:
        messages = await tg.messages(token, chat)
        assert [m["media"] for m in messages] == ["photo", "photo", "photo", None]
        assert len({m["media_group_id"] for m in messages[:3]}) == 1
        assert messages[0]["media_group_id"] is not None
        assert all(ack_of(m) is None for m in messages[:3])
        assert ack_of(messages[3]) in seeded.deliveries
        assert "Thông báo: cúp điện" in messages[3]["plain_text"]


@sqlite_only
async def test_a_caption_too_long_sends_the_file_then_the_text(
    tg: SandboxClient,
    sandbox: SandboxServer,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: AttachmentSettings,
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 1)
    long_text = "Thông báo: cúp điện. " + " ".join(["Bà con lưu ý giữ an toàn."] * 60)
    seeded = await seed(sessionmaker, groups={token: chats}, text=long_text)
    await attach(sessionmaker, store, seeded.notice_id, [("document", "cong-van.pdf", PDF)])
    assert await worker_for(database_url, sandbox, sessionmaker, store).run_until_idle()
    messages = await tg.messages(token, chats[0])
    assert [m["media"] for m in messages] == ["document", None]
    assert messages[0]["plain_text"] == ""  # no caption
    assert messages[0]["file"]["file_name"] == "cong-van.pdf"
    assert ack_of(messages[0]) is None and ack_of(messages[1]) in seeded.deliveries


@sqlite_only
async def test_file_ids_are_reused_by_their_bot_and_uploaded_again_by_another(
    tg: SandboxClient,
    sandbox: SandboxServer,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: AttachmentSettings,
) -> None:
    first, second = new_token(), new_token()
    a_chats = await make_groups(tg, first, 3)
    b_chats = await make_groups(tg, second, 1)
    seeded: Seeded = await seed(sessionmaker, groups={first: a_chats[:1]})
    (attachment_id,) = await attach(
        sessionmaker, store, seeded.notice_id, [("photo", "anh.png", PNG)]
    )
    assert await worker_for(database_url, sandbox, sessionmaker, store).run_until_idle()
    uploaded = sandbox.world.files.by_id
    assert [r.owner for r in uploaded.values()] == [first]
    (first_id,) = uploaded

    # The same notice to more groups of the first bot and to a group of another bot.
    more = await seed(sessionmaker, groups={first: a_chats[1:], second: b_chats})
    await add_deliveries(
        sessionmaker,
        notice_id=seeded.notice_id,
        channel_ids=list(more.channels),
        accounts={cid: more.accounts[t] for cid, (t, _) in more.channels.items()},
    )
    assert await worker_for(database_url, sandbox, sessionmaker, store).run_until_idle()
    for chat in a_chats:
        (photo,) = [m for m in await tg.messages(first, chat) if m["media"] == "photo"]
        assert photo["file"]["file_id"] == first_id
    owners = sorted(r.owner for r in uploaded.values())
    assert owners == sorted([first, second])  # one upload per bot, none again
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(col(AttachmentFile.bot_id), col(AttachmentFile.file_ref)).where(
                    col(AttachmentFile.attachment_id) == attachment_id
                )
            )
        ).all()
    assert {bot for bot, _ in rows} == {seeded.accounts[first], more.accounts[second]}
    assert (seeded.accounts[first], first_id) in [tuple(r) for r in rows]


def test_a_transport_without_files_names_them_under_the_text() -> None:
    notice = NoticeTexts(
        status="dispatching",  # type: ignore[arg-type]
        texts={"vi": "Thông báo: họp tổ dân phố lúc 19 giờ."},
        sender="Phường 1",
        files=(
            FileInfo(1, "photo", "a.png", "image/png", "k1"),
            FileInfo(2, "document", "cong-van.pdf", "application/pdf", "k2"),
        ),
    )
    caps = TransportCapabilities(
        max_text=2000, max_caption=0, can_edit=False, can_delete=False, has_buttons=False
    )
    planned = plan(notice, "vi", caps)
    assert planned is not None
    steps, _ = planned
    assert len(steps) == 1 and not steps[0].files and steps[0].ack
    assert steps[0].text.endswith("📎 Kèm theo: 1 ảnh, cong-van.pdf")
    with_files = plan(notice, "vi", TELEGRAM_CAPABILITIES)
    assert with_files is not None
    assert [len(s.files) for s in with_files[0]] == [1, 1, 0]  # photo, document, text


@sqlite_only
async def test_a_retry_resumes_after_the_album_and_sends_no_file_twice(
    tg: SandboxClient,
    sandbox: SandboxServer,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: AttachmentSettings,
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 1)
    seeded = await seed(sessionmaker, groups={token: chats})
    photos = [("photo", f"anh-{i}.png", PNG + bytes([i])) for i in range(2)]
    await attach(sessionmaker, store, seeded.notice_id, photos)
    # The album goes through; the text after it meets a server error once.
    await tg.add_fault("5xx", token=token, method="sendMessage", times=1)
    assert await worker_for(database_url, sandbox, sessionmaker, store).run_until_idle()
    messages = await tg.messages(token, chats[0])
    assert [m["media"] for m in messages] == ["photo", "photo", None]
    assert ack_of(messages[2]) in seeded.deliveries
    assert len(sandbox.world.files.by_id) == 2  # each photo uploaded once
    errors = (await tg.stats(token))["errors_by_code"]
    assert sum(n for code, n in errors.items() if int(code) >= 500) == 1  # the fault fired
