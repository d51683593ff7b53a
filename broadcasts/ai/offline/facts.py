"""The key facts of a notice — when, where, for whom, whom to call — and what they take
out of the body, so that each fact is said once.

- «Thời gian» is when residents act or the event happens: a labelled line («Thời gian:
  …») or the first event span (never a deadline, a citation or a date in background).
- «Địa điểm» is a labelled line or a «tại …» phrase naming a real place (a number or a
  name, not «tại nhà»).
- «Đối tượng» comes only from a labelled line, and not when it says no more than «bà con».
- «Liên hệ» is a short unit whose purpose is a public number (an office, a hotline, 113).

Each fact records what it used: whole units (`dropped`) or spans of units (`cuts`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from broadcasts.ai.offline.sentences import CAP, Unit, is_background
from broadcasts.ai.offline.when import WhenSpan, when_spans
from broadcasts.ai.redact import find_phones, phone_kind

_LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "when": r"thời\s+gian(?:\s+(?:tổ\s+chức|thực\s+hiện|họp))?|thời\s+điểm|ngày\s+giờ",
        "where": r"địa\s+điểm(?:\s+(?:tổ\s+chức|họp|tiêm))?|điểm\s+tập\s+(?:trung|kết)|"
        r"nơi\s+(?:tổ\s+chức|tiếp\s+nhận|họp)|địa\s+chỉ|khu\s+vực(?:\s+(?:bị\s+)?ảnh\s+hưởng)?",
        "who": r"đối\s+tượng|thành\s+phần(?:\s+tham\s+dự)?",
        "contact": r"liên\s+hệ|điện\s+thoại(?:\s+[^\W\d_]+){0,2}|hotline|đường\s+dây\s+nóng",
    },
    "en": {
        "when": r"when|time|date|date\s+and\s+time",
        "where": r"where|venue|place|location|address|affected\s+areas?",
        "who": r"who|for|participants",
        "contact": r"contact|hotline|phone|tel",
    },
}
_CONTACT_WORD = re.compile(
    r"liên\s+hệ|gọi|điện\s+thoại|hotline|đường\s+dây\s+nóng|tổng\s+đài|trực\s+ban|số\s+máy|"
    r"\bcall\b|\bcontact\b|\bphone\b",
    re.IGNORECASE,
)
_CONTACT_FILLER = re.compile(
    r"^(?:(?:mọi|mọi\s+chi\s+tiết|mọi\s+thông\s+tin)\s+thắc\s+mắc|(?:thông\s+tin\s+)?chi\s+tiết|"
    r"mọi\s+(?:chi\s+tiết|thông\s+tin)|để\s+biết\s+thêm\s+(?:chi\s+tiết|thông\s+tin)|"
    r"mọi\s+ý\s+kiến)[\s,]*(?:(?:xin|vui\s+lòng)\s+)?(?:bà\s+con\s+)?(?:liên\s+hệ|gọi)\s+",
    re.IGNORECASE,
)
_NO_CALL = re.compile(
    r"\b(?:no\s+need\s+to|do\s+not|không\s+cần|không\s+được)\s+(?:call|gọi)\b", re.I
)
_EMERGENCY = re.compile(r"(?<!\d)11[1345](?!\d)")
_PLACEHOLDER_PHONE = re.compile(r"⟦P\d+⟧")
_AT = re.compile(r"(?:^|\s)(?:tại|ở)\s+", re.IGNORECASE)
_PLACE_STOP = re.compile(
    r"[.;\n]|,\s+(?=(?:từ|vào|lúc|trong|để|nhằm|với|khi|nếu|theo|mang|đề\s+nghị)\b)",
    re.IGNORECASE,
)
_NOT_A_PLACE = re.compile(
    r"^(?:nhà|gia\s+đình|chỗ|địa\s+bàn|điểm\s+tập\s+kết\s+của|các\s+điểm|khu\s+vực\s+này)\b",
    re.IGNORECASE,
)
_TRIVIAL_WHO = re.compile(
    r"^(?:toàn\s+thể\s+)?(?:bà\s+con(?:\s+nhân\s+dân)?|người\s+dân|nhân\s+dân|mọi\s+người|"
    r"các\s+hộ(?:\s+gia\s+đình)?|(?:all\s+)?residents)(?:\s+trên\s+địa\s+bàn.*)?\.?$",
    re.IGNORECASE,
)
_FOR = re.compile(
    r"(?<!không\s)\bcho\s+((?:trẻ|người|học\s+sinh|phụ\s+nữ|công\s+dân|thanh\s+niên)\b[^,.;()]*)",
    re.IGNORECASE,
)
_RANK = {(True, True): 0, (False, True): 1, (True, False): 2, (False, False): 3}
CONTACT_MAX_CHARS = 170
_PLACE_MAX_CHARS = 300
_WHEN_MAX_CHARS = 40  # longer than any date or time atom


@dataclass(slots=True)
class KeyFacts:
    values: dict[str, str] = field(default_factory=dict)
    cuts: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    dropped: set[int] = field(default_factory=set)

    def cut(self, unit: Unit, start: int, end: int) -> None:
        self.cuts.setdefault(unit.index, []).append((start, end))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _labelled(unit: Unit, language: str) -> tuple[str, str, str] | None:
    """(key, label as written, value) of a «Label: value» unit."""
    for key, pattern in _LABELS.get(language, _LABELS["vi"]).items():
        m = re.match(rf"^({pattern})\s*:\s*", unit.text, re.IGNORECASE)
        if m:
            return key, m.group(1), unit.text[m.end() :].strip().rstrip(".;")
    return None


def _public_number(text: str) -> bool:
    phones = find_phones(text)
    if any(phone_kind(p.digits) != "mobile" for p in phones):
        return True
    if _PLACEHOLDER_PHONE.search(text) or _EMERGENCY.search(text):
        return True
    return bool(phones) and bool(re.match(r"^\s*(?:liên\s+hệ|contact|call)\b", text, re.I))


def _contact_value(unit: Unit) -> str:
    text = _CONTACT_FILLER.sub("", unit.text.strip()).rstrip(".;")
    text = re.sub(r"^liên\s+hệ\s+", "", text, flags=re.IGNORECASE)
    return _capital(text)


def _when(units: list[Unit], facts: KeyFacts, language: str) -> None:
    found: list[tuple[Unit, WhenSpan]] = [
        (u, s)
        for u in units
        if u.index not in facts.dropped and not is_background(u.original)
        for s in when_spans(u.text, language)
        if s.kind == "event"
    ]
    if not found:
        return
    unit, best = min(found, key=lambda p: (_RANK[(p[1].has_date, p[1].has_time)], p[0].index))
    used = [(u, s) for u, s in found if u is unit]
    if not any(s.has_date for _, s in used):
        # "Từ 17 giờ đến 20 giờ" and, elsewhere, the one date of the notice: that day.
        dated = {re.sub(r"\D", "", s.text): (u, s) for u, s in found if s.has_date}
        if len(dated) == 1:
            used.append(next(iter(dated.values())))
    used.sort(key=lambda p: (p[0].index, p[1].start))
    for u, s in used:
        facts.cut(u, s.start, s.end)
    parts = [s.text for _, s in used]
    parts[1:] = [
        re.sub(r"^(Từ|Vào|Lúc|Ngày|Trong|Kể|Bắt)\b", lambda m: m.group().lower(), p)
        for p in parts[1:]
    ]
    facts.values["when"] = _capital(", ".join(parts))


def _where(units: list[Unit], facts: KeyFacts, language: str) -> None:
    """A «tại …» place in the unit that said when, or else in the opening unit."""
    content = [u for u in units if u.index not in facts.dropped]
    places = [u for u in content if u.index in facts.cuts][:1] or content[:1]
    for unit in places:
        if is_background(unit.original) or re.match(r"\s*theo\b", unit.text, re.I):
            continue
        taken = facts.cuts.get(unit.index, [])
        for m in _AT.finditer(unit.text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            # A place is a short phrase: looking further would make many «tại» quadratic.
            rest = unit.text[m.end() : m.end() + _PLACE_MAX_CHARS]
            stop = _PLACE_STOP.search(rest)
            end = stop.start() if stop else len(rest)
            for span in when_spans(rest[: end + _WHEN_MAX_CHARS], language):
                end = min(end, span.start)
            for a, _ in taken:
                if a > m.end():
                    end = min(end, a - m.end())
            value = rest[:end].strip(" ,")
            if _NOT_A_PLACE.match(value) or not (
                re.search(r"\d", value) or re.search(rf"(?<!^){CAP}", value)
            ):
                continue
            facts.cut(unit, m.start(), m.end() + end)
            facts.values["where"] = _capital(value)
            return


def _who(units: list[Unit], facts: KeyFacts) -> None:
    """«… cho trẻ từ 1 tuổi đến dưới 6 tuổi …» in the opening unit: whom it is for."""
    content = [u for u in units if u.index not in facts.dropped][:1]
    for unit in content:
        m = _FOR.search(unit.text)
        purpose = m and re.search(
            r"(?:thuận\s+lợi|điều\s+kiện|phục\s+vụ)\s*$", unit.text[: m.start()]
        )
        if m and not purpose and not _TRIVIAL_WHO.match(m.group(1)) and len(m.group(1)) >= 12:
            if any(a < m.end() and m.start() < b for a, b in facts.cuts.get(unit.index, [])):
                return
            facts.cut(unit, m.start(), m.end())
            facts.values["who"] = _capital(m.group(1).strip())


def key_facts(units: list[Unit], language: str) -> KeyFacts:
    """Read the key facts; note the units and spans they take out of the body."""
    facts = KeyFacts()
    contacts: list[str] = []
    for unit in units:
        labelled = _labelled(unit, language)
        if labelled is not None:
            key, label, value = labelled
            if not value:
                continue
            if key == "contact":
                plain = re.fullmatch(r"liên\s+hệ|contact", label, re.IGNORECASE)
                contacts.append(_capital(value) if plain else unit.text.strip().rstrip(".;"))
            elif key == "who" and _TRIVIAL_WHO.match(value):
                pass
            elif key not in facts.values:
                facts.values[key] = _capital(value)
            else:
                continue
            facts.dropped.add(unit.index)
    for unit in units:
        if unit.index in facts.dropped or len(contacts) >= 2:
            continue
        text = unit.text
        if (
            _public_number(text)
            and _CONTACT_WORD.search(text)
            and not _NO_CALL.search(text)
            and len(text) <= CONTACT_MAX_CHARS
            and all(s.kind == "deadline" for s in when_spans(text, language))
        ):
            contacts.append(_contact_value(unit))
            facts.dropped.add(unit.index)
    if contacts:
        facts.values["contact"] = "; ".join(contacts)
    if "when" not in facts.values:
        _when(units, facts, language)
    if "where" not in facts.values and language != "en":
        _where(units, facts, language)
    if "who" not in facts.values:
        _who(units, facts)
    return facts
