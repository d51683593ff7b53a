"""The message a group receives, end to end: rendered as HTML by the engine, parsed by
the sandbox as strictly as Telegram parses it, and read back as a resident sees it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.delivery.split import text_length
from sandbox.telegram.client import SandboxClient
from tests.broadcasts.delivery.conftest import WorkerFactory, make_groups, new_token
from tests.broadcasts.delivery.world import seed

TITLE = 'Cảnh báo triều cường <cấp 2> & "nguy hiểm"'
BODY = "Các tuyến đường <Lê Lợi> & 'Hàm Nghi' có thể ngập sâu từ 20 đến 40 cm."
FACTS = "Thời gian: 17 giờ – 20 giờ, Chủ nhật\nLiên hệ: Tổ dân phố 3 & 4 <0283 829 1234>"
TEXT = f"{TITLE}\n\n{BODY}\n\n{FACTS}"
# 03:00 on Saturday 28/11/2026 in Ho Chi Minh City, still Friday in UTC.
DISPATCHED = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


async def _received(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    urgent: bool,
) -> tuple[str, dict[str, object]]:
    token = new_token()
    (chat,) = await make_groups(tg, token, 1)
    seeded = await seed(
        sessionmaker, groups={token: [chat]}, text=TEXT, urgent=urgent, dispatched_at=DISPATCHED
    )
    assert await make_worker().run_until_idle()
    (message,) = await tg.messages(token, chat)
    return seeded.ward_name, message


async def test_a_group_reads_the_ward_the_date_a_bold_title_and_its_text_intact(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ward, message = await _received(tg, make_worker, sessionmaker, urgent=True)
    assert message["parse_mode"] == "HTML"
    plain = message["plain_text"]
    assert isinstance(plain, str)
    lines = plain.split("\n")
    assert lines[0] == f"📢 {ward} · thứ Bảy, 28/11/2026"
    assert lines[1] == f"🚨 KHẨN: {TITLE}"
    assert BODY in plain  # <, & and both quotes arrive as written
    assert "🕒 Thời gian: 17 giờ – 20 giờ, Chủ nhật" in plain
    assert "📞 Liên hệ: Tổ dân phố 3 & 4 <0283 829 1234>" in plain
    entities = message["entities"]
    assert isinstance(entities, list)
    title_at = text_length(lines[0] + "\n")
    title_bold = {"type": "bold", "offset": title_at, "length": text_length(lines[1])}
    assert title_bold in entities
    assert {"type": "bold", "offset": text_length("📢 "), "length": text_length(ward)} in entities
    keyboard = message["reply_markup"]
    assert isinstance(keyboard, dict) and keyboard["inline_keyboard"][0][0]["text"] == "✅ Đã nhận"


async def test_a_routine_notice_has_no_urgent_marker(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ward, message = await _received(tg, make_worker, sessionmaker, urgent=False)
    plain = message["plain_text"]
    assert isinstance(plain, str)
    assert plain.split("\n")[:2] == [f"📢 {ward} · thứ Bảy, 28/11/2026", TITLE]
    assert "KHẨN" not in plain and "🚨" not in plain
