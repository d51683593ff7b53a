"""Locale formatting: dates and times in Ho Chi Minh City time, key-fact lines, renditions.

Renditions show their key facts as labelled lines ("Thời gian: …", "When: …"). The
"when" line is read from the Vietnamese notice (`parse_when`) and written again per
locale (`format_when`): in Vietnamese the way notices write it («7 giờ 30 – 16 giờ, thứ
Bảy, ngày 28/11/2026», see `broadcasts.ai.wording`), elsewhere with Babel, so an English
reader sees "Saturday, November 28, 2026, 7:30 AM – 4:00 PM" and a Chinese one
"2026年11月28日星期六 07:30–16:00". `rendition_text` puts title, body and lines together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_interval, format_skeleton, get_day_names
from babel.dates import format_time as babel_format_time

from broadcasts.ai.models import FACT_KEYS
from broadcasts.ai.redact import find_phones, normalize
from broadcasts.ai.wording import (
    VI_WEEKDAYS,
    capitalised,
    clock_range_vi,
    date_vi,
    day_vi,
    weekday_vi,
)
from broadcasts.settings import DEFAULT_TIMEZONE

LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "when": "Thời gian",
        "where": "Địa điểm",
        "who": "Đối tượng",
        "action": "Việc cần làm",
        "contact": "Liên hệ",
        "urgent": "KHẨN",
    },
    "en": {
        "when": "When",
        "where": "Where",
        "who": "Who",
        "action": "What to do",
        "contact": "Contact",
        "urgent": "URGENT",
    },
    "zh": {
        "when": "时间",
        "where": "地点",
        "who": "对象",
        "action": "需要做什么",
        "contact": "联系方式",
        "urgent": "紧急",
    },
    "km": {
        "when": "ពេលវេលា",
        "where": "ទីកន្លែង",
        "who": "សម្រាប់",
        "action": "អ្វីដែលត្រូវធ្វើ",
        "contact": "ទំនាក់ទំនង",
        "urgent": "បន្ទាន់",
    },
}
# Words around Babel's own names for recurring and open-ended times.
_PHRASES: dict[str, dict[str, str]] = {
    "vi": {"weekly": "{weekday} hằng tuần", "since": "từ {date}", "sep": ", "},
    "en": {"weekly": "every {weekday}", "since": "from {date}", "sep": ", "},
    "zh": {"weekly": "每{weekday}", "since": "自{date}起", "sep": "，"},
    "km": {"weekly": "រៀងរាល់ថ្ងៃ{weekday}", "since": "ចាប់ពី {date}", "sep": ", "},
}

_TIME = re.compile(
    r"(?<!\d)(\d{1,2})\s*(?:giờ|h(?![^\W\d_])|:)\s*(\d{2})?(?!\d)"
    r"(?:\s*(sáng|trưa|chiều|tối))?",
    re.IGNORECASE,
)
_DATE = re.compile(r"(?<![\d/])(\d{1,2})\s*/\s*(\d{1,2})(?:\s*/\s*(\d{4}))?(?![\d/])")
_VI_DATE = re.compile(r"(?<!\d)(\d{1,2})\s+tháng\s+(\d{1,2})(?:,?\s*(?:năm\s+)?(\d{4}))?")
_WEEKDAY = re.compile(r"(?:thứ\s+(hai|ba|tư|năm|sáu|bảy|[2-7])|(chủ nhật))", re.IGNORECASE)
_WEEKLY = re.compile(r"hằng\s+tuần|hàng\s+tuần|mỗi\s+tuần", re.IGNORECASE)
_SINCE = re.compile(r"(?:kể\s+từ|bắt\s+đầu\s+từ|từ)\s+(?:ngày\s+)?$", re.IGNORECASE)
_EMERGENCY = re.compile(r"(?<!\d)11[1345](?!\d)")
_UNSUPPORTED = re.compile(
    r"\b(?:trước|sau|hạn\s+chót|hạn\s+cuối|chậm\s+nhất|đến\s+hết|khoảng|dự\s+kiến|hoặc|"
    r"mỗi\s+ngày|hằng\s+ngày|hàng\s+ngày|từ\s+thứ)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=64)
def babel_locale(locale: str) -> Locale:
    """The Babel locale for a channel locale ("zh", "zh-Hant", "km"…), English if unknown."""
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def language_name(locale: str) -> str:
    """English name of a locale's language, for prompts ("km" -> "Khmer")."""
    parsed = babel_locale(locale)
    return parsed.get_display_name("en") or locale


def labels(locale: str) -> dict[str, str]:
    """Key-fact labels of a locale; English when the locale has none."""
    base = locale.split("-")[0].split("_")[0].lower()
    return LABELS.get(base, LABELS["en"])


def _wording(locale: str) -> str:
    """The locale whose words (and Babel names) a key-fact line uses: English when the
    locale has no labels of its own, so that a line never mixes two languages."""
    base = locale.split("-")[0].split("_")[0].lower()
    return locale if base in _PHRASES else "en"


