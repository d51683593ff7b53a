"""Reading a time as an official types it, in Ho Chi Minh City time, into an aware UTC
datetime: «7h30 sáng mai», «19:00 hôm nay», «8h tối nay», «2 giờ chiều», «thứ Hai tuần
sau 9h», «9h thứ 6», «T7 8h», «7:30 5/12», «5/12 lúc 7g30», «28/11/2026 07:30» — with or
without diacritics.

The text is read as pieces — a clock time (with «sáng / trưa / chiều / tối / đêm»), and
at most one day: a date, a weekday (this week or «tuần sau»), or «hôm nay / mai / mốt» —
joined by words such as «lúc», «vào», «ngày». Anything else makes it unreadable.

- A time without a day means its next occurrence (today, or else tomorrow).
- A date without a year means the nearest one ahead; but a date a few days past
  (`PAST_GRACE_DAYS`) is reported as past, never silently moved to next year.
- A weekday means the next one (today if the time is still ahead).

Failures are `UnreadableTime` or `PastTime` (both `InvalidInput`; `reason` says which).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from broadcasts.errors import PastTime, UnreadableTime
from broadcasts.settings import DEFAULT_TIMEZONE

TZ = ZoneInfo(DEFAULT_TIMEZONE)
PAST_GRACE_DAYS = 30

_WEEKDAYS = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5}
_DATE = re.compile(
    r"(?<![\d:])(?P<d>\d{1,2})\s*[/.-]\s*(?P<mo>\d{1,2})(?:\s*[/.-]\s*(?P<y>\d{4}|\d{2}))?(?![\d:])|"
    r"(?<!\d)(?P<d2>\d{1,2})\s+thang\s+(?P<mo2>\d{1,2})(?:\s+nam\s+(?P<y2>\d{4}))?(?!\d)"
)
_WEEK = re.compile(r"\btuan\s+(?P<which>sau|toi|nay)\b")
_WEEKDAY = re.compile(
    r"\b(?:thu\s+(?P<name>hai|ba|tu|nam|sau|bay|[2-7])|t(?P<short>[2-7])|(?P<sun>chu\s+nhat|cn))\b"
)
_DAY = re.compile(r"\b(?P<word>hom\s+nay|hom\s+qua|ngay\s+mai|ngay\s+mot|ngay\s+kia|mai|mot|nay)\b")
_CLOCK = re.compile(
    r"(?<![\d/.-])(?P<h>\d{1,2})\s*(?:(?::|gio|h|g)\s*(?P<m>\d{1,2})?(?::(?P<s>\d{2}))?"
    r"(?:\s*(?:phut|p))?(?P<half>\s*ruoi)?|\s*(?P<ampm>am|pm))(?![\d/])"
)
_PART = re.compile(r"\b(?P<part>sang|trua|chieu|toi|dem)\b")
_GLUE = re.compile(r"\b(?:luc|vao|ngay|hom|gio|khoang|tu)\b|[,;()\-–.]")


@dataclass(slots=True)
class _Pieces:
    clock: tuple[int, int, int] | None = None
    part: str | None = None
    ampm: str | None = None
    date: tuple[int, int, int | None] | None = None
    weekday: int | None = None
    week: str | None = None
    day_offset: int | None = None


def _plain(text: str) -> str:
    """Lower case, without diacritics: «Thứ Sáu» and «thu sau» read the same."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "d").replace("đ", "d")).lower()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def fold(text: str) -> str:
    """`text` as the readers here see it: lower case, no diacritics, spaced at both ends."""
    return _plain(text)


@dataclass(frozen=True, slots=True)
class WallTime:
    at: time
    weekday: int | None = None  # 0 Monday … 6 Sunday


def wall_time(text: str) -> WallTime:
    """A clock time and at most a weekday, with no day: what a repeat says («thứ Năm 18h»).
    Anything else (a date, «mai», «tuần sau») is `UnreadableTime`."""
    p = _pieces(_plain(text))
    if p.date is not None or p.day_offset is not None or p.week is not None:
        raise UnreadableTime("a repeat names no single day")
    at, carry = _clock(p)
    if carry:
        raise UnreadableTime("a repeat at midnight")
    return WallTime(at=at, weekday=p.weekday)


