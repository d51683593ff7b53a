"""The offline engine: an extractive summary and regex key facts, with no network at all.

Headers ("THÔNG BÁO", "Về việc …") become the title. Body sentences (split with
underthesea's `sent_tokenize`) are scored for what residents need — dates, times,
places, amounts, phone numbers, things to do — and the best ones that fit the limit are
kept in document order, lightly trimmed of purpose and attribution clauses. Key facts
(when / where / who / action / contact) are read with regular expressions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from broadcasts.ai.redact import PLACEHOLDER, find_phones, normalize, phone_kind

_UPPER = "A-ZÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴÈÉẸẺẼÊỀẾỆỂỄÌÍỊỈĨÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠÙÚỤỦŨƯỪỨỰỬỮỲÝỴỶỸĐ"
_CAP = rf"[{_UPPER}][^\W\d_]*"

_T = r"\d{1,2}\s*(?:giờ|h(?![^\W\d_])|:)(?:\s*\d{2}(?!\d))?(?:\s*phút)?"
_DATE_RE = re.compile(
    r"(?<![\d/])\d{1,2}\s*/\s*\d{1,2}(?:\s*/\s*\d{2,4})?(?![\d/])|"
    r"(?<!\d)\d{1,2}\s+tháng\s+\d{1,2}(?!\d)",
    re.IGNORECASE,
)
_TIME_RE = re.compile(rf"(?<!\d){_T}", re.IGNORECASE)
_WEEKDAY_RE = re.compile(r"\bthứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])\b|\bchủ\s+nhật\b", re.IGNORECASE)
_PLACE_RE = re.compile(
    r"(?:\bsố\s+\d+|\bhẻm\s+\d+|\bngõ\s+\d+|\bkiệt\s+\d+|khu\s+phố\s+\d+|\bđường\s+["
    + _UPPER
    + r"]|địa\s+điểm|điểm\s+tập\s+(?:trung|kết)|\btại\b|nhà\s+văn\s+hóa|trụ\s+sở)",
    re.IGNORECASE,
)
_AMOUNT_RE = re.compile(
    r"\d[\d.,]*\s*(?:đồng|vnđ|vnd|triệu|nghìn|ngàn|%)|miễn\s+phí|có\s+thu\s+phí|lệ\s+phí",
    re.IGNORECASE,
)
_ACTION_RE = re.compile(
    r"\b(?:đề\s+nghị|yêu\s+cầu|vui\s+lòng|mang\s+theo|chủ\s+động|cần|phải|hãy|cử|dành|"
    r"đăng\s+ký|đặt\s+lịch|tham\s+dự|di\s+chuyển|kê\s+cao|không\s+tự\s+ý|không\s+được|"
    r"liên\s+hệ|gọi|đến\s+ngay|nộp|rút\s+phích)\b",
    re.IGNORECASE,
)
_EMERGENCY_RE = re.compile(r"(?<!\d)11[1345](?!\d)")
_BACKGROUND_RE = re.compile(
    r"\b(?:ghi\s+nhận|so\s+với\s+cùng\s+kỳ|từ\s+đầu\s+năm|theo\s+thống\s+kê)\b", re.IGNORECASE
)
_LABEL_RE = re.compile(
    r"^(thời\s+gian|thời\s+điểm|địa\s+điểm|điểm\s+tập\s+trung|điểm\s+tập\s+kết|nơi\s+\w+|"
    r"đối\s+tượng|hồ\s+sơ|liên\s+hệ|điện\s+thoại\s*\w*|hotline|lưu\s+ý)\s*:",
    re.IGNORECASE,
)
_BOILERPLATE_RE = re.compile(
    r"^(?:trân\s+trọng(?:\s+\w+)*[.!]?|kính\s+gửi\b.*|nơi\s+nhận\b.*|rất\s+mong\b.*|"
    r"xin\s+trân\s+trọng\b.*|t/?m\.?\s.*|kt\.\s.*|\./\.)$",
    re.IGNORECASE,
)
_DOC_TYPES = {
    "THÔNG BÁO",
    "KẾ HOẠCH",
    "GIẤY MỜI",
    "THƯ MỜI",
    "CÔNG VĂN",
    "QUYẾT ĐỊNH",
    "TỜ TRÌNH",
    "THÔNG CÁO",
    "LỜI KÊU GỌI",
    "CẢNH BÁO",
}
_HEADER_START_RE = re.compile(
    r"^(?:v/v|về\s+việc|thông\s+báo|kế\s+hoạch|giấy\s+mời|thư\s+mời|cảnh\s+báo|khẩn|lịch)\b",
    re.IGNORECASE,
)
_SUBJECT_PREFIX_RE = re.compile(
    r"^(?:thông\s+báo\s+)?(?:về\s+việc|v/v)\s*:?\s*|^thông\s+báo\s+(?=\w)", re.IGNORECASE
)
# Leading clauses a summary can do without: purpose ("Nhằm …,", "Để …,") and source
# attribution ("Theo …,").
_LEAD_CLAUSE_RE = re.compile(r"^(?:nhằm|để|theo)\s[^,;:]{3,90},\s*", re.IGNORECASE)
_PAREN_RE = re.compile(r"\s*\([^()\d]*\)")
_URGENT_RE = re.compile(
    r"\b(?:hỏa\s+tốc|hoả\s+tốc|triều\s+cường|ngập(?:\s+úng|\s+sâu|\s+nước)?|bão|áp\s+thấp|"
    r"lũ|sạt\s+lở|sơ\s+tán|động\s+đất|sóng\s+thần|lốc\s+xoáy)\b",
    re.IGNORECASE,
)
_URGENT_TITLE_RE = re.compile(r"\bkhẩn\b|\bkhẩn\s+cấp\b", re.IGNORECASE)
_SUDDEN_RE = re.compile(
    r"(?:cúp|cắt|mất|ngừng|ngưng)\s+(?:cung\s+cấp\s+|cấp\s+)?(?:điện|nước)[^.]{0,60}"
    r"đột\s+xuất|đột\s+xuất[^.]{0,60}(?:cúp|cắt|mất|ngừng|ngưng)\s+(?:cung\s+cấp\s+|cấp\s+)?"
    r"(?:điện|nước)|sự\s+cố\s+(?:điện|nước|vỡ\s+ống)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Sentence:
    index: int
    line: int
    text: str  # as it will appear in the summary (lead clause trimmed)
    original: str
    score: int


@dataclass(frozen=True, slots=True)
class OfflineResult:
    title: str
    summary: str
    facts: dict[str, str]


@lru_cache(maxsize=1)
def _sent_tokenize() -> Callable[[str], list[str]]:
    # Imported on first use: underthesea takes a moment to load.
    from underthesea import sent_tokenize

    return cast(Callable[[str], list[str]], sent_tokenize)


def split_sentences(line: str) -> list[str]:
    line = line.strip()
    if not line:
        return []
    return [s.strip() for s in _sent_tokenize()(line) if s.strip()]


def _is_header(line: str, position: int) -> bool:
    """Headers are short lines at the top: all capitals, "Về việc …", "Thông báo …", or a
    subject line right below one of those."""
    if len(line) > 150:
        return False
    letters = [ch for ch in line if ch.isalpha()]
    if letters and all(ch.isupper() for ch in letters):
        return True
    if line.endswith((".", ";", "!", "?")):
        return False
    if _HEADER_START_RE.match(line):
        return True
    return position > 0 and len(line) <= 100 and not any(ch.isdigit() for ch in line)


def _sentence_case(text: str) -> str:
    letters = [ch for ch in text if ch.isalpha()]
    if letters and all(ch.isupper() for ch in letters):
        text = text.lower()
        text = re.sub(r"(:\s*)(\w)", lambda m: m.group(1) + m.group(2).upper(), text)
    return text[:1].upper() + text[1:]


def _split_header(lines: list[str]) -> tuple[list[str], list[str]]:
    headers: list[str] = []
    rest = list(lines)
    while rest:
        line = rest[0].strip()
        if not line:
            rest.pop(0)
            continue
        if len(headers) < 3 and _is_header(line, len(headers)):
            headers.append(line)
            rest.pop(0)
            continue
        break
    return headers, rest


def _title_from_headers(headers: list[str]) -> str | None:
    subjects = [h for h in headers if h.upper().strip(" :") not in _DOC_TYPES]
    if not subjects:
        return None
    subject = " – ".join(_clean_subject(s) for s in subjects[:2])
    return subject or None


def _clean_subject(line: str) -> str:
    line = line.strip().rstrip(".:")
    stripped = _SUBJECT_PREFIX_RE.sub("", line)
    if len(stripped) >= 10:
        line = stripped
    return _sentence_case(line)


def _title_from_sentence(sentence: str) -> str:
    text = sentence.strip().rstrip(".")
    m = re.search(r"\bthông\s+báo\s+(?:về\s+việc\s+)?", text, re.IGNORECASE)
    if m and len(text) - m.end() > 15:
        text = text[m.end() :]
    text = _LEAD_CLAUSE_RE.sub("", text)
    if len(text) > 80:
        cut = -1
        for marker in (",", " cho ", " tại ", " vào ", " từ ", " để "):
            pos = text.find(marker, 25)
            if 0 < pos <= 80 and (cut < 0 or pos < cut):
                cut = pos
        if cut > 0:
            text = text[:cut]
        else:
            text = text[:80].rsplit(" ", 1)[0] + "…"
    return text[:1].upper() + text[1:]


def _has_phone(text: str) -> bool:
    """A phone number, or the placeholder of one (the engine also reads redacted text)."""
    return bool(find_phones(text)) or bool(re.search(r"⟦P\d+⟧", text))


def score(text: str, *, lead: bool) -> int:
    """How much a sentence carries what residents need to act on the notice."""
    s = 0
    s += 3 if _DATE_RE.search(text) else 0
    s += 3 if _TIME_RE.search(text) else 0
    s += 3 if _has_phone(text) else 0
    s += 2 if _EMERGENCY_RE.search(text) and re.search(r"\bgọi\b", text, re.I) else 0
    s += 2 if _PLACE_RE.search(text) else 0
    s += 2 if _AMOUNT_RE.search(text) else 0
    s += 2 if _ACTION_RE.search(text) else 0
    s += 2 if _LABEL_RE.match(text) else 0
    s += 1 if _WEEKDAY_RE.search(text) else 0
    s += 1 if re.search(r"\d", text) else 0
    s += 1 if lead else 0
    s -= 3 if _BACKGROUND_RE.search(text) else 0
    s -= 1 if re.match(r"^đề\s+nghị\s+(?:trưởng|cán\s+bộ|các\s+đơn\s+vị|ban)", text, re.I) else 0
    return s


def _trim(sentence: str) -> str:
    trimmed = _LEAD_CLAUSE_RE.sub("", sentence)
    if trimmed != sentence and len(trimmed) >= 30:
        return trimmed[:1].upper() + trimmed[1:]
    return sentence


def body_sentences(lines: list[str]) -> list[Sentence]:
    sentences: list[Sentence] = []
    for line_no, line in enumerate(lines):
        for text in split_sentences(line):
            if _BOILERPLATE_RE.match(text):
                continue
            short = _trim(text)
            sentences.append(
                Sentence(len(sentences), line_no, short, text, score(text, lead=not sentences))
            )
    return sentences


def _joined(chosen: list[Sentence]) -> str:
    out: list[str] = []
    last_line: int | None = None
    for s in sorted(chosen, key=lambda s: s.index):
        if out:
            out.append(" " if s.line == last_line else "\n")
        out.append(s.text)
        last_line = s.line
    return "".join(out)


def select(sentences: list[Sentence], max_chars: int) -> str:
    """The best sentences that fit, in document order."""
    if not sentences:
        return ""
    if len(_joined(sentences)) <= max_chars:
        return _joined(sentences)
    chosen: list[Sentence] = []
    for s in sorted(sentences, key=lambda s: (-s.score, s.index)):
        if s.score < 2 and chosen:
            continue
        for variant in (s.text, _PAREN_RE.sub("", s.text)):
            candidate = Sentence(s.index, s.line, variant, s.original, s.score)
            if len(_joined([*chosen, candidate])) <= max_chars:
                chosen.append(candidate)
                break
    if not chosen:
        best = max(sentences, key=lambda s: (s.score, -s.index))
        return best.text[: max_chars - 1].rstrip() + "…"
    return _joined(chosen)


def _clause(text: str, start: int, *, stops: str = ".;\n", limit: int = 180) -> str:
    end = len(text)
    for ch in stops:
        pos = text.find(ch, start)
        if pos != -1:
            end = min(end, pos)
    value = text[start:end].strip(" ,:")
    if len(value) > limit:
        cut = value.rfind(",", 0, limit)
        value = value[:cut] if cut > 40 else value[:limit].rsplit(" ", 1)[0] + "…"
    return value


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


_WHEN_LABEL = re.compile(r"^(?:thời\s+gian|thời\s+điểm|ngày\s+giờ)\s*:\s*", re.IGNORECASE)
_WHERE_LABEL = re.compile(
    r"^(?:địa\s+điểm|điểm\s+tập\s+trung|điểm\s+tập\s+kết|nơi\s+tổ\s+chức|nơi\s+tiếp\s+nhận|"
    r"nơi\s+\w+|tại)\s*:\s*",
    re.IGNORECASE,
)
_TIME_RANGE = re.compile(
    rf"(?:(?:từ|lúc|vào\s+lúc|trước|sau)\s+)?(?<!\d){_T}"
    rf"(?:\s*(?:đến|tới|-|–)\s*{_T})?(?:\s+(?:sáng|trưa|chiều|tối))?",
    re.IGNORECASE,
)
_WEEKDAY_EXPR = re.compile(
    r"(?:(?:sáng|trưa|chiều|tối)\s+)?(?:thứ\s+(?:Hai|Ba|Tư|Năm|Sáu|Bảy|[2-7])|Chủ\s+nhật)"
    r"(?:\s+(?:hằng|hàng)\s+tuần)?",
    re.IGNORECASE,
)
_DATE_EXPR = re.compile(
    r"(?:(?:kể\s+từ|bắt\s+đầu\s+từ|từ|đến\s+hết|trước)\s+)?(?:ngày\s+)?"
    r"(?<![\d/])\d{1,2}\s*/\s*\d{1,2}(?:\s*/\s*\d{2,4})?(?![\d/])",
    re.IGNORECASE,
)
_ADDRESS = re.compile(
    rf"(?:\bsố\s+)?\d+[\w/]*\s+(?:hẻm\s+\d+[\w/]*\s+)?(?!Tháng\b){_CAP}(?:\s+{_CAP}){{0,3}}"
)
_PLACE_WORD = re.compile(
    r"^(?:khu\s+vực|khu\s+phố|phường|hẻm|đường|số|nhà\s+văn\s+hóa|trụ\s+sở|sân|trường|chợ|"
    r"công\s+viên|ủy\s+ban|ubnd|trạm\s+y\s+tế|các\s+tuyến)",
    re.IGNORECASE,
)
_STREETS = re.compile(
    rf"(?:các\s+)?(?:tuyến\s+)?đường\s+{_CAP}(?:\s+{_CAP})*(?:,\s*{_CAP}(?:\s+{_CAP})*)*"
    rf"(?:\s+và\s+(?:hẻm\s+\d+|{_CAP}(?:\s+{_CAP})*))?"
)
_VERB_AFTER_SUBJECT = (
    r"(?=\s+(?:chủ\s+động|cần|đến|mang|dành|vui\s+lòng|có\s+thể|không|nên|phải|được|hãy|"
    r"đăng\s+ký|cử|sắp\s+xếp|thực\s+hiện|tham\s+gia|lưu\s+ý)\b)"
)
_SUBJECT = re.compile(
    r"^(?:khi\s+đi,\s*)?((?:người\s+dân|người|mỗi\s+hộ(?:\s+gia\s+đình)?|các\s+hộ(?:\s+gia\s+đình)?|"
    r"hộ\s+gia\s+đình|bà\s+con|phụ\s+huynh|học\s+sinh|các\s+cơ\s+sở|chủ\s+hộ)\b.*?)"
    + _VERB_AFTER_SUBJECT,
    re.IGNORECASE,
)
_INVITE = re.compile(r"kính\s+mời\s+(.+?)\s+(?:đến|tham\s+dự|dự)\b", re.IGNORECASE)
_FOR = re.compile(
    r"(?<!không\s)\bcho\s+((?:trẻ|người|các|hộ|học\s+sinh|phụ\s+nữ|người\s+dân|bà\s+con)\b[^,.;]*)",
    re.IGNORECASE,
)
_ASK = re.compile(
    r"^(?:đề\s+nghị|yêu\s+cầu|kính\s+đề\s+nghị)\s+(.+?)" + _VERB_AFTER_SUBJECT, re.IGNORECASE
)
_CONTACT_KEY = re.compile(
    r"liên\s+hệ|gọi|điện\s+thoại|hotline|đường\s+dây\s+nóng|tổng\s+đài|số\s+máy", re.IGNORECASE
)
_STRONG_ACTION = re.compile(
    r"\b(?:đề\s+nghị|yêu\s+cầu|vui\s+lòng|mang\s+theo|chủ\s+động|cử|dành|cần|phải|hãy|"
    r"đặt\s+lịch)\b",
    re.IGNORECASE,
)
_WEAK_ACTION = re.compile(r"\b(?:đăng\s+ký|tham\s+dự|liên\s+hệ|đến)\b", re.IGNORECASE)


def _when(sentences: list[str]) -> str:
    for s in sentences:
        m = _WHEN_LABEL.match(s)
        if m:
            return _capital(_clause(s, m.end(), stops="\n").rstrip("."))
    date_sentence = next((s for s in sentences if _DATE_EXPR.search(s)), None)
    time_sentence = next((s for s in sentences if _TIME_RANGE.search(s)), None)
    if date_sentence is None and time_sentence is None:
        return ""
    # (sentence order, start, end, sentence) of each piece: date, weekday, time range.
    spans: list[tuple[int, int, int, str]] = []
    for order, sentence, pattern in (
        (1, date_sentence, _DATE_EXPR),
        (1, date_sentence, _WEEKDAY_EXPR),
        (0, time_sentence, _TIME_RANGE),
        (0, time_sentence, _WEEKDAY_EXPR),
    ):
        if sentence is None:
            continue
        m = pattern.search(sentence)
        if m is None:
            continue
        same = sentence is date_sentence
        spans.append((1 if same else order, m.start(), m.end(), sentence))
    spans.sort(key=lambda p: (p[0], p[1]))
    values: list[str] = []
    covered: dict[int, list[tuple[int, int]]] = {}
    for _, start, end, sentence in spans:
        taken = covered.setdefault(id(sentence), [])
        for a, b in taken:
            if start < b and end > a:
                start = max(start, b)
        if start >= end:
            continue
        taken.append((start, end))
        value = sentence[start:end].strip(" ,")
        if value and not any(value.lower() in v.lower() for v in values):
            values.append(value)
    return _capital(", ".join(values))


def _where(sentences: list[str]) -> str:
    for s in sentences:
        m = _WHERE_LABEL.match(s)
        if m:
            return _clause(s, m.end(), stops=".;\n")
    for word in ("đến", "tại"):
        for s in sentences:
            for m in re.finditer(rf"\b{word}\s+(?=[^\W\d_])", s, re.IGNORECASE):
                clause = _clause(s, m.end(), stops=".;\n", limit=200)
                address = _ADDRESS.search(clause)
                if address and address.start() < 90:
                    return clause[: address.end()].strip(" ,")
    for s in sentences:
        for m in re.finditer(r"\btại\s+", s, re.IGNORECASE):
            clause = _clause(s, m.end(), stops=".;\n", limit=200)
            if _PLACE_WORD.match(clause):
                return clause
    for s in sentences:
        m = _STREETS.search(s)
        if m:
            return m.group()
    for s in sentences:
        m = re.search(r"khu\s+phố\s+\d+(?:\s*(?:,|và)\s*(?:khu\s+phố\s+)?\d+)*", s, re.I)
        if m:
            return m.group()
    return ""


def _who(sentences: list[str]) -> tuple[str, str | None]:
    """The audience, and the sentence it was read from (if it starts that sentence)."""
    for s in sentences:
        m = _INVITE.search(s)
        if m:
            return m.group(1), None
    for s in sentences:
        m = _FOR.search(s)
        if m:
            return m.group(1).strip(), None
    for s in sentences:
        m = _ASK.match(s)
        if m:
            return m.group(1).strip(" ,"), s
    for s in sentences:
        m = _SUBJECT.match(s)
        if m:
            return m.group(1).strip(" ,"), s
    return "", None


def _action(sentences: list[str], who: str) -> str:
    def usable(s: str) -> bool:
        return (
            not _WHEN_LABEL.match(s)
            and not _WHERE_LABEL.match(s)
            and not (_CONTACT_KEY.search(s) and _has_phone(s) and len(s) < 120)
        )

    candidates = [s for s in sentences if _STRONG_ACTION.search(s) and usable(s)]
    candidates = candidates or [s for s in sentences if _WEAK_ACTION.search(s) and usable(s)]
    if not candidates:
        return ""
    s = candidates[0]
    start = 0
    m = _ASK.match(s) or _SUBJECT.match(s)
    if m and who and m.group(1).strip(" ,") == who:
        start = m.end(1)
    else:
        lead = re.match(r"^(?:đề\s+nghị|yêu\s+cầu|kính\s+đề\s+nghị)\s+", s, re.IGNORECASE)
        if lead:
            start = lead.end()
    return _capital(_clause(s, start, stops=";\n", limit=180).rstrip("."))


def _contact(sentences: list[str]) -> str:
    public: list[str] = []
    private: list[str] = []
    for s in sentences:
        phones = find_phones(s)
        emergency = [m for m in _EMERGENCY_RE.finditer(s) if re.search(r"\bgọi\b", s, re.I)]
        placeholders = [m for m in PLACEHOLDER.finditer(s) if m.group(1).startswith("P")]
        if not (phones or emergency or placeholders):
            continue
        key = _CONTACT_KEY.search(s)
        ends = [p.end for p in phones] + [m.end() for m in emergency]
        ends += [m.end() for m in placeholders]
        starts = [p.start for p in phones] + [m.start() for m in emergency]
        starts += [m.start() for m in placeholders]
        begin = key.start() if key and key.start() < min(starts) else min(starts)
        value = s[begin : max(ends)].strip(" ,")
        value = re.sub(r"^liên\s+hệ\s+", "", value, flags=re.IGNORECASE)
        is_public = any(phone_kind(p.digits) != "mobile" for p in phones) or bool(emergency)
        (public if is_public or placeholders else private).append(_capital(value))
    return "; ".join(public or private)


def extract_facts(text: str) -> dict[str, str]:
    """When / where / who / action / contact, read from the notice (Vietnamese)."""
    text = normalize(text)
    _, body = _split_header(text.splitlines())
    sentences = [s for line in body for s in split_sentences(line)]
    who, _ = _who(sentences)
    facts = {
        "when": _when(sentences),
        "where": _capital(_where(sentences)),
        "who": _capital(who),
        "action": _action(sentences, who),
        "contact": _contact(sentences),
    }
    return {k: v for k, v in facts.items() if v}


def make_title(text: str) -> str:
    text = normalize(text)
    headers, body = _split_header(text.splitlines())
    title = _title_from_headers(headers)
    if title is None:
        first = next((s for line in body for s in split_sentences(line)), "")
        title = _title_from_sentence(first) if first else ""
    return title[:120]


def summarise(text: str, max_chars: int = 500) -> OfflineResult:
    """Title, extractive summary (at most `max_chars`) and key facts of a notice."""
    text = normalize(text)
    _, body = _split_header(text.splitlines())
    sentences = body_sentences(body)
    summary = select(sentences, max_chars)
    return OfflineResult(title=make_title(text), summary=summary, facts=extract_facts(text))


def is_urgent(text: str) -> bool:
    """Heuristic: flood tide, flooding, storms, sudden power or water cuts, "KHẨN"."""
    text = normalize(text)
    headers, _ = _split_header(text.splitlines())
    if _URGENT_TITLE_RE.search(" ".join(headers)) or re.match(r"\s*khẩn\b", text, re.I):
        return True
    if re.search(r"(?:thông\s+báo|cảnh\s+báo|tin|lệnh)\s+(?:hỏa\s+tốc|khẩn)", text, re.I):
        return True
    return bool(_URGENT_RE.search(text) or _SUDDEN_RE.search(text))