def _phrases(locale: str) -> dict[str, str]:
    base = locale.split("-")[0].split("_")[0].lower()
    return _PHRASES.get(base, _PHRASES["en"])


def format_datetime_local(
    dt_utc: datetime, locale: str, *, tz: str = DEFAULT_TIMEZONE, format: str = "medium"
) -> str:
    """An aware (UTC) datetime shown in the time zone `tz`, the locale's way."""
    if dt_utc.tzinfo is None:
        raise ValueError("format_datetime_local needs an aware datetime")
    return babel_format_datetime(dt_utc, format, tzinfo=ZoneInfo(tz), locale=babel_locale(locale))


def format_date(d: date, locale: str, *, format: str = "full") -> str:
    """A calendar date, the locale's way ("Thứ Bảy, 28 tháng 11, 2026")."""
    return babel_format_date(d, format, locale=babel_locale(locale))


def format_time(t: time, locale: str) -> str:
    """A local wall-clock time, the locale's short way ("07:30", "7:30 AM")."""
    return babel_format_time(t, "short", locale=babel_locale(locale))


def _twelve_hour(locale: str) -> bool:
    pattern = babel_locale(locale).time_formats["short"].pattern
    return "h" in pattern or "K" in pattern


def format_time_range(start: time, end: time | None, locale: str) -> str:
    if end is None or end == start:
        return format_time(start, locale)
    skeleton = "hm" if _twelve_hour(locale) else "Hm"
    return str(format_interval(start, end, skeleton, locale=babel_locale(locale)))


@dataclass(frozen=True, slots=True)
class When:
    """A time of a notice, read from Vietnamese: a date, a time range, maybe weekly."""

    day: date | None = None
    day_month: tuple[int, int] | None = None  # a date without its year
    start: time | None = None
    end: time | None = None
    weekday: int | None = None  # Monday = 0
    weekly: bool = False
    since: bool = False


def _clock(hour: int, minute: int, part: str | None) -> time | None:
    part = (part or "").lower()
    if part in ("chiều", "tối") and hour < 12:
        hour += 12
    if hour == 24 and minute == 0:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_when(text: str) -> When | None:
    """Read "từ 07 giờ 30 đến 16 giờ 00 ngày 28/11/2026 (thứ Bảy)" and the like.

    None when there is no date or time, or when the text says something a `When` cannot
    carry (a deadline, an approximate time, several dates, several ranges): the caller
    then keeps the words as they are.
    """
    text = normalize(text)
    if _UNSUPPORTED.search(text):
        return None
    clocks = [(int(m[1]), int(m[2] or 0), (m[3] or "").lower()) for m in _TIME.finditer(text)]
    if len(clocks) > 2:
        return None
    if len(clocks) == 2:
        (h1, m1, p1), (h2, m2, p2) = clocks
        # "từ 1 giờ đến 5 giờ chiều": the part of the day after a range applies to both ends.
        if not p1 and p2 in ("chiều", "tối") and h1 < 12 and h1 < h2 < 12:
            clocks[0] = (h1, m1, p2)
    times = [t for h, m, part in clocks if (t := _clock(h, m, part))]
    dates: list[tuple[re.Match[str], int, int, int | None]] = []
    for m in [*_DATE.finditer(text), *_VI_DATE.finditer(text)]:
        d, mo = int(m[1]), int(m[2])
        if 1 <= d <= 31 and 1 <= mo <= 12 and m.group() != "24/7":
            dates.append((m, d, mo, int(m[3]) if m[3] else None))
    if len({(d, mo) for _, d, mo, _ in dates}) > 1:
        return None
    day: date | None = None
    day_month: tuple[int, int] | None = None
    since = False
    if dates:
        m, d, mo, year = dates[0]
        try:
            day = date(year, mo, d) if year else None
        except ValueError:
            return None
        day_month = None if day else (d, mo)
        since = bool(_SINCE.search(text, max(0, m.start() - 40), m.start()))
    wd = _WEEKDAY.search(text)
    weekday = VI_WEEKDAYS.get((wd[1] or wd[2] or "").lower()) if wd else None
    weekly = bool(_WEEKLY.search(text)) and weekday is not None
    if day is None and day_month is None and not times and not weekly:
        return None
    start = times[0] if times else None
    end = times[1] if len(times) > 1 else None
    if start is not None and end is not None and end <= start:
        return None
    return When(
        day=day,
        day_month=day_month,
        start=start,
        end=end,
        weekday=weekday,
        weekly=weekly,
        since=since,
    )


def _disagree(when: When) -> bool:
    # A notice whose weekday and date disagree gets no weekday from us: the official is
    # warned (weekday_mismatch) and decides which one is right.
    return (
        when.day is not None
        and when.weekday is not None
        and not when.weekly
        and when.day.weekday() != when.weekday
    )