def _take(pattern: re.Pattern[str], text: str) -> tuple[re.Match[str] | None, str]:
    found = list(pattern.finditer(text))
    if len(found) > 1:
        raise UnreadableTime("more than one of a kind")
    if not found:
        return None, text
    m = found[0]
    return m, text[: m.start()] + " " + text[m.end() :]


def _pieces(text: str) -> _Pieces:
    p = _Pieces()
    m, text = _take(_DATE, text)
    if m:
        year = m["y"] or m["y2"]
        y = int(year) + (2000 if year and len(year) == 2 else 0) if year else None
        p.date = (int(m["d"] or m["d2"]), int(m["mo"] or m["mo2"]), y)
    m, text = _take(_WEEK, text)
    p.week = m["which"] if m else None
    m, text = _take(_WEEKDAY, text)
    if m:
        name = m["name"] or m["short"]
        if m["sun"]:
            p.weekday = 6
        elif name in _WEEKDAYS:
            p.weekday = _WEEKDAYS[name]
        else:
            p.weekday = int(name) - 2  # «thứ 2» is Monday
    m, text = _take(_CLOCK, text)
    if m:
        minute = 30 if m["half"] else int(m["m"] or 0)
        p.clock = (int(m["h"]), minute, int(m["s"] or 0))
        p.ampm = m["ampm"]
    m, text = _take(_PART, text)
    p.part = m["part"] if m else None
    m, text = _take(_DAY, text)
    if m:
        word = m["word"]
        p.day_offset = {"nay": 0, "qua": -1, "mai": 1, "mot": 2, "kia": 2}[word.split()[-1]]
    if _GLUE.sub(" ", text).strip():
        raise UnreadableTime(f"cannot read {text.strip()!r}")
    return p


def _clock(p: _Pieces) -> tuple[time, int]:
    """The wall-clock time, and a day carried over («12 giờ đêm» is the next midnight)."""
    if p.clock is None:
        raise UnreadableTime("no time of day")
    hour, minute, second = p.clock
    if p.ampm == "pm" and hour < 12:
        hour += 12
    elif p.ampm == "am" and hour == 12:
        hour = 0
    carry = 0
    if p.part in ("chieu", "toi") and hour < 12:
        hour += 12
    elif p.part == "trua" and hour < 5:
        hour += 12
    elif p.part == "dem":
        if hour == 12:
            hour, carry = 0, 1
        elif 6 <= hour < 12:
            hour += 12
    elif p.part == "sang" and hour > 12:
        raise UnreadableTime("a morning hour after noon")
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
        raise UnreadableTime("not a time of day")
    return time(hour, minute, second), carry


