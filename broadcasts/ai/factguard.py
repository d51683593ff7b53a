"""The fact guard: every date, time, number, phone number and address in a text must come
from the source.

A summary or rendition (written by the AI, or edited by an official) is read for dates,
times, phone numbers and other numbers; each is normalised ("07 giờ 30" = "7:30" = "7h30"
= "7:30 AM"; "28/11/2026" = "28 tháng 11" = "November 28, 2026" = "2026年11月28日";
phone digits without spaces; numbers as values, with either decimal convention) and
looked up among those of the source. What is not there becomes a `Finding`; so does an
address or a number range that changes one of the source's (`broadcasts.ai.places`).
`repeated_facts` finds what a text says twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import get_month_names

from broadcasts.ai.models import Finding
from broadcasts.ai.places import find_places, place_findings
from broadcasts.ai.redact import PLACEHOLDER, find_phones

DateKey = tuple[int, int, int | None]

_DIGITS = str.maketrans({chr(0x17E0 + i): str(i) for i in range(10)})  # Khmer digits

_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_CJK_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]")
# Lower-case "tháng" only: "23 Tháng 9", "30 Tháng 4" are names of streets and parks.
_VI_DATE = re.compile(
    r"(?<!\d)(\d{1,2})\s+(?:tháng|thg)\s+(\d{1,2})(?!\d)"
    r"(?:\s*(?:,|năm)\s*(?:năm\s+)?(\d{4})(?!\d))?"
)
_SLASH_DATE = re.compile(r"(?<![\d/.,])(\d{1,2})\s*/\s*(\d{1,2})(?:\s*/\s*(\d{4}|\d{2}))?(?![\d/])")
_DOTTED_DATE = re.compile(r"(?<![\d/.,-])(\d{1,2})([.-])(\d{1,2})\2(\d{4})(?![\d.,-]?\d)")
_ROUND_THE_CLOCK = re.compile(r"(?<!\d)24\s*/\s*7(?!\d)")

_ZH_TIME = re.compile(
    r"(?:(上午|早上|早晨|凌晨|中午|下午|傍晚|晚上)\s*)?(?<!\d)(\d{1,2})\s*[点點时時]"
    r"\s*(?:(\d{1,2})\s*分|(半))?"
)
_VI_TIME = re.compile(
    r"(?<!\d)(\d{1,2})\s*(?:giờ|g)(?![^\W\d_])(?:\s*(\d{1,2})(?!\d)(?:\s*phút)?)?"
    r"(?:\s+(sáng|trưa|chiều|tối|đêm)(?![^\W\d_]))?",
    re.IGNORECASE,
)
_H_TIME = re.compile(r"(?<!\d)(\d{1,2})\s*h(?:\s*(\d{2}))?(?![^\W_])", re.IGNORECASE)
_MERIDIEM = r"(a\.\s?m\.|p\.\s?m\.|am|pm|SA|CH|sáng|trưa|chiều|tối|đêm)"
_COLON_TIME = re.compile(
    rf"(?<![\d:])(\d{{1,2}}):(\d{{2}})(?::\d{{2}})?(?![\d:])(?:\s*{_MERIDIEM}(?![^\W\d_]))?",
    re.IGNORECASE,
)
_BARE_MERIDIEM = re.compile(
    r"(?<![\d:])(\d{1,2})\s*(a\.\s?m\.|p\.\s?m\.|am|pm)(?![^\W\d_])", re.IGNORECASE
)
_WEEKDAY_NUMBER = re.compile(r"(?<![^\W\d_])(?:thứ|Thứ|THỨ|T)\s*[2-7](?!\d)")
_NUMBER = re.compile(
    r"(?<![0-9A-Za-z.,_])\d+(?:[.,\u00a0\u202f]\d+)*(?:(?:st|nd|rd|th)(?![A-Za-z]))?"
)
_MULTIPLIER = re.compile(
    r"\s*(triệu|million|millions|tỷ|tỉ|billion|nghìn|ngàn|thousand|k(?![^\W\d_])|万|萬|亿|億|千)",
    re.IGNORECASE,
)
_MULTIPLIERS = {
    "triệu": 10**6,
    "million": 10**6,
    "millions": 10**6,
    "tỷ": 10**9,
    "tỉ": 10**9,
    "billion": 10**9,
    "nghìn": 10**3,
    "ngàn": 10**3,
    "thousand": 10**3,
    "k": 10**3,
    "万": 10**4,
    "萬": 10**4,
    "亿": 10**8,
    "億": 10**8,
    "千": 10**3,
}
_PM_WORDS = {"pm", "p.m.", "p.m", "pm.", "ch", "chiều", "tối", "đêm", "下午", "傍晚", "晚上"}
_AM_WORDS = {"am", "a.m.", "a.m", "am.", "sa", "sáng", "上午", "早上", "早晨", "凌晨"}
_NOON_WORDS = {"trưa", "中午"}


@dataclass(frozen=True, slots=True)
class Item:
    kind: str  # "date" | "time" | "phone" | "number"
    raw: str
    dates: frozenset[DateKey] = frozenset()
    minutes: int = -1
    explicit: bool = True  # a time with AM/PM (or a 24-hour value) is not ambiguous
    phone: str = ""
    numbers: frozenset[Decimal] = frozenset()


@dataclass(slots=True)
class Profile:
    """The normalised facts of one text."""

    dates: set[DateKey] = field(default_factory=set)
    times: set[int] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    numbers: set[Decimal] = field(default_factory=set)


def _prepare_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_DIGITS)
    return PLACEHOLDER.sub(" ", text)


def _valid_date(d: int, m: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    y = int(raw)
    return y + 2000 if y < 100 else y


@lru_cache(maxsize=32)
def _month_regexes(locale: str) -> tuple[re.Pattern[str], re.Pattern[str], dict[str, int]]:
    names: dict[str, int] = {}
    for loc in {"en", locale}:
        try:
            parsed = Locale.parse(loc.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            continue
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for num, name in get_month_names(width, context, locale=parsed).items():
                    clean = name.strip().rstrip(".").lower()
                    if clean and not any(ch.isdigit() for ch in clean):
                        names[clean] = int(num)
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    month_first = re.compile(
        rf"(?<![^\W\d_])({alternation})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\d)"
        rf"(?:,?\s+(\d{{4}})(?!\d))?",
        re.IGNORECASE,
    )
    day_first = re.compile(
        rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({alternation})(?![^\W\d_])\.?"
        rf"(?:,?\s+(\d{{4}})(?!\d))?",
        re.IGNORECASE,
    )
    return month_first, day_first, names


def _number_values(token: str) -> set[Decimal]:
    token = re.sub(r"(st|nd|rd|th)$", "", token)
    values: set[Decimal] = set()
    for thousands, decimal in ((".", ","), (",", ".")):
        spaces = "\u00a0\u202f"
        parts = token.split(decimal)
        if len(parts) > 2:
            continue
        whole = parts[0]
        groups = re.split(f"[{re.escape(thousands + spaces)}]", whole)
        if len(groups) > 1 and (
            not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])
        ):
            continue
        digits = "".join(groups)
        if not digits.isdigit():
            continue
        text = digits if len(parts) == 1 else f"{digits}.{parts[1]}"
        if len(parts) == 2 and not parts[1].isdigit():
            continue
        try:
            values.add(Decimal(text).normalize())
        except InvalidOperation:
            continue
    return values


def _clock(hour: int, minute: int, marker: str | None) -> tuple[int, bool] | None:
    if not (0 <= hour <= 24 and 0 <= minute < 60):
        return None
    word = (marker or "").lower().replace(" ", "")
    explicit = hour == 0 or hour > 12
    if word in _PM_WORDS and hour < 12:
        hour, explicit = hour + 12, True
    elif word in _AM_WORDS:
        hour, explicit = (0 if hour == 12 else hour), True
    elif word in _NOON_WORDS:
        explicit = True
        if hour < 5:
            hour += 12
    return (hour % 24) * 60 + minute, explicit or bool(word)


def extract(text: str, locale: str = "vi") -> list[Item]:
    """Dates, times, phone numbers and numbers of a text, each normalised."""
    text = _prepare_text(text)
    taken = [False] * (len(text) + 1)
    items: list[Item] = []

    def claim(start: int, end: int) -> bool:
        if any(taken[start:end]):
            return False
        for i in range(start, end):
            taken[i] = True
        return True

    for phone in find_phones(text):
        if claim(phone.start, phone.end):
            items.append(Item("phone", phone.raw, phone=phone.digits))
    for m in _ROUND_THE_CLOCK.finditer(text):
        claim(m.start(), m.end())

    def dates(pattern: re.Pattern[str], read: Callable[[re.Match[str]], set[DateKey]]) -> None:
        for m in pattern.finditer(text):
            keys = read(m)
            if keys and claim(m.start(), m.end()):
                items.append(Item("date", m.group().strip(), dates=frozenset(keys)))

    def both_orders(a: int, b: int, y: int | None) -> set[DateKey]:
        return {(d, mo, y) for d, mo in ((a, b), (b, a)) if _valid_date(d, mo)}

    dates(
        _ISO_DATE,
        lambda m: (
            {(int(m[3]), int(m[2]), int(m[1]))} if _valid_date(int(m[3]), int(m[2])) else set()
        ),
    )
    dates(
        _CJK_DATE,
        lambda m: (
            {(int(m[3]), int(m[2]), _year(m[1]))} if _valid_date(int(m[3]), int(m[2])) else set()
        ),
    )
    dates(
        _VI_DATE,
        lambda m: (
            {(int(m[1]), int(m[2]), _year(m[3]))} if _valid_date(int(m[1]), int(m[2])) else set()
        ),
    )
    month_first, day_first, names = _month_regexes(locale)
    dates(
        month_first,
        lambda m: (
            {(int(m[2]), names[m[1].lower()], _year(m[3]))}
            if _valid_date(int(m[2]), names[m[1].lower()])
            else set()
        ),
    )
    dates(
        day_first,
        lambda m: (
            {(int(m[1]), names[m[2].lower()], _year(m[3]))}
            if _valid_date(int(m[1]), names[m[2].lower()])
            else set()
        ),
    )
    dates(_DOTTED_DATE, lambda m: both_orders(int(m[1]), int(m[3]), _year(m[4])))
    dates(_SLASH_DATE, lambda m: both_orders(int(m[1]), int(m[2]), _year(m[3])))

    def times(
        pattern: re.Pattern[str],
        read: Callable[[re.Match[str]], tuple[int, bool] | None],
    ) -> None:
        for m in pattern.finditer(text):
            value = read(m)
            if value is not None and claim(m.start(), m.end()):
                items.append(Item("time", m.group().strip(), minutes=value[0], explicit=value[1]))

    times(_ZH_TIME, lambda m: _clock(int(m[2]), 30 if m[4] else int(m[3] or 0), m[1]))
    times(_COLON_TIME, lambda m: _clock(int(m[1]), int(m[2]), m[3]))
    times(_VI_TIME, lambda m: _clock(int(m[1]), int(m[2] or 0), m[3]))
    times(_H_TIME, lambda m: _clock(int(m[1]), int(m[2] or 0), None))
    times(_BARE_MERIDIEM, lambda m: _clock(int(m[1]), 0, m[2]))

    for m in _WEEKDAY_NUMBER.finditer(text):
        claim(m.start(), m.end())
    for m in _NUMBER.finditer(text):
        if not claim(m.start(), m.end()):
            continue
        values = _number_values(m.group())
        mult = _MULTIPLIER.match(text, m.end())
        if mult:
            factor = _MULTIPLIERS[mult.group(1).lower()]
            values |= {(v * factor).normalize() for v in values}
        if values:
            items.append(Item("number", m.group(), numbers=frozenset(values)))
    return items


def profile(text: str, locale: str = "vi") -> Profile:
    """What a source text makes traceable."""
    p = Profile()
    for item in extract(text, locale):
        if item.kind == "phone":
            p.phones.add(item.phone)
        elif item.kind == "date":
            p.dates |= item.dates
            for d, m, y in item.dates:
                p.numbers |= {Decimal(d), Decimal(m)} | ({Decimal(y)} if y else set())
        elif item.kind == "time":
            p.times.add(item.minutes)
            if not item.explicit and item.minutes < 13 * 60:
                p.times.add(item.minutes + 12 * 60)
            hour, minute = divmod(item.minutes, 60)
            p.numbers |= {Decimal(hour), Decimal(minute), Decimal(hour % 12 or 12)}
        else:
            p.numbers |= item.numbers
    return p


def _traceable(item: Item, source: Profile) -> bool:
    if item.kind == "phone":
        return item.phone in source.phones
    if item.kind == "date":
        return any(
            d == sd and m == sm and (y is None or sy is None or y == sy)
            for d, m, y in item.dates
            for sd, sm, sy in source.dates
        )
    if item.kind == "time":
        if item.minutes in source.times:
            return True
        return not item.explicit and (item.minutes + 12 * 60) % (24 * 60) in source.times
    return bool(item.numbers & source.numbers)


_CODES = {
    "phone": "untraceable_phone",
    "date": "untraceable_date",
    "time": "untraceable_time",
    "number": "untraceable_number",
}


def check_facts(source: str, text: str, locale: str) -> list[Finding]:
    """Every date, time, number and phone number of `text` not traceable to `source`, and
    every address or number range of `text` that changes one of the source's."""
    src = profile(source, "vi")
    if locale != "vi":
        # A source may itself quote foreign dates; read it the way the text is read too.
        other = profile(source, locale)
        src.dates |= other.dates
        src.numbers |= other.numbers
    findings = _findings(extract(text, locale), src, locale)
    # A range that lost an end, or a number moved to another address: every number is in
    # the source, so only the places tell. (An unknown number is already a finding.)
    for f in place_findings(source, text, locale):
        numbers = re.findall(r"\d+", f.value)
        if all(Decimal(n) in src.numbers for n in numbers):
            findings.append(f)
    return findings


