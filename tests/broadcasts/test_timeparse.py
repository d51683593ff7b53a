"""Times as officials type them, read with a fixed clock: Wednesday 25/11/2026, 10:00 in
Ho Chi Minh City."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcasts.errors import InvalidInput, PastTime, UnreadableTime
from broadcasts.timeparse import TZ, next_local_hour, parse_deadline, parse_local_time

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # a Wednesday


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        # Relative days and parts of the day.
        ("7h30 sáng mai", local(11, 26, 7, 30)),
        ("19:00 hôm nay", local(11, 25, 19)),
        ("8h tối nay", local(11, 25, 20)),
        ("2 giờ chiều", local(11, 25, 14)),
        ("14h chiều mai", local(11, 26, 14)),
        ("sáng mai 7h", local(11, 26, 7)),
        ("tối nay 19h", local(11, 25, 19)),
        ("7 giờ rưỡi tối mai", local(11, 26, 19, 30)),
        ("1 giờ trưa mai", local(11, 26, 13)),
        ("11 giờ đêm", local(11, 25, 23)),
        ("12 giờ đêm nay", local(11, 26, 0)),
        ("9h ngày mốt", local(11, 27, 9)),
        ("8h sáng", local(11, 26, 8)),  # 8:00 today has passed: tomorrow
        ("10:30", local(11, 25, 10, 30)),
        ("9:15:30", datetime(2026, 11, 25, 9, 15, 30, tzinfo=TZ) + timedelta(days=1)),
        ("7pm", local(11, 25, 19)),
        # Weekdays.
        ("thứ Hai tuần sau 9h", local(11, 30, 9)),
        ("thứ Tư tuần sau 8h", local(12, 2, 8)),
        ("9h thứ 6", local(11, 27, 9)),
        ("6g sáng chủ nhật", local(11, 29, 6)),
        ("T7 8h", local(11, 28, 8)),
        ("8h30 CN", local(11, 29, 8, 30)),
        ("thứ tư 15h", local(11, 25, 15)),  # today, still ahead
        ("thứ tư 9h", local(12, 2, 9)),  # today's has passed: next week's
        ("9h thu 6", local(11, 27, 9)),  # typed without diacritics
        ("thứ 5 tuần này lúc 7 giờ", local(11, 26, 7)),
        # Dates.
        ("7:30 5/12", local(12, 5, 7, 30)),
        ("5/12 lúc 7g30", local(12, 5, 7, 30)),
        ("07:30 28/11", local(11, 28, 7, 30)),
        ("28/11/2026 07:30", local(11, 28, 7, 30)),
        ("28/11/2026 7h30", local(11, 28, 7, 30)),
        ("ngày 5 tháng 12 lúc 8 giờ", local(12, 5, 8)),
        ("thứ Bảy 5/12 9h", local(12, 5, 9)),
        ("8h 05-12", local(12, 5, 8)),
        ("7h 5/1", local(1, 5, 7, year=2027)),  # January is ahead: next year
        ("7h 1/12/26", local(12, 1, 7)),
        ("  Vào lúc 7h30, ngày 05/12  ", local(12, 5, 7, 30)),
    ],
)
def test_typed_times(typed: str, meant: datetime) -> None:
    at = parse_local_time(typed, now=NOW)
    assert at.tzinfo is UTC
    assert at == meant.astimezone(UTC)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "mai",  # no time of day
        "hôm qua",
        "25:00",
        "14h sáng",
        "31/02 07:00",
        "7h30 32/12",
        "thứ Sáu 5/12 9h",  # 5/12/2026 is a Saturday
        "8h mai thứ 6",
        "8h 9h",
        "sau giờ làm",
        "7h30 sáng mai nhé anh",
        "tuần sau 9h",
    ],
)
def test_unreadable_times(typed: str) -> None:
    with pytest.raises(UnreadableTime) as caught:
        parse_local_time(typed, now=NOW)
    assert caught.value.reason == "unreadable"
    assert isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize(
    ("typed", "was"),
    [
        ("8h hôm nay", local(11, 25, 8)),
        ("9h59 hôm nay", local(11, 25, 9, 59)),
        ("8h hôm qua", local(11, 24, 8)),
        ("thứ 2 tuần này 8h", local(11, 23, 8)),
        ("07:00 01/01/2020", local(1, 1, 7, year=2020)),
        ("24/11/2026 19:00", local(11, 24, 19)),
    ],
)
def test_past_times(typed: str, was: datetime) -> None:
    with pytest.raises(PastTime) as caught:
        parse_local_time(typed, now=NOW)
    assert caught.value.reason == "past"
    assert caught.value.detail["at"] == was.astimezone(UTC)
    assert "next_year" not in caught.value.detail


def test_a_date_a_few_days_past_is_not_moved_to_next_year() -> None:
    with pytest.raises(PastTime) as caught:
        parse_local_time("20/11 8h", now=NOW)
    assert caught.value.detail["at"] == local(11, 20, 8).astimezone(UTC)
    assert caught.value.detail["next_year"] == local(11, 20, 8, year=2027).astimezone(UTC)
    # Earlier today counts too.
    with pytest.raises(PastTime):
        parse_local_time("7:30 25/11", now=NOW)
    # Long gone this year means next year.
    assert parse_local_time("8h 10/3", now=NOW) == local(3, 10, 8, year=2027).astimezone(UTC)


def test_the_clock_and_the_zone_are_injected() -> None:
    bangkok = ZoneInfo("Asia/Bangkok")  # same offset, another name
    assert parse_local_time("8h tối nay", now=NOW, tz=bangkok) == datetime(
        2026, 11, 25, 13, 0, tzinfo=UTC
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    assert parse_local_time("7h 5/12", now=NOW, tz=tokyo) == datetime(
        2026, 12, 4, 22, 0, tzinfo=UTC
    )
    # Without `now`, the current time: a time three days ahead is always in the future.
    soon = datetime.now(TZ) + timedelta(days=3)
    assert parse_local_time(f"{soon:%H:%M %d/%m/%Y}") > datetime.now(UTC)


START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Ho Chi Minh City


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("trong 2 giờ", 120),
        ("Trong 2 tiếng", 120),
        ("trong 30 phút", 30),
        ("hạn nhận trong 1 ngày", 1440),
        ("trước 17h", datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
        ("truoc 7h30 mai", datetime(2026, 12, 2, 0, 30, tzinfo=UTC)),
        ("đến 17h 5/12", datetime(2026, 12, 5, 10, 0, tzinfo=UTC)),
    ],
)
def test_typed_deadlines(typed: str, meant: int | datetime) -> None:
    assert parse_deadline(typed, start=START) == meant


@pytest.mark.parametrize("typed", ["sớm nhé", "trong 2 phút", "trong 9 ngày", "trước 17h 20/12"])
def test_unreadable_deadlines(typed: str) -> None:
    with pytest.raises(UnreadableTime):
        parse_deadline(typed, start=START)


def test_a_deadline_before_the_sending_time_is_past() -> None:
    # «trước 9h hôm nay» when the notice goes out at 10:00.
    with pytest.raises(PastTime):
        parse_deadline("trước 9h hôm nay", start=START)


def test_the_next_local_hour_is_at_least_an_hour_ahead() -> None:
    assert next_local_hour(START, 17) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    late = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 16:30 local: 17h is too close
    assert next_local_hour(late, 17) == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
