"""Checks of a notice's dates against the calendar and the clock.

`weekday_mismatches` finds a weekday the date does not fall on («thứ Bảy, ngày
29/11/2026» when 29/11/2026 is a Sunday); `past_dates` finds the dates a text would
announce that have already gone by (the clock is injected: `now`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

from broadcasts.ai.factguard import extract
from broadcasts.ai.wording import VI_WEEKDAYS
from broadcasts.timeparse import TZ

_VI_WEEKDAY_NAMES = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
_WD = r"(?:thứ\s+(?P<{n}>hai|ba|tư|năm|sáu|bảy|[2-7])|(?P<{n}cn>chủ\s+nhật))"
_FULL_DATE = r"(?P<d>\d{1,2})\s*/\s*(?P<m>\d{1,2})\s*/\s*(?P<y>\d{4})"
_WEEKDAY_THEN_DATE = re.compile(
    _WD.format(n="a") + r"[\s,]*(?:ngày\s*)?" + _FULL_DATE, re.IGNORECASE
)
_DATE_THEN_WEEKDAY = re.compile(
    _FULL_DATE + r"\s*[(,]\s*" + _WD.format(n="b") + r"\s*\)?", re.IGNORECASE
)


def weekday_mismatches(text: str) -> list[str]:
    """Places where a notice names a weekday that its date does not fall on:
    "thứ Bảy, ngày 29/11/2026" when 29/11/2026 is a Sunday."""
    text = unicodedata.normalize("NFC", text)
    found: dict[tuple[int, int, int], str] = {}
    for pattern, key in ((_WEEKDAY_THEN_DATE, "a"), (_DATE_THEN_WEEKDAY, "b")):
        for m in pattern.finditer(text):
            named = "chủ nhật" if m.group(key + "cn") else (m.group(key) or "")
            stated = VI_WEEKDAYS.get(named.lower())
            ymd = (int(m["y"]), int(m["m"]), int(m["d"]))
            try:
                actual = date(*ymd).weekday()
            except ValueError:
                continue
            if stated is not None and stated != actual and ymd not in found:
                found[ymd] = (
                    f"{m.group().strip()} ({m['d']}/{m['m']}/{m['y']}: {_VI_WEEKDAY_NAMES[actual]})"
                )
    return list(found.values())


def past_dates(text: str, *, now: datetime, tz: ZoneInfo = TZ) -> list[str]:
    """The dates of `text` (with their year) that are before today, as written.

    A date without a year is left alone: the reader takes it as the next one."""
    today = now.astimezone(tz).date()
    found: list[str] = []
    for item in extract(text, "vi"):
        if item.kind != "date":
            continue
        days = []
        for d, m, y in item.dates:
            try:
                days.append(date(y, m, d) if y else None)
            except ValueError:
                continue
        if days and all(day is not None and day < today for day in days):
            if item.raw not in found:
                found.append(item.raw)
    return found