def _findings(items: Iterable[Item], source: Profile, locale: str) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for item in items:
        if _traceable(item, source):
            continue
        key = (_CODES[item.kind], item.raw)
        if key not in seen:
            seen.add(key)
            findings.append(Finding(code=key[0], value=item.raw, locale=locale))
    return findings


def missing_facts(source: str, text: str) -> list[str]:
    """Dates, times and phone numbers of the source that `text` does not mention."""
    have = profile(text, "vi")
    missing: list[str] = []
    for item in extract(source, "vi"):
        if item.kind == "number":
            continue
        if not _traceable(item, have) and item.raw not in missing:
            missing.append(item.raw)
    return missing


def _key(item: Item) -> tuple[object, ...]:
    if item.kind == "date":
        return ("date", frozenset((d, m) for d, m, _ in item.dates))
    if item.kind == "time":
        return ("time", item.minutes)
    return ("phone", item.phone)


def repeated_facts(text: str, locale: str = "vi") -> list[str]:
    """Dates, times, phone numbers and addresses that `text` states more than once."""
    seen: dict[tuple[object, ...], int] = {}
    raws: dict[tuple[object, ...], str] = {}
    for item in extract(text, locale):
        if item.kind == "number":
            continue
        key = _key(item)
        seen[key] = seen.get(key, 0) + 1
        raws.setdefault(key, item.raw)
    for place in find_places(text):
        key = ("place", place.key)
        seen[key] = seen.get(key, 0) + 1
        raws.setdefault(key, place.raw)
    return [raws[k] for k, n in seen.items() if n > 1]
