"""A notice's message cut into units: sentences (underthesea's `sent_tokenize`), and
clauses of a sentence where a «;» separates independent ones, each scored for what a
resident needs to act on: dates, times, places, amounts, phone numbers, things to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import cast

from broadcasts.ai.redact import find_phones, private_items

UPPER = "A-ZÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴÈÉẸẺẼÊỀẾỆỂỄÌÍỊỈĨÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠÙÚỤỦŨƯỪỨỰỬỮỲÝỴỶỸĐ"
CAP = rf"[{UPPER}][^\W\d_]*"  # a capitalised word

_LIST_MARK = re.compile(r"^\s*(?:(\d{1,2}|[a-zđ])[.)]|([-–•+*]))\s+")
_DATE = re.compile(
    r"(?<![\d/])\d{1,2}\s*/\s*\d{1,2}(?:\s*/\s*\d{2,4})?(?![\d/])|"
    r"(?<!\d)\d{1,2}\s+tháng\s+\d{1,2}(?!\d)|"
    r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"(?<!\d)\d{1,2}\s*(?:giờ|h(?![^\W\d_])|:\d{2}|[ap]\.?m\.?(?![a-z]))", re.IGNORECASE
)
_WEEKDAY = re.compile(
    r"\bthứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])\b|\bchủ\s+nhật\b|\b(?:mon|tues|wednes|thurs|"
    r"fri|satur|sun)day\b",
    re.IGNORECASE,
)
_PLACE = re.compile(
    rf"\bsố\s+\d+|\bhẻm\s+\d+|khu\s+phố\s+\d+|\bđường\s+{CAP}|địa\s+điểm|"
    rf"nhà\s+văn\s+hóa|trụ\s+sở|\d+\s+{CAP}\s+{CAP}|\b(?:quarters?|street|ward)\b",
)
_AMOUNT = re.compile(
    r"\d[\d.,]*\s*(?:đồng|vnđ|vnd|triệu|nghìn|ngàn|%|cm|m\b)|miễn\s+phí|có\s+thu\s+phí|"
    r"lệ\s+phí|xử\s+phạt|\bfree\b|\bfine\b|VND",
    re.IGNORECASE,
)
# What residents are asked to do (or not to do). «Đề nghị», «yêu cầu» count only where
# they open the unit: inside a sentence they may be what a scammer asks.
_ACTION = re.compile(
    r"\b(?:vui\s+lòng|mang\s+theo|chủ\s+động|cần|phải|hãy|cử|dành|đặt\s+lịch|"
    r"đăng\s+ký\s+(?:trước|tham\s+gia|qua|tại|với)|"
    r"tham\s+dự|di\s+chuyển|kê\s+cao|không\s+tự\s+ý|không\s+được|tuyệt\s+đối|không\s+bao\s+giờ|"
    r"khuyến\s+cáo|báo\s+ngay|đến\s+ngay|nộp|rút\s+phích|dự\s+trữ|"
    r"please|must|should|are\s+asked|are\s+advised|do\s+not|not\s+use|register)\b",
    re.IGNORECASE,
)
_ASK = re.compile(r"^(?:kính\s+)?(?:đề\s+nghị|yêu\s+cầu)\b", re.IGNORECASE)
# «gọi 114», "call 113", but not "there is no need to call 114".
_EMERGENCY = re.compile(
    r"(?<!không\scần\s)(?<!need\sto\s)\b(?:gọi|call|quay\s+số)\s+(?:ngay\s+)?11[1345](?!\d)", re.I
)
_BACKGROUND = re.compile(
    r"\b(?:ghi\s+nhận|so\s+với\s+cùng\s+kỳ|từ\s+đầu\s+năm|theo\s+thống\s+kê|đã\s+xảy\s+ra)\b",
    re.IGNORECASE,
)
_DEADLINE = re.compile(
    r"\b(?:trước|chậm\s+nhất|hạn\s+chót|đến\s+hết)\s+(?:ngày\s+)?\d|\b(?:by|before|no\s+later\s+than)\s+\d",
    re.IGNORECASE,
)
_PENALTY = re.compile(r"\b(?:xử\s+phạt|bị\s+phạt|phạt\s+tiền|fined?|penalty)\b", re.IGNORECASE)
# A unit that only makes sense after the one before it («…; đã có 3 người bị chiếm đoạt
# …», «Sau thời hạn trên, …»).
_CONTINUES = re.compile(
    r"^(?:đã|và|nhưng|nên|do\s+đó|vì\s+vậy|còn|and|but|so)\b|"
    r"^(?:sau|ngoài|trong|quá)\s+(?:thời\s+hạn|khung\s+giờ|thời\s+gian)\s+(?:trên|nói\s+trên)\b|"
    r"^(?:như\s+trên|trường\s+hợp\s+(?:trên|vi\s+phạm))\b",
    re.IGNORECASE,
)
_ASK_LEADERS = re.compile(r"^đề\s+nghị\s+(?:trưởng|cán\s+bộ|các\s+đơn\s+vị|ban)", re.I)
_PLACEHOLDER_PHONE = re.compile(r"⟦P\d+⟧")


@dataclass(frozen=True, slots=True)
class Unit:
    """A sentence, or a clause of one, as it may appear in the summary."""

    index: int  # order in the notice
    line: int  # units of one source line are joined with a space, lines with a newline
    text: str
    original: str
    bullet: str = ""  # "- " when the source line was a dash item

    def with_text(self, text: str) -> Unit:
        return replace(self, text=text)


@lru_cache(maxsize=1)
def _sent_tokenize() -> Callable[[str], list[str]]:
    # Imported on first use: underthesea takes a moment to load. It needs no model file.
    from underthesea import sent_tokenize

    return cast(Callable[[str], list[str]], sent_tokenize)


_PIECE_CHARS = 1000


def _pieces(line: str) -> list[str]:
    """A long line in pieces of at most `_PIECE_CHARS`, cut after a sentence end or else at a
    space: underthesea's tokenizer takes quadratic time on long runs such as «.a.a.a…»."""
    pieces: list[str] = []
    while len(line) > _PIECE_CHARS:
        window = line[:_PIECE_CHARS]
        cut = max(window.rfind(". "), window.rfind("! "), window.rfind("? "))
        cut = cut + 1 if cut > 0 else window.rfind(" ")
        cut = cut if cut > 0 else _PIECE_CHARS
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def split_sentences(line: str) -> list[str]:
    """The sentences of one line of text."""
    line = line.strip()
    if not line:
        return []
    tokenize = _sent_tokenize()
    return [s.strip() for piece in _pieces(line) for s in tokenize(piece) if s.strip()]