def format_when_vi(when: When) -> str:
    """«7 giờ 30 – 16 giờ, thứ Bảy, ngày 28/11/2026»; «thứ Năm hằng tuần, 18 giờ – 21 giờ,
    từ ngày 03/12/2026»."""
    parts: list[str] = []
    if when.weekly and when.weekday is not None:
        parts.append(f"{weekday_vi(when.weekday)} hằng tuần")
    if when.start is not None:
        parts.append(clock_range_vi(when.start, when.end))
    day: str | None = None
    if when.day is not None:
        open_ended = when.since or when.weekly
        day = day_vi(when.day, weekday=not (open_ended or _disagree(when)))
    elif when.day_month is not None:
        day = f"ngày {date_vi(day_month=when.day_month)}"
        if when.weekday is not None and not when.weekly:
            day = f"{weekday_vi(when.weekday)}, {day}"
    elif when.weekday is not None and not when.weekly:
        parts.append(weekday_vi(when.weekday))
    if day is not None:
        parts.append(f"từ {day}" if when.since or when.weekly else day)
    return capitalised(", ".join(parts))


def format_when(when: When, locale: str) -> str:
    """A `When` in the words and formats of a locale (Babel names, locale clock)."""
    if locale.split("-")[0].split("_")[0].lower() == "vi":
        return format_when_vi(when)
    locale = _wording(locale)
    loc = babel_locale(locale)
    phrases = _phrases(locale)
    parts: list[str] = []
    if when.weekly and when.weekday is not None:
        weekday = get_day_names("wide", locale=loc)[when.weekday]
        parts.append(phrases["weekly"].format(weekday=weekday))
    if when.start is not None:
        parts.append(format_time_range(when.start, when.end, locale))
    date_text: str | None = None
    open_ended = when.since or when.weekly
    if when.day is not None:
        width = "long" if open_ended or _disagree(when) else "full"
        date_text = babel_format_date(when.day, width, locale=loc)
    elif when.day_month is not None:
        d, m = when.day_month
        date_text = str(format_skeleton("MMMMd", date(2000, m, d), locale=loc))
    if date_text is not None:
        if open_ended:
            date_text = phrases["since"].format(date=date_text)
        # Dates first for a one-off event, after the clock for a recurring one.
        if when.weekly:
            parts.append(date_text)
        else:
            parts.insert(0, date_text)
    result = phrases["sep"].join(parts)
    return result[:1].upper() + result[1:]


def contact_numbers(text: str) -> list[str]:
    """Phone numbers and emergency numbers (113, 114, 115) of a contact line, as written."""
    text = normalize(text)
    found: list[tuple[int, str]] = [(p.start, p.raw) for p in find_phones(text)]
    found += [(m.start(), m.group()) for m in _EMERGENCY.finditer(text)]
    seen: list[str] = []
    for _, raw in sorted(found):
        if raw not in seen:
            seen.append(raw)
    return seen


def facts_lines(facts: Mapping[str, str], locale: str, keys: Sequence[str]) -> list[str]:
    """ "Label: value" lines for the given keys, in the locale's labels."""
    names = labels(locale)
    return [f"{names[k]}: {facts[k]}" for k in keys if facts.get(k, "").strip()]


def localized_facts(facts: Mapping[str, str], locale: str) -> dict[str, str]:
    """Key facts for a non-Vietnamese rendition: when in the locale's format, where as the
    Vietnamese address (what a taxi driver needs), contact as the bare numbers."""
    out: dict[str, str] = {}
    when = parse_when(facts.get("when", ""))
    if when is not None:
        out["when"] = format_when(when, locale)
    if facts.get("where"):
        out["where"] = facts["where"]
    numbers = contact_numbers(facts.get("contact", ""))
    if numbers:
        out["contact"] = ", ".join(numbers)
    return out


def display_facts(facts: Mapping[str, str], language: str) -> dict[str, str]:
    """Key facts as a rendition in `language` shows them: a Vietnamese "when" that can be
    read is written again the way notices write it; everything else as it was found."""
    shown = dict(facts)
    if language == "vi":
        when = parse_when(facts.get("when", ""))
        if when is not None:
            shown["when"] = format_when_vi(when)
    return shown


def rendition_text(
    title: str,
    body: str,
    facts: Mapping[str, str],
    language: str,
    *,
    keys: Sequence[str] = FACT_KEYS,
    limit: int | None = None,
) -> str:
    """Title, body and the key-fact lines (labelled in `language`) of one rendition."""
    lines = facts_lines(display_facts(facts, language), language, keys)
    return compose_text(title, body, lines, limit=limit)


def compose_text(title: str, body: str, lines: Sequence[str], *, limit: int | None = None) -> str:
    """Title, body and key-fact lines as one text, cut to `limit` characters if given
    (the body gives way first)."""
    tail = "\n".join(lines)
    parts = [p for p in (title.strip(), body.strip(), tail) if p]
    text = "\n\n".join(parts)
    if limit is None or len(text) <= limit:
        return text
    room = limit - len(title) - len(tail) - 5
    if room > 100:
        short = body.strip()[: room - 1].rstrip() + "…"
        return "\n\n".join(p for p in (title.strip(), short, tail) if p)
    return text[: limit - 1] + "…"
