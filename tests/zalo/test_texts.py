"""What the Zalo front reads (commands, acknowledging replies) and how a notice is
rendered for a transport without buttons: the reply line last, within 2,000 characters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.zalo.texts import is_unregister, register_code, without_mention
from broadcasts.delivery.claims import NoticeTexts
from broadcasts.models import NoticeStatus
from broadcasts.reply_acks import is_ack_reply
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES
from broadcasts.transports.zalo_wire import ZALO_CAPABILITIES

HINT = 'Trả lời 1 hoặc "đã nhận" để xác nhận.'


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DK ab12cd34", "AB12CD34"),
        ("dk AB12CD34", "AB12CD34"),
        ("Đăng ký AB12CD34", "AB12CD34"),
        ("dang ky  AB12CD34 ", "AB12CD34"),
        ("/dangky AB12CD34", "AB12CD34"),
        ("DK", ""),
        ("đăng ký", ""),
        ("DK AB12 CD34", None),  # two words: not a code
        ("cho tôi đăng ký AB12CD34", None),
        ("1", None),
    ],
)
def test_register_command(text: str, code: str | None) -> None:
    assert register_code(text) == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [("HUY DK", True), ("hủy đăng ký", True), ("Huỷ ĐK", True), ("huy", False), ("DK", False)],
)
def test_unregister_command(text: str, expected: bool) -> None:
    assert is_unregister(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", True),
        (" 1. ", True),
        ("Đã nhận", True),
        ("đã nhận!", True),
        ("da nhan", True),
        ("ĐÃ NHẬN 👍", True),
        ("OK", True),
        ("ok.", True),
        ("11", False),
        ("1 giờ họp ở đâu?", False),
        ("chưa nhận", False),
        ("", False),
    ],
)
def test_acknowledging_replies(text: str, expected: bool) -> None:
    assert is_ack_reply(text) is expected


def test_the_mention_is_taken_out() -> None:
    assert without_mention("@bot.loa   DK AB12CD34", "bot.loa") == "DK AB12CD34"


def _texts(body: str) -> NoticeTexts:
    return NoticeTexts(
        status=NoticeStatus.dispatching,
        texts={"vi": body},
        sender="Phường Bến Thành",
        sent_at=datetime(2026, 11, 28, 1, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize("length", [100, 1900, 1960, 1990, 2000, 2100, 4500])
def test_zalo_parts_end_with_the_reply_line_within_2000(length: int) -> None:
    sentence = "Bà con khu phố 1 lưu ý lịch cắt điện sáng thứ Bảy. "
    body = "Cắt điện\n\n" + (sentence * (length // len(sentence) + 1))[:length]
    rendered = _texts(body).parts_for("vi", ZALO_CAPABILITIES)
    assert rendered is not None
    parts, markup = rendered
    assert markup == "plain"
    assert all(len(p) <= ZALO_CAPABILITIES.max_text for p in parts), [len(p) for p in parts]
    assert parts[-1].endswith("\n\n" + HINT)
    assert sum(HINT in p for p in parts) == 1


def test_a_transport_with_buttons_gets_no_reply_line() -> None:
    rendered = _texts("Cắt điện\n\nBà con lưu ý.").parts_for("vi", TELEGRAM_CAPABILITIES)
    assert rendered is not None
    assert not any(HINT in p for p in rendered[0])
