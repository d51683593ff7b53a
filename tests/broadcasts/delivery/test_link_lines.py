"""The delivery's own lines (`files.plan` with `DeliveryLinks`): the acknowledgement link
ends the last part on Telegram (under the text, above the button) and on Zalo (after the
reply line), the parts stay within 4,096 / 2,000 as each platform counts, and on Zalo
files go as download links and photos by their link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadcasts.delivery.claims import FileInfo, NoticeTexts
from broadcasts.delivery.files import DeliveryLinks, plan
from broadcasts.delivery.split import text_length
from broadcasts.links import LinkMaker
from broadcasts.message import visible_length
from broadcasts.models import NoticeStatus
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES
from broadcasts.transports.zalo_wire import ZALO_CAPABILITIES

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
HINT = 'Trả lời 1 hoặc "đã nhận" để xác nhận.'
SENTENCE = "Bà con khu phố 1 chú ý lịch cắt điện để bảo trì lưới điện vào sáng thứ Bảy 🔌. "
MAKER = LinkMaker(
    public_url="https://loa.phuong-ben-thanh.example.vn/phuong",
    lifetime=timedelta(days=7),
    clock=lambda: NOW,
)
PDF = FileInfo(7, "document", "cong-van số 12.pdf", "application/pdf", "ab/cd.pdf")
PHOTO = FileInfo(8, "photo", "so-do.jpg", "image/jpeg", "ef/01.jpg")


def _notice(text: str, files: tuple[FileInfo, ...] = ()) -> NoticeTexts:
    return NoticeTexts(
        status=NoticeStatus.dispatching,
        texts={"vi": text},
        sender="Phường Bến Thành",
        sent_at=NOW,
        files=files,
    )


def _links(delivery_id: int, files: tuple[FileInfo, ...] = ()) -> DeliveryLinks:
    return DeliveryLinks(
        ack_url=MAKER.ack_url(delivery_id),
        file_urls={f.attachment_id: MAKER.file_url(delivery_id, f.attachment_id) for f in files},
    )


def test_telegram_the_link_ends_the_last_part_within_4096() -> None:
    for repeat in (1, 49, 50, 51, 52, 120):  # around the edge of one message, and past it
        notice = _notice("Cắt điện\n\n" + SENTENCE * repeat)
        planned = plan(notice, "vi", TELEGRAM_CAPABILITIES, _links(41))
        assert planned is not None
        steps, markup = planned
        assert markup == "html"
        assert all(visible_length(s.text, "html") <= 4096 for s in steps), repeat
        assert [s.ack for s in steps] == [False] * (len(steps) - 1) + [True]
        link = MAKER.ack_url(41)
        assert steps[-1].text.endswith(f"Hoặc bấm: {link}"), repeat
        assert not any(link in s.text for s in steps[:-1])


def test_zalo_the_link_follows_the_reply_line_within_2000() -> None:
    for repeat in (1, 20, 21, 22, 23, 60):
        notice = _notice("Cắt điện\n\n" + SENTENCE * repeat)
        planned = plan(notice, "vi", ZALO_CAPABILITIES, _links(42))
        assert planned is not None
        steps, markup = planned
        assert markup == "plain"
        assert all(len(s.text) <= 2000 for s in steps), repeat
        assert steps[-1].text.endswith(f"{HINT}\n\nHoặc bấm: {MAKER.ack_url(42)}"), repeat
        body = "".join(s.text for s in steps)
        assert body.count("lưới điện") == repeat  # nothing lost to the reserved room


def test_the_rendering_is_shared_and_only_the_link_differs() -> None:
    """One notice renders once for thousands of deliveries; each gets its own link."""
    notice = _notice("Cắt điện\n\n" + SENTENCE * 30)
    first = plan(notice, "vi", ZALO_CAPABILITIES, _links(1))
    second = plan(notice, "vi", ZALO_CAPABILITIES, _links(2))
    assert first is not None and second is not None
    a, b = first[0], second[0]
    assert [s.text for s in a[:-1]] == [s.text for s in b[:-1]]
    assert a[-1].text.replace(MAKER.ack_url(1), MAKER.ack_url(2)) == b[-1].text


def test_without_links_nothing_is_added() -> None:
    notice = _notice("Cắt điện\n\n" + SENTENCE)
    planned = plan(notice, "vi", ZALO_CAPABILITIES, None)
    assert planned is not None
    assert planned[0][-1].text.endswith(HINT)
    assert "http" not in planned[0][-1].text


def test_zalo_files_go_as_download_links_and_photos_by_their_link() -> None:
    files = (PHOTO, PDF)
    notice = _notice("Cắt điện\n\n" + SENTENCE * 22, files)
    planned = plan(notice, "vi", ZALO_CAPABILITIES, _links(43, files))
    assert planned is not None
    steps, _ = planned
    photo = steps[0]
    assert photo.files == (PHOTO,) and photo.urls == (MAKER.file_url(43, 8),) and not photo.ack
    assert all(len(s.text) <= 2000 for s in steps)
    last = steps[-1].text
    assert f"📎 cong-van số 12.pdf: {MAKER.file_url(43, 7)}" in last
    assert last.endswith(f"Hoặc bấm: {MAKER.ack_url(43)}") and HINT in last
    assert "so-do.jpg" not in "".join(s.text for s in steps)  # the photo itself went


def test_telegram_one_file_caption_keeps_room_for_the_link() -> None:
    notice = _notice("Cắt điện\n\n" + SENTENCE * 9, (PDF,))  # about 800 characters
    planned = plan(notice, "vi", TELEGRAM_CAPABILITIES, _links(44))
    assert planned is not None
    steps, _ = planned
    assert len(steps) == 1 and steps[0].files == (PDF,) and steps[0].ack
    assert visible_length(steps[0].text, "html") <= 1024
    assert steps[0].text.endswith(f"Hoặc bấm: {MAKER.ack_url(44)}")
    assert text_length(MAKER.ack_url(44)) == MAKER.url_length
