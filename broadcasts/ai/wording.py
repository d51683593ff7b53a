"""Dates and times the way Vietnamese notices write them, not the way Babel translates them.

«7 giờ 30 – 16 giờ, thứ Bảy, ngày 28/11/2026», «Chủ nhật, ngày 06/12/2026», «thứ Năm
hằng tuần, 18 giờ – 21 giờ, từ ngày 03/12/2026» (see /work/shared/WORDING.md: «Dates as
Vietnamese notices write them»). Babel's «Thứ Bảy, 28 tháng 11, 2026, 07:30–16:00» reads
like a translation; these are what a ward office types.
"""

from __future__ import annotations

from datetime import date, time

WEEKDAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def clock_vi(t: time) -> str:
    """«7 giờ 30», «16 giờ»."""
    return f"{t.hour} giờ {t.minute:02d}" if t.minute else f"{t.hour} giờ"


def clock_range_vi(start: time, end: time | None) -> str:
    """«7 giờ 30 – 16 giờ»."""
    if end is None or end == start:
        return clock_vi(start)
    return f"{clock_vi(start)} – {clock_vi(end)}"


def weekday_vi(weekday: int) -> str:
    """Monday = 0: «thứ Hai» … «Chủ nhật»."""
    return WEEKDAYS_VI[weekday]


def date_vi(d: date | None = None, *, day_month: tuple[int, int] | None = None) -> str:
    """«28/11/2026», or «28/11» for a date without its year."""
    if d is not None:
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if day_month is None:
        raise ValueError("date_vi needs a date or a day and month")
    return f"{day_month[0]:02d}/{day_month[1]:02d}"


def day_vi(d: date, *, weekday: bool = True) -> str:
    """«thứ Bảy, ngày 28/11/2026» (or «ngày 28/11/2026» without the weekday)."""
    text = f"ngày {date_vi(d)}"
    return f"{weekday_vi(d.weekday())}, {text}" if weekday else text


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# Weekday words as written in Vietnamese («thứ Hai», «thứ 2», «chủ nhật», «CN»): Monday is 0.
VI_WEEKDAYS = {
    "hai": 0,
    "2": 0,
    "ba": 1,
    "3": 1,
    "tư": 2,
    "4": 2,
    "năm": 3,
    "5": 3,
    "sáu": 4,
    "6": 4,
    "bảy": 5,
    "7": 5,
    "chủ nhật": 6,
    "cn": 6,
}
