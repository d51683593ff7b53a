"""The message a group receives: sender and date first, a bold title, «🚨 KHẨN» when urgent,
the body, the key facts; HTML with every user text escaped; within the transport's limit."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest

from broadcasts.ai.offline import summarise
from broadcasts.delivery.split import text_length
from broadcasts.message import render_group_message
from tests.broadcasts.ai.helpers import sample

SENT = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 08:00 on Friday 27/11 in Ho Chi Minh City


def visible(message: str) -> str:
    """What a reader sees once Telegram has parsed the HTML."""
    return html.unescape(re.sub(r"</?b>", "", message))


def render(text: str, **kwargs: object) -> list[str]:
    values: dict[str, object] = {
        "text": text,
        "sender": "Phường Bến Thành",
        "sent_at": SENT,
        "urgent": False,
        "limit": 4096,
    }
    values.update(kwargs)
    return render_group_message(**values)  # type: ignore[arg-type]


def test_the_layout_of_a_notice() -> None:
    text = summarise(sample("01-cat-dien.txt")).text
    (message,) = render(text)
    lines = message.split("\n")
    assert lines[0] == "📢 <b>Phường Bến Thành</b> · thứ Sáu, 27/11/2026"
    assert lines[1] == "<b>Tạm ngừng cung cấp điện để bảo trì lưới điện</b>"
    assert lines[2] == ""
    assert lines[3].startswith("Đề nghị các hộ gia đình")
    assert "🕒 <b>Thời gian:</b> 7 giờ 30 – 16 giờ, thứ Bảy, ngày 28/11/2026" in lines
    assert "📞 <b>Liên hệ:</b> Tổng đài chăm sóc khách hàng 1900 545454 (phục vụ 24/7)" in lines
    assert lines[-4] == ""  # a blank line between the body and the key facts
    assert "KHẨN" not in message


def test_an_urgent_notice_says_so_once() -> None:
    text = summarise(sample("07-trieu-cuong.txt")).text
    assert text.startswith("Khẩn: Cảnh báo triều cường")
    (message,) = render(text, urgent=True)
    assert message.split("\n")[1] == "<b>🚨 KHẨN: Cảnh báo triều cường</b>"
    assert message.count("KHẨN") == 1 and "Khẩn:" not in message
    (plain,) = render("Cúp nước toàn phường từ 14 giờ hôm nay.", urgent=True, markup="plain")
    assert plain.split("\n")[1] == "🚨 KHẨN: Cúp nước toàn phường từ 14 giờ hôm nay."
    (english,) = render(
        summarise(sample("11-fire-drill-english.txt")).text, urgent=True, locale="en"
    )
    assert "🚨 URGENT: Fire safety drill" in english
    assert "Saturday" not in english.split("\n")[0]  # the sending date, not the event's
    assert english.split("\n")[0] == "📢 <b>Phường Bến Thành</b> · Friday, November 27, 2026"


def test_user_text_is_escaped() -> None:
    text = "Họp <khẩn> & bàn <b>việc</b>\n\nMang theo <giấy tờ> & bút.\n\nĐịa điểm: Số 5 <Lê Lai>"
    (message,) = render(text, sender="Phường <A&B>")
    assert "<khẩn>" not in message and "<giấy tờ>" not in message and "<A&B>" not in message
    # Bold: the sender, the title, one label; nothing the official typed.
    assert re.findall(r"</?[a-z]+>", message) == ["<b>", "</b>"] * 3
    shown = visible(message)
    assert "Phường <A&B>" in shown and "Họp <khẩn> & bàn <b>việc</b>" in shown
    assert "📍 Địa điểm: Số 5 <Lê Lai>" in shown


def test_a_text_without_structure_is_sent_as_written() -> None:
    (message,) = render("Tối nay 19 giờ họp tổ tại nhà anh Tư.", sent_at=date(2026, 11, 27))
    assert message == (
        "📢 <b>Phường Bến Thành</b> · thứ Sáu, 27/11/2026\n"
        "<b>Tối nay 19 giờ họp tổ tại nhà anh Tư.</b>"
    )
    long = "Dòng một của thông báo. " * 10 + "\nDòng hai: không phải nhãn nào cả."
    (message,) = render(long)
    assert "<b>Dòng một" not in message and visible(message).endswith("không phải nhãn nào cả.")


@pytest.mark.parametrize("limit", [4096, 2000, 600])
def test_within_the_transports_limit(limit: int) -> None:
    body = " ".join(f"Câu thứ {i} của thông báo, có dấu & ký hiệu <đặc biệt>." for i in range(300))
    text = f"Tiêu đề\n\n{body}\n\nThời gian: 7 giờ 30, ngày 28/11/2026\nLiên hệ: 028 3820 1234"
    parts = render(text, limit=limit)
    assert len(parts) > 1
    assert all(text_length(visible(p)) <= limit for p in parts)
    assert all(p.count("<b>") == p.count("</b>") for p in parts)  # markup never cut in two
    assert parts[0].startswith("📢 <b>Phường Bến Thành</b>") and "<b>Tiêu đề</b>" in parts[0]
    assert "🕒 <b>Thời gian:</b>" in parts[-1] and "Thời gian" not in "".join(parts[:-1])
    shown = " ".join(visible(p) for p in parts)
    assert all(f"Câu thứ {i} " in shown for i in range(300))  # nothing is lost


def test_emoji_count_twice_against_the_limit() -> None:
    body = "🚨" * 1000
    parts = render(f"T\n\n{body}", limit=1200)
    assert all(text_length(visible(p)) <= 1200 for p in parts)
    assert sum(visible(p).count("🚨") for p in parts) == 1000


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        render("T", sent_at=datetime(2026, 11, 27, 8, 0))


@pytest.mark.parametrize(
    "name", ["01-cat-dien.txt", "05-hop-dan.txt", "09-cong-van-chinh-trang.txt"]
)
def test_samples_fit_one_phone_screen_message(name: str) -> None:
    (message,) = render(summarise(sample(name)).text)
    assert text_length(visible(message)) < 700
