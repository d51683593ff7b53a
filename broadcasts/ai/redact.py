"""Personal data in a notice: finding it, hiding it from an external AI, masking it.

Before any request leaves the machine, phone numbers, citizen ID numbers, e-mail
addresses and personal names are replaced by placeholders (`⟦P1⟧`, `⟦ID1⟧`, `⟦E1⟧`,
`⟦N1⟧`); `restore` puts the originals back into the answer and reports placeholders the
answer made up. `find_private` lists what must not be broadcast without a second look
(private mobile numbers, ID numbers) and `mask_private` is the offer to hide them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

PhoneKind = Literal["mobile", "landline", "hotline"]
SpanKind = Literal["email", "id", "phone", "name"]

_PREFIX = {"email": "E", "id": "ID", "phone": "P", "name": "N"}
_PRIORITY = {"email": 0, "id": 1, "phone": 2, "name": 3}

# Vietnamese capital letters (precomposed, NFC) for the personal-name heuristic.
_UPPER = "A-ZÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴÈÉẸẺẼÊỀẾỆỂỄÌÍỊỈĨÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠÙÚỤỦŨƯỪỨỰỬỮỲÝỴỶỸĐ"
_CAP_WORD = rf"[{_UPPER}][^\W\d_]*"
_NAME = rf"{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,4}}"

PLACEHOLDER = re.compile(r"⟦\s*([A-Z]{1,2}\d{1,3})\s*⟧")
# Forms a model may turn a placeholder into; only restored when the key is known.
_LOOSE_PLACEHOLDER = re.compile(r"(?:⟦|\[\[?|【)\s*([A-Z]{1,2}\d{1,3})\s*(?:⟧|\]\]?|】)")

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ID_CONTIGUOUS = re.compile(r"(?<![\d])\d{12}(?![\d])")
_ID_KEYWORD = re.compile(
    r"(?:căn\s+cước(?:\s+công\s+dân)?|CCCD|CMND|CMT|chứng\s+minh(?:\s+nhân\s+dân)?|"
    r"định\s+danh(?:\s+cá\s+nhân)?)(?:\s+(?:số|là))?\s*:?\s*"
    r"(?P<num>\d{3}[ .]\d{3}[ .]\d{3}[ .]\d{3}|\d{12}|\d{9})(?![\d])",
    re.IGNORECASE,
)
# A run of digit groups joined by single separators; validated by `_phone_at`.
_DIGIT_RUN = re.compile(
    r"(?<![\w/.,+])(?:\(\s?(?:\+|00)?\d+\s?\)|(?:\+|00)?\d+)(?:[ .\-\u00a0]\d+)*"
)

_HONORIFIC = re.compile(
    rf"(?<![^\W\d_])(?P<hon>ông|bà|anh|chị|cô|chú|em|cháu|bác|dì|cậu|thím|mợ|"
    rf"Ông|Bà|Anh|Chị|Cô|Chú|Em|Cháu|Bác|Dì|Cậu|Thím|Mợ)[ \t]+(?P<name>{_NAME})"
)
_NAME_LABEL = re.compile(
    rf"(?:[Hh]ọ\s+(?:và\s+)?tên|[Tt]ên\s+là|[Mm]ang\s+tên|[Nn]gười\s+(?:liên\s+hệ|nhận))"
    rf"\s*:?\s*(?P<name>{_NAME})"
)
# Words right before an honorific that make it part of a place name (chợ Bà Chiểu…).
_PLACE_BEFORE = re.compile(
    r"(?:chợ|cầu|đường|phố|phường|xã|quận|huyện|tỉnh|hẻm|ngõ|kiệt|rạch|kênh|bến|ngã\s+\w+|"
    r"khu|ấp|thôn|cống|miếu|đình|chùa|trường|công\s+viên|nhà\s+thờ|số|số\s+nhà)\s*$",
    re.IGNORECASE,
)
_PLACE_NAMES = frozenset(
    {
        "Bà Rịa",
        "Bà Chiểu",
        "Bà Điểm",
        "Ông Lãnh",
        "Bà Hom",
        "Bà Quẹo",
        "Bà Lài",
        "Ông Tạ",
        "Bà Hạt",
        "Bà Triệu",
        "Bà Huyện Thanh Quan",
        "Bà Lê Chân",
        "Cô Giang",
        "Cô Bắc",
        "Ông Ích Khiêm",
        "Bà Kiệu",
        "Bà Ký",
        "Bà Đen",
    }
)
# Capitalised words that start phrases, not names (after "Người nhận:" and the like).
_NOT_NAME_START = frozenset(
    {
        "Ủy",
        "Uỷ",
        "UBND",
        "Công",
        "Trạm",
        "Ban",
        "Trung",
        "Phường",
        "Khu",
        "Tổ",
        "Đội",
        "Trường",
        "Hội",
        "Chi",
        "Phòng",
        "Sở",
        "Bệnh",
        "Nhà",
        "Văn",
        "Cơ",
        "Đài",
        "Tòa",
    }
)


@dataclass(frozen=True, slots=True)
class Phone:
    start: int
    end: int
    raw: str
    digits: str  # national form, "+84 903…" -> "0903…"
    kind: PhoneKind


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: SpanKind
    raw: str
    key: str  # what makes two spans the same item (digits for numbers)


@dataclass(frozen=True, slots=True)
class Redacted:
    """A text with personal data replaced by placeholders, and the way back."""

    text: str
    mapping: dict[str, str] = field(default_factory=dict)  # placeholder -> original

    @property
    def expansion(self) -> int:
        """How many characters restoring every placeholder once adds, at most."""
        return sum(max(0, len(orig) - len(ph)) for ph, orig in self.mapping.items())


def normalize(text: str) -> str:
    """NFC, so that precomposed and combining Vietnamese spell the same."""
    return unicodedata.normalize("NFC", text)


def national_digits(raw: str) -> str:
    """Digits of a phone number in national form: "+84 903 456 789" -> "0903456789"."""
    digits = re.sub(r"\D", "", raw)
    stripped = raw.strip().lstrip("( ")
    if stripped.startswith("+84") or (stripped.startswith("0084") and len(digits) > 10):
        digits = "0" + digits[4:] if digits.startswith("0084") else "0" + digits[2:]
    return digits


def phone_kind(digits: str) -> PhoneKind | None:
    if re.fullmatch(r"0[35789]\d{8}", digits):
        return "mobile"
    if re.fullmatch(r"02\d{9}", digits):
        return "landline"
    if re.fullmatch(r"1[89]00(?:\d{4}|\d{6})", digits):
        return "hotline"
    return None


def find_phones(text: str) -> list[Phone]:
    """Vietnamese phone numbers: 0903 456 789, 0903456789, +84 903 456 789, 028 3820 1234,
    1900 545454. Short service numbers (113, 114, 115) are not phone numbers here."""
    found: list[Phone] = []
    for run in _DIGIT_RUN.finditer(text):
        found.extend(_phones_in_run(run.group(), run.start()))
    return found


def _phones_in_run(run: str, offset: int) -> list[Phone]:
    # Split into groups with their positions; try the longest valid number at each start.
    groups = [(m.start(), m.end()) for m in re.finditer(r"\+?\d+", run)]
    found: list[Phone] = []
    i = 0
    while i < len(groups):
        match: Phone | None = None
        for j in range(len(groups), i, -1):
            if j - i > 1 and any(e - s > 7 for s, e in groups[i:j]):
                continue  # a long block glued to other blocks is not one number
            start, end = (0 if i == 0 else groups[i][0]), groups[j - 1][1]
            raw = run[start:end]
            digits = national_digits(raw)
            kind = phone_kind(digits)
            if kind is not None:
                match = Phone(offset + start, offset + end, raw, digits, kind)
                i = j
                break
        if match is None:
            i += 1
        else:
            found.append(match)
    return found


def find_id_numbers(text: str) -> list[tuple[int, int, str]]:
    """12-digit citizen ID numbers (CCCD), and 9-digit or spaced ones after a keyword."""
    spans: dict[int, tuple[int, int, str]] = {}
    for m in _ID_CONTIGUOUS.finditer(text):
        spans[m.start()] = (m.start(), m.end(), m.group())
    for m in _ID_KEYWORD.finditer(text):
        spans[m.start("num")] = (m.start("num"), m.end("num"), m.group("num"))
    return sorted(spans.values())


def find_names(text: str) -> list[tuple[int, int, str]]:
    """Personal names: after an honorific (bà Trần Thị Mai) or a label (Họ tên: …).

    Place names built on honorifics (chợ Bà Chiểu, cầu Ông Lãnh, đường Cô Giang) are not
    names; neither are street names or addresses, which carry no honorific. When in doubt
    a word is redacted: a placeholder too many costs the model a little context, a name
    too few leaks it.
    """
    found: list[tuple[int, int, str]] = []
    for m in _HONORIFIC.finditer(text):
        hon, name = m.group("hon"), m.group("name")
        before = text[: m.start()]
        if _PLACE_BEFORE.search(before):
            continue
        if f"{hon} {name.split()[0]}" in _PLACE_NAMES or f"{hon} {name}" in _PLACE_NAMES:
            continue
        if hon[0].isupper() and re.search(r"\b(?:tại|ở)\s*$", before, re.IGNORECASE):
            continue  # "tại Bà Điểm": a place
        if name.split()[0] in _NOT_NAME_START:
            continue
        found.append((m.start("name"), m.end("name"), name))
    for m in _NAME_LABEL.finditer(text):
        name = m.group("name")
        if name.split()[0] in _NOT_NAME_START:
            continue
        found.append((m.start("name"), m.end("name"), name))
    return found


def find_spans(text: str) -> list[Span]:
    """Every personal item in `text`, without overlaps (e-mail > ID > phone > name)."""
    candidates: list[Span] = []
    for m in _EMAIL.finditer(text):
        candidates.append(Span(m.start(), m.end(), "email", m.group(), m.group().lower()))
    for start, end, raw in find_id_numbers(text):
        candidates.append(Span(start, end, "id", raw, re.sub(r"\D", "", raw)))
    for p in find_phones(text):
        candidates.append(Span(p.start, p.end, "phone", p.raw, p.digits))
    for start, end, raw in find_names(text):
        candidates.append(Span(start, end, "name", raw, raw))
    candidates.sort(key=lambda s: (_PRIORITY[s.kind], s.start))
    chosen: list[Span] = []
    for span in candidates:
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def redact(text: str) -> Redacted:
    """Replace personal items by placeholders; the same item always gets the same one."""
    text = normalize(text)
    keys: dict[tuple[str, str], str] = {}
    counters: dict[str, int] = {}
    mapping: dict[str, str] = {}
    out: list[str] = []
    pos = 0
    for span in find_spans(text):
        ident = (span.kind, span.key)
        placeholder = keys.get(ident)
        if placeholder is None:
            prefix = _PREFIX[span.kind]
            counters[prefix] = counters.get(prefix, 0) + 1
            placeholder = f"⟦{prefix}{counters[prefix]}⟧"
            keys[ident] = placeholder
            mapping[placeholder] = span.raw
        out.append(text[pos : span.start])
        out.append(placeholder)
        pos = span.end
    out.append(text[pos:])
    return Redacted("".join(out), mapping)


def restore(text: str, mapping: Mapping[str, str]) -> tuple[str, list[str]]:
    """Put the originals back. Returns the text and the placeholders nobody sent."""
    known = {PLACEHOLDER.sub(r"\1", k): v for k, v in mapping.items()}
    invented: list[str] = []

    def strict(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in known:
            return known[key]
        if m.group() not in invented:
            invented.append(m.group())
        return m.group()

    def loose(m: re.Match[str]) -> str:
        return known.get(m.group(1), m.group())

    text = PLACEHOLDER.sub(strict, text)
    text = _LOOSE_PLACEHOLDER.sub(loose, text)
    return text, invented


def private_items(text: str) -> list[tuple[Literal["phone", "id"], str]]:
    """Private mobile numbers and ID numbers, each once, in order of appearance.

    Organisational numbers (landlines such as 028…, hotlines 1800/1900…, 113/114/115)
    are public and not listed.
    """
    text = normalize(text)
    items: list[tuple[Literal["phone", "id"], str]] = []
    seen: set[str] = set()
    for span in find_spans(text):
        if span.kind == "id" or (span.kind == "phone" and phone_kind(span.key) == "mobile"):
            if span.key in seen:
                continue
            seen.add(span.key)
            items.append(("id" if span.kind == "id" else "phone", span.raw))
    return items


def find_private(text: str) -> list[str]:
    """Private identifiers in a notice, as written there (for warnings and masking)."""
    return [raw for _, raw in private_items(text)]


def _mask_digits(raw: str, keep: int) -> str:
    out: list[str] = []
    seen = 0
    for ch in raw:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen <= keep else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_item(kind: Literal["phone", "id"], raw: str) -> str:
    """ "0903 456 789" -> "0903 *** ***"; "079185004321" -> "079*********"."""
    if kind == "id":
        return _mask_digits(raw, 3)
    stripped = raw.lstrip().lstrip("( ")
    keep = 5 if stripped.startswith("+84") else 7 if stripped.startswith("0084") else 4
    return _mask_digits(raw, keep)


def mask_private(text: str) -> str:
    """Hide the digits of private mobile numbers and ID numbers, keep everything else."""
    text = normalize(text)
    spans = [
        s
        for s in find_spans(text)
        if s.kind == "id" or (s.kind == "phone" and phone_kind(s.key) == "mobile")
    ]
    out: list[str] = []
    pos = 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(mask_item("id" if span.kind == "id" else "phone", span.raw))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def placeholders_in(text: str) -> list[str]:
    return [m.group() for m in PLACEHOLDER.finditer(text)]


def all_phone_digits(texts: Iterable[str]) -> set[str]:
    return {p.digits for t in texts for p in find_phones(normalize(t))}