def _on(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def parse_local_time(
    text: str,
    *,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> datetime:
    """The moment an official means by `text`, as an aware UTC datetime in the future.

    Raises `UnreadableTime` when the text cannot be read, `PastTime` when it names a
    moment already gone (`detail["at"]`; and `detail["next_year"]` for a date typed
    without its year). The zone is `tz`, or else the name `timezone` (`Settings.timezone`)."""
    tz = tz or ZoneInfo(timezone)
    now = (now or datetime.now(UTC)).astimezone(tz)
    p = _pieces(_plain(text))
    at, carry = _clock(p)
    today = now.date()
    if p.day_offset is not None and (p.date is not None or p.weekday is not None):
        raise UnreadableTime("two different days")
    if p.week and p.weekday is None:
        raise UnreadableTime("a week without a weekday")
    next_year: datetime | None = None
    if p.date is not None:
        d, mo, y = p.date
        try:
            when = _on(date(y or today.year, mo, d) + timedelta(days=carry), at, tz)
        except ValueError as exc:
            raise UnreadableTime(f"not a real date: {text!r}") from exc
        if p.weekday is not None and when.weekday() != p.weekday:
            raise UnreadableTime("the weekday and the date disagree")
        if y is None and when <= now:
            later = when.replace(year=when.year + 1)
            if now - when > timedelta(days=PAST_GRACE_DAYS):
                when = later  # «5/1» in December: next January
            else:
                next_year = later  # «30/11» on 1/12: a mistake, not next year
    elif p.weekday is not None:
        if p.week in ("sau", "toi"):
            monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
            day = monday + timedelta(days=p.weekday)
        elif p.week == "nay":
            day = today + timedelta(days=p.weekday - today.weekday())
        else:
            day = today + timedelta(days=(p.weekday - today.weekday()) % 7)
        when = _on(day + timedelta(days=carry), at, tz)
        if p.week is None and when <= now:
            when += timedelta(days=7)
    elif p.day_offset is not None:
        when = _on(today + timedelta(days=p.day_offset + carry), at, tz)
    else:
        when = _on(today + timedelta(days=carry), at, tz)
        if when <= now:
            when += timedelta(days=1)
    if when <= now:
        detail: dict[str, object] = {"at": when.astimezone(UTC)}
        if next_year is not None:
            detail["next_year"] = next_year.astimezone(UTC)
        raise PastTime("the time is in the past", **detail)
    return when.astimezone(UTC)


# The moments the time prompt offers as one press: (key, days from today, local hour).
QUICK_TIMES = (
    ("this_morning", 0, 7),
    ("tonight", 0, 19),
    ("tomorrow_morning", 1, 7),
    ("tomorrow_evening", 1, 19),
)
QUICK_MARGIN = timedelta(minutes=10)  # a quick time this close is not offered any more


def quick_times(
    *, now: datetime | None = None, tz: ZoneInfo | None = None, timezone: str = DEFAULT_TIMEZONE
) -> list[tuple[str, datetime]]:
    """The quick times still ahead (by `QUICK_MARGIN`), as (key, aware UTC datetime),
    soonest first: tonight at 19h is offered only before then."""
    tz = tz or ZoneInfo(timezone)
    now = (now or datetime.now(UTC)).astimezone(tz)
    found = []
    for key, days, hour in QUICK_TIMES:
        at = _on(now.date() + timedelta(days=days), time(hour), tz)
        if at - now >= QUICK_MARGIN:
            found.append((key, at.astimezone(UTC)))
    return found


def example_day(
    *, now: datetime | None = None, tz: ZoneInfo | None = None, timezone: str = DEFAULT_TIMEZONE
) -> date:
    """A day always ahead, for the prompt's example: tomorrow, in the ward's zone."""
    tz = tz or ZoneInfo(timezone)
    return (now or datetime.now(UTC)).astimezone(tz).date() + timedelta(days=1)


_WITHIN = re.compile(
    r"^\s*(?:han\s+(?:nhan\s+)?)?(?:trong\s+(?:vong\s+)?)?(?P<n>\d{1,3})\s*"
    r"(?P<unit>gio|tieng|h|phut|p|ngay)\s*(?:nua\s*)?$"
)
_BEFORE = re.compile(r"^\s*(?:han\s+(?:nhan\s+)?)?(?:truoc|den|cho\s+den)\s+(?P<rest>.+)$")
_MINUTES = {"gio": 60, "tieng": 60, "h": 60, "phut": 1, "p": 1, "ngay": 24 * 60}
MAX_DEADLINE_MINUTES = 7 * 24 * 60


def parse_deadline(
    text: str,
    *,
    start: datetime,
    tz: ZoneInfo | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> int | datetime:
    """An acknowledgement deadline as typed: «trong 2 giờ», «2 tiếng», «trong 30 phút»
    (minutes after sending, an int) or «trước 17h», «trước 7h30 mai», «đến 17h 5/12» (a
    moment after `start`, the sending time: an aware UTC datetime).

    Raises `UnreadableTime` for anything else, `PastTime` for a moment not after `start`;
    at most a week (`MAX_DEADLINE_MINUTES`)."""
    plain = _plain(text)
    if m := _WITHIN.match(plain):
        minutes = int(m.group("n")) * _MINUTES[m.group("unit")]
        if not 5 <= minutes <= MAX_DEADLINE_MINUTES:
            raise UnreadableTime("a deadline between 5 minutes and a week")
        return minutes
    if m := _BEFORE.match(plain):
        at = parse_local_time(m.group("rest"), now=start, tz=tz, timezone=timezone)
        if at - start > timedelta(minutes=MAX_DEADLINE_MINUTES):
            raise UnreadableTime("a deadline between 5 minutes and a week")
        return at
    raise UnreadableTime(f"not a deadline: {text!r}")


def next_local_hour(start: datetime, hour: int, *, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """The first `hour`:00 (local) at least an hour after `start`, as aware UTC."""
    tz = ZoneInfo(timezone)
    local = start.astimezone(tz)
    at = _on(local.date(), time(hour), tz)
    if at - local < timedelta(hours=1):
        at = _on(local.date() + timedelta(days=1), time(hour), tz)
    return at.astimezone(UTC)
