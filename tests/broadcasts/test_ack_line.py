"""What the acknowledged group message shows: the message as delivered, then who pressed
Đã nhận first (local time) and how many more, within the platform's limit."""

from __future__ import annotations

from datetime import UTC, datetime

from broadcasts.delivery.split import text_length
from broadcasts.message import acknowledged_text, render_group_message, visible_length
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES

LIMIT = TELEGRAM_CAPABILITIES.max_text
AT = datetime(2026, 12, 1, 1, 14, tzinfo=UTC)  # 08:14 in Ho Chi Minh City


def _part(text: str = "Cúp điện\n\nSáng thứ Bảy cúp điện <khu A & B>.") -> str:
    parts = render_group_message(
        text=text, sender="Phường Bến Thành", sent_at=AT, urgent=False, limit=LIMIT
    )
    return parts[-1]


def test_the_first_presser_and_the_local_time() -> None:
    part = _part()
    shown = acknowledged_text(
        part, first_name="Ông Chín", first_at=AT, others=0, locale="vi", limit=LIMIT
    )
    assert shown == part + "\n\n✅ Đã nhận: Ông Chín (08:14)"


def test_a_naive_time_is_utc_and_others_are_counted() -> None:
    shown = acknowledged_text(
        _part(),
        first_name="Ông Chín",
        first_at=AT.replace(tzinfo=None),
        others=2,
        locale="vi",
        limit=LIMIT,
    )
    assert shown.endswith("\n\n✅ Đã nhận: Ông Chín (08:14) và 2 người khác")


def test_english_plurals() -> None:
    one = acknowledged_text(
        _part(), first_name="Lan", first_at=AT, others=1, locale="en", limit=LIMIT
    )
    two = acknowledged_text(
        _part(), first_name="Lan", first_at=AT, others=2, locale="en", limit=LIMIT
    )
    assert one.endswith("✅ Received: Lan (08:14) and 1 other")
    assert two.endswith("✅ Received: Lan (08:14) and 2 others")


def test_the_name_is_escaped() -> None:
    shown = acknowledged_text(
        _part(), first_name="<b>Tí</b> & Tèo", first_at=AT, others=0, locale="vi", limit=LIMIT
    )
    assert shown.endswith("✅ Đã nhận: &lt;b&gt;Tí&lt;/b&gt; &amp; Tèo (08:14)")


def test_it_stays_within_the_limit() -> None:
    long_part = _part("Tiêu đề\n\n" + "Đề nghị bà con chấp hành. " * 400)
    assert visible_length(long_part) <= LIMIT
    name = "Nguyễn Văn Chín " * 300  # longer than a whole message
    shown = acknowledged_text(
        long_part, first_name=name, first_at=AT, others=3, locale="vi", limit=LIMIT
    )
    assert visible_length(shown) <= LIMIT
    assert shown.startswith(long_part) and shown.endswith("… (08:14) và 3 người khác")
    # no room at all: the part as delivered, never over the limit
    tight = acknowledged_text(
        long_part,
        first_name="Chín",
        first_at=AT,
        others=0,
        locale="vi",
        limit=visible_length(long_part) + 5,
    )
    assert tight == long_part


def test_a_shortened_name_keeps_the_time_and_count() -> None:
    part = _part()
    limit = visible_length(part) + 2 + text_length("✅ Đã nhận:  (08:14) và 3 người khác") + 6
    shown = acknowledged_text(
        part, first_name="Nguyễn Văn Chín", first_at=AT, others=3, locale="vi", limit=limit
    )
    assert shown == part + "\n\n✅ Đã nhận: Nguyễ… (08:14) và 3 người khác"
    assert visible_length(shown) == limit
