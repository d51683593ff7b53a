"""Where a unit says when: runs of dates, times and weekdays with the words that bind them.

«từ 07 giờ 30 đến 16 giờ 00 ngày 28/11/2026 (thứ Bảy)», «vào tối thứ Năm hằng tuần, từ
18 giờ đến 21 giờ, bắt đầu từ ngày 03/12/2026», «from 8:00 to 11:30 on Saturday, 12
December 2026» are each one `WhenSpan`, found as atoms (a date, a clock time, a weekday,
"today") joined by connecting words. A span is told apart by what it is for: an event or
an act ("event"), a deadline («trước ngày 15/12», «đến hết ngày …», "by 10 December"),
a citation («Kế hoạch số 1234/KH-UBND ngày 10 tháng 11 năm 2026»), which a resident
never needs, or the day something already happened («Ngày 20/11/2026, Công an phường
tiếp nhận …»).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["event", "deadline", "citation", "past"]

_PART = r"(?:sáng|trưa|chiều|tối|đêm)"
_EVERY = r"(?:hằng|hàng|mỗi)\s+(?:tuần|ngày|tháng)"
_VI_ATOMS = re.compile(
    r"(?P<time>(?<![\d/:.,])\d{1,2}\s*(?:giờ|g(?![^\W\d_])|h(?![^\W\d_])|:)(?:\s*\d{2}(?!\d))?"
    r"(?:\s*phút)?)|"
    r"(?P<date>(?<![\d/.,])\d{1,2}\s*/\s*\d{1,2}(?:\s*/\s*\d{2,4})?(?![\d/])|"
    r"(?<!\d)\d{1,2}\s+(?-i:tháng)\s+\d{1,2}(?:\s+năm\s+\d{4})?(?!\d))|"
    r"(?P<weekday>\bthứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])\b|\bchủ\s+nhật\b)|"
    rf"(?P<relative>\bhôm\s+nay\b|\bngày\s+mai\b|\b{_PART}\s+(?:nay|mai)\b|\bgiờ\s+hành\s+chính\b)",
    re.IGNORECASE,
)
_VI_GAP = re.compile(
    r"[\s,()]*(?:(?:từ|đến|tới|lúc|vào|ngày|trong|bắt\s+đầu|kể|hết|và|"
    rf"{_PART}|{_EVERY}|[-–])[\s,()]*)*",
    re.IGNORECASE,
)
_VI_LEAD = re.compile(
    r"(?:\b(?:kể\s+từ|bắt\s+đầu\s+từ|từ|vào\s+lúc|vào|lúc|trong|ngày|đến\s+hết|trước|sau|"
    rf"chậm\s+nhất|hạn\s+chót|{_PART})\s+)+$",
    re.IGNORECASE,
)
_VI_TAIL = re.compile(rf"(?:\s+(?:{_PART}|{_EVERY})\b)+", re.IGNORECASE)
_VI_DEADLINE = re.compile(r"\b(?:trước|chậm\s+nhất|hạn\s+chót|đến\s+hết)\b", re.IGNORECASE)
_VI_CITED = re.compile(
    r"(?:\bsố\s+\d+[\w/\-]*\s*|\b(?:kế\s+hoạch|quyết\s+định|công\s+văn|chỉ\s+thị|nghị\s+định|"
    r"luật|thông\s+tư)\b[^,.;]{0,60})$",
    re.IGNORECASE,
)

_VI_PAST = re.compile(
    r"^\W*(?:vào\s+)?ngày\s+\S+\s*,.*\b(?:tiếp\s+nhận|nhận\s+được|phát\s+hiện|xảy\s+ra|"
    r"ghi\s+nhận|bắt\s+giữ|đã)\b",
    re.IGNORECASE,
)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_EN_ATOMS = re.compile(
    r"(?P<time>(?<![\d/:.])\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?![\d/])|"
    r"(?<![\d/:.])\d{1,2}\s*[ap]\.?m\.?(?![a-z])|\bnoon\b|\bmidnight\b)|"
    rf"(?P<date>\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:\s*,?\s*\d{{4}})?\b|"
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:\s*,?\s*\d{{4}})?\b|"
    r"(?<![\d/.,])\d{1,2}/\d{1,2}(?:/\d{2,4})?(?![\d/]))|"
    r"(?P<weekday>\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b)|"
    r"(?P<relative>\btoday\b|\btomorrow\b|\btonight\b|\bthis\s+(?:morning|afternoon|evening)\b)",
    re.IGNORECASE,
)
_EN_GAP = re.compile(
    r"[\s,()]*(?:(?:from|to|until|till|on|at|between|and|through|every|-|–)[\s,()]*)*",
    re.IGNORECASE,
)
_EN_LEAD = re.compile(
    r"(?:\b(?:from|on|at|between|since|starting|until|by|before|no\s+later\s+than|every)\s+)+$",
    re.IGNORECASE,
)
_EN_DEADLINE = re.compile(r"\b(?:by|before|no\s+later\s+than|until)\b", re.IGNORECASE)
_LEAD_MAX_CHARS = 80
_EN_CITED = re.compile(r"\b(?:No\.|dated)\s*[\w/\-]*\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class WhenSpan:
    start: int
    end: int
    text: str
    kinds: frozenset[str]  # of its atoms: "time", "date", "weekday", "relative"
    kind: Kind

    @property
    def has_date(self) -> bool:
        return "date" in self.kinds

    @property
    def has_time(self) -> bool:
        return "time" in self.kinds


def _valid(atom: re.Match[str]) -> bool:
    if atom.lastgroup != "date":
        return True
    raw = atom.group()
    if re.fullmatch(r"24\s*/\s*7", raw):  # "24/7" is round the clock, not 24 July
        return False
    numbers = [int(n) for n in re.findall(r"\d+", raw)]
    if "/" in raw:
        return len(numbers) >= 2 and 1 <= numbers[0] <= 31 and 1 <= numbers[1] <= 12
    if "tháng" in raw:
        return 1 <= numbers[0] <= 31 and 1 <= numbers[1] <= 12
    return True


def when_spans(text: str, language: str = "vi") -> list[WhenSpan]:
    """Every run of when-words in `text`, each with its leading preposition."""
    english = language == "en"
    atoms_re, gap_re = (_EN_ATOMS, _EN_GAP) if english else (_VI_ATOMS, _VI_GAP)
    atoms = [a for a in atoms_re.finditer(text) if _valid(a)]
    groups: list[list[re.Match[str]]] = []
    for atom in atoms:
        if groups:
            gap = text[groups[-1][-1].end() : atom.start()]
            if len(gap) <= 30 and gap_re.fullmatch(gap):
                groups[-1].append(atom)
                continue
        groups.append([atom])
    spans: list[WhenSpan] = []
    for group in groups:
        kinds = frozenset(a.lastgroup or "" for a in group)
        if not kinds & {"time", "date", "weekday"} and "hôm" not in group[0].group().lower():
            if not english:
                continue
        start, end = group[0].start(), group[-1].end()
        # The words leading a span are a few; a bounded look keeps many spans linear.
        before = max(0, start - _LEAD_MAX_CHARS)
        lead = (_EN_LEAD if english else _VI_LEAD).search(text, before, start)
        if lead:
            start = lead.start()
        if not english:
            tail = _VI_TAIL.match(text, end)
            if tail:
                end = tail.end()
        if text.count("(", start, end) > text.count(")", start, end):
            close = text.find(")", end)
            if close != -1 and close - end <= 3:
                end = close + 1
        span_text = text[start:end].strip(" ,")
        spans.append(WhenSpan(start, end, span_text, kinds, _kind(text, start, span_text, english)))
    return spans


def _kind(text: str, start: int, span: str, english: bool) -> Kind:
    before = text[max(0, start - 80) : start]
    if (_EN_CITED if english else _VI_CITED).search(before):
        return "citation"
    if not english and not before.strip() and _VI_PAST.search(text):
        return "past"
    deadline = _EN_DEADLINE if english else _VI_DEADLINE
    opening = re.match(r"\s*(\w+(?:\s+\w+)?)", span)
    head = opening.group(1).lower() if opening else ""
    ranged = re.search(r"\b(?:từ|from|between)\b", span, re.IGNORECASE)
    if deadline.match(head) and not ranged:
        return "deadline"
    return "event"
