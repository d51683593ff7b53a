"""Formatting: local time, dates, key-fact lines per locale (Vietnamese as notices write
them, others with Babel), a text cut to a limit."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from broadcasts.ai import check_facts
from broadcasts.ai.formatting import (
    compose_text,
    format_date,
    format_datetime_local,
    format_when,
    labels,
    localized_facts,
    parse_when,
)
from tests.broadcasts.ai.helpers import sample


def plain(text: str) -> str:
    """Babel's thin and narrow no-break spaces as plain spaces."""
    return text.replace("\u2009", " ").replace("\u202f", " ")


def test_datetime_is_shown_in_ho_chi_minh_time() -> None:
    at = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # 07:30 in Ho Chi Minh City
    assert format_datetime_local(at, "vi") == "07:30:00 28 thg 11, 2026"
    assert plain(format_datetime_local(at, "en")) == "Nov 28, 2026, 7:30:00 AM"
    assert "07:30" in format_datetime_local(at, "zh")
    with pytest.raises(ValueError):
        format_datetime_local(datetime(2026, 11, 28, 0, 30), "vi")


def test_dates_per_locale() -> None:
    d = date(2026, 11, 28)
    assert format_date(d, "vi") == "Thứ Bảy, 28 tháng 11, 2026"
    assert format_date(d, "en") == "Saturday, November 28, 2026"
    assert format_date(d, "zh") == "2026年11月28日星期六"
    assert format_date(d, "xx-unknown") == "Saturday, November 28, 2026"


def test_labels_per_locale_with_english_fallback() -> None:
    assert labels("vi")["when"] == "Thời gian"
    assert labels("vi")["action"] == "Việc cần làm"
    assert labels("en")["action"] == "What to do"
    assert labels("zh")["contact"] == "联系方式"
    assert labels("km")["where"] == "ទីកន្លែង"
    assert labels("fr") == labels("en")


def test_when_lines_per_locale() -> None:
    when = parse_when("Từ 07 giờ 30 đến 16 giờ 00, ngày 28/11/2026, thứ Bảy")
    assert when is not None
    assert format_when(when, "vi") == "7 giờ 30 – 16 giờ, thứ Bảy, ngày 28/11/2026"
    assert plain(format_when(when, "en")) == "Saturday, November 28, 2026, 7:30 AM – 4:00 PM"
    assert format_when(when, "zh") == "2026年11月28日星期六，07:30–16:00"
    weekly = parse_when("Tối thứ Năm hằng tuần, từ 18 giờ đến 21 giờ, bắt đầu từ ngày 03/12/2026")
    assert weekly is not None and weekly.weekly
    assert plain(format_when(weekly, "en")) == (
        "Every Thursday, 6:00 – 9:00 PM, from December 3, 2026"
    )
    assert format_when(weekly, "vi") == "Thứ Năm hằng tuần, 18 giờ – 21 giờ, từ ngày 03/12/2026"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Chủ nhật, ngày 06/12/2026", "Chủ nhật, ngày 06/12/2026"),
        ("từ ngày 3/12/2026", "Từ ngày 03/12/2026"),
        ("19 giờ 30, thứ Tư ngày 02/12/2026", "19 giờ 30, thứ Tư, ngày 02/12/2026"),
        ("7 giờ 00 sáng ngày 5/12", "7 giờ, ngày 05/12"),
        ("2 giờ chiều", "14 giờ"),
        # The notice says Saturday, the date is a Sunday: no weekday from us.
        ("7 giờ 00 sáng thứ Bảy, ngày 29/11/2026", "7 giờ, ngày 29/11/2026"),
    ],
)
def test_vietnamese_when_reads_like_a_notice(text: str, shown: str) -> None:
    when = parse_when(text)
    assert when is not None
    assert format_when(when, "vi") == shown


@pytest.mark.parametrize("locale", ["vi", "en", "zh", "km", "fr"])
def test_localized_fact_lines_pass_the_fact_guard(locale: str) -> None:
    source = sample("01-cat-dien.txt")
    facts = {
        "when": "Từ 07 giờ 30 đến 16 giờ 00, ngày 28/11/2026",
        "contact": "Tổng đài chăm sóc khách hàng 1900 545454",
    }
    shown = localized_facts(facts, locale)
    assert shown["contact"] == "1900 545454"
    assert "28" in shown["when"]
    assert check_facts(source, "\n".join(shown.values()), locale) == []


def test_compose_text_fits_a_limit() -> None:
    lines = ["Thời gian: 07:30", "Liên hệ: 028 3820 1234"]
    text = compose_text("Tiêu đề", "Nội dung. " * 1000, lines, limit=4096)
    assert len(text) <= 4096
    assert text.startswith("Tiêu đề\n\n") and text.endswith("Liên hệ: 028 3820 1234")
    assert compose_text("T", "B", lines) == "T\n\nB\n\nThời gian: 07:30\nLiên hệ: 028 3820 1234"