def _clauses(sentence: str) -> list[str]:
    parts = re.split(r"(?<=;)\s+", sentence)
    return [p for p in parts if any(ch.isalpha() for ch in p)]


def units_of(lines: list[str]) -> list[Unit]:
    """Every unit of the message, in order; list numbers dropped, dashes kept."""
    units: list[Unit] = []
    for line_no, line in enumerate(lines):
        m = _LIST_MARK.match(line)
        bullet = "- " if m and m.group(2) else ""
        if m:
            line = line[m.end() :]
        for sentence in split_sentences(line):
            for clause in _clauses(sentence):
                units.append(Unit(len(units), line_no, clause, clause, bullet))
    return units


def has_phone(text: str) -> bool:
    """A phone number, or the placeholder of one (the engine also reads redacted text)."""
    return bool(find_phones(text)) or bool(_PLACEHOLDER_PHONE.search(text))


def has_when(text: str) -> bool:
    return bool(_DATE.search(text) or _TIME.search(text))


def is_background(text: str) -> bool:
    """Statistics, history and attributions: what happened, not what to do."""
    return bool(_BACKGROUND.search(text))


def score(text: str, *, lead: bool) -> int:
    """How much a unit carries what residents need to act on the notice."""
    s = 0
    s += 3 if _DATE.search(text) else 0
    s += 3 if _TIME.search(text) else 0
    s += 3 if has_phone(text) else 0
    s += 2 if _EMERGENCY.search(text) else 0
    s += 2 if _PLACE.search(text) else 0
    s += 2 if _AMOUNT.search(text) else 0
    s += 4 if _ACTION.search(text) or _ASK.match(text) else 0
    s += 1 if _WEEKDAY.search(text) else 0
    s += 1 if re.search(r"\d", text) else 0
    s += 3 if lead else 0
    s -= 3 if is_background(text) else 0
    s -= 5 if private_items(text) else 0  # a private number is never worth broadcasting
    s += 2 if _PENALTY.search(text) else 0
    s += 2 if _DEADLINE.search(text) else 0
    s -= 1 if _ASK_LEADERS.match(text) else 0
    return s


def continues(text: str) -> bool:
    """Whether a unit leans on the one before it, and cannot stand without it."""
    return bool(_CONTINUES.match(text))
