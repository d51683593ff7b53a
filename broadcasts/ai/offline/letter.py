"""What in a notice is letter, not message: the parts of a công văn a resident never needs.

A formal notice (công văn, thông báo of a People's Committee) opens with the issuing
body («ỦY BAN NHÂN DÂN / PHƯỜNG TÂN ĐỊNH»), its number («Số: 215/TB-UBND»), the national
motto and slogan, the place and date of signing, the kind of document («THÔNG BÁO») and
its subject («Về việc …», «V/v …»); then the legal grounds («Căn cứ …», «Xét đề nghị …»),
the message itself, a closing formula, and the recipients («Nơi nhận:») and signature
(«TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH / name»). Pasted from a PDF, the two
header columns often land on one line. `read_letter` keeps the message and the subject:
the subject is the title, in sentence case if it was shouted, proper nouns kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MOTTO = re.compile(
    r"C[ỘO]NG\s+H[ÒO][AÀ]\s+X[ÃA]\s+H[ỘO]I\s+CH[ỦU]\s+NGH[ĨI]A\s+VI[ỆE]T\s+NAM", re.I
)
_SLOGAN = re.compile(r"Độc\s+lập\s*[-–—]\s*Tự\s+do\s*[-–—]\s*Hạnh\s+phúc", re.IGNORECASE)
_RULE = re.compile(r"^[\s\-_=–—*.~]+$")
_NUMBER = re.compile(r"^\s*Số\s*:?\s*[\w.]*\s*/\s*[\wĐđ\-]+(?:/[\wĐđ\-]+)*\s*", re.IGNORECASE)
_PLACE_DATE = re.compile(
    r"(?:^|\s)[\w\s.,]{0,40}?,?\s*ngày\s+\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4}\s*\.?\s*$",
    re.IGNORECASE,
)
_GROUNDS = re.compile(r"^\s*(?:căn\s+cứ|xét\s+(?:đề\s+nghị|tình\s+hình|tờ\s+trình))\b", re.I)
_SIGNATURE = re.compile(
    r"^\s*(?:TM\.|T/M\.?|KT\.|TL\.|TUQ\.|Q\.\s*CHỦ\s+TỊCH|PHÓ\s+CHỦ\s+TỊCH|CHỦ\s+TỊCH|"
    r"TRƯỞNG\s+BAN|PHÓ\s+TRƯỞNG\s+BAN|TRƯỞNG\s+CÔNG\s+AN|TRƯỞNG\s+TRẠM|GIÁM\s+ĐỐC)"
    r"(?:\s|$)|^\s*nơi\s+nhận\s*:",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^(?:trân\s+trọng\b.*|xin\s+trân\s+trọng\b.*|kính\s+gửi\b.*|rất\s+mong\b.*|"
    r".*\b(?:rất\s+mong|đề\s+nghị)\b.{0,80}\b(?:quan\s+tâm|phối\s+hợp)(?:\s+thực\s+hiện)?[./\s]*$|"
    r"\./\.)$",
    re.IGNORECASE,
)
_ISSUER = re.compile(
    r"^(?:Ủ|U)Y\s+BAN\s+NHÂN\s+DÂN|^UBND\b|^(?:PHƯỜNG|XÃ|ĐẶC\s+KHU|QUẬN|HUYỆN)\b|"
    r"^THÀNH\s+PHỐ\s+HỒ\s+CHÍ\s+MINH|^TP\.|^CÔNG\s+AN\b|^ĐẢNG\s+(?:ỦY|BỘ)|^MẶT\s+TRẬN|"
    r"^HỘI\s+ĐỒNG\s+NHÂN\s+DÂN|^BAN\s+(?:CHỈ\s+HUY|CHỈ\s+ĐẠO|ĐIỀU\s+HÀNH|QUẢN\s+LÝ|NHÂN\s+DÂN)|"
    r"^TRẠM\s+Y\s+TẾ|^TRUNG\s+TÂM\b|^CÔNG\s+TY\b|^PHÒNG\b"
)
DOC_TYPES = (
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
    "NOTICE",
    "ANNOUNCEMENT",
)
_SUBJECT = re.compile(r"^\s*(?:về\s+việc|v/v)\s*:?\s*", re.IGNORECASE)
_NOTICE_OF = re.compile(r"^\s*(?:thông\s+báo|notice)\s*(?::\s*|\s+(?:về\s+việc\s+|về\s+)?)", re.I)
_HEADING_START = re.compile(
    r"^(?:thông\s+báo|kế\s+hoạch|giấy\s+mời|thư\s+mời|cảnh\s+báo|khẩn|lịch|notice|urgent)\b",
    re.IGNORECASE,
)
_ACRONYM = re.compile(r"^[^\W\d_]{2,6}$")
_VOWELS = set("AĂÂEÊIOÔƠUƯYÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ")
_UPPER = "A-ZÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴÈÉẸẺẼÊỀẾỆỂỄÌÍỊỈĨÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠÙÚỤỦŨƯỪỨỰỬỮỲÝỴỶỸĐ"
_CAP_WORD = rf"[{_UPPER}][^\W\d_]*"
_CAPS_RUN = re.compile(rf"(?<![^\W\d_]){_CAP_WORD}(?:\s+{_CAP_WORD})+")
_INNER_CAP = re.compile(rf"(?<=[^\W\d_] ){_CAP_WORD}")


@dataclass(frozen=True, slots=True)
class Letter:
    """A notice with its letter parts taken off."""

    title: str | None  # the subject, or the notice's own heading
    heading: str | None  # the kind of document, when it stands alone ("THÔNG BÁO")
    lines: list[str]  # the message, line by line


def _shouted(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 3 and all(ch.isupper() for ch in letters)


def _clean_line(line: str) -> str:
    line = _MOTTO.sub(" ", line)
    line = _SLOGAN.sub(" ", line)
    line = _NUMBER.sub("", line)
    if _PLACE_DATE.search(line) and len(line) < 90:
        line = _PLACE_DATE.sub("", line)
    return re.sub(r"[ \t]{2,}", " ", line).strip()


def _is_doc_type(line: str) -> bool:
    return line.upper().strip(" :.") in DOC_TYPES


def _is_heading(line: str, position: int) -> bool:
    """A short line at the top: shouted, «Về việc …», «Thông báo …», or right under one."""
    if len(line) > 150 or not line:
        return False
    if _shouted(line) or _SUBJECT.match(line):
        return True
    if line.endswith((".", ";", "!", "?", ":")):
        return False
    if _HEADING_START.match(line):
        return True
    return position > 0 and len(line) <= 100 and not any(ch.isdigit() for ch in line)


def _proper_nouns(body: str) -> dict[str, str]:
    """Runs of capitalised words inside sentences of the body, by their lower case."""
    found: dict[str, str] = {}
    for m in _CAPS_RUN.finditer(body):
        run = m.group()
        if not _shouted(run):
            found.setdefault(run.lower(), run)
    # A single word only when the body never writes it in lower case ("Pasteur", "Tết").
    lower_words = set(re.findall(r"(?<![^\W\d_])[a-zà-ỹđ]+", body))
    for word in _INNER_CAP.findall(body):
        if not _shouted(word) and word.lower() not in lower_words:
            found.setdefault(word.lower(), word)
    return found


def sentence_case(text: str, body: str = "") -> str:
    """A shouted heading in sentence case, keeping the proper nouns the body spells."""
    if not _shouted(text):
        return text[:1].upper() + text[1:]
    words = text.split()
    keep = {i for i, w in enumerate(words) if _is_acronym(w)}
    lowered = " ".join(w if i in keep else w.lower() for i, w in enumerate(words))
    for lower, original in sorted(_proper_nouns(body).items(), key=lambda kv: -len(kv[0])):
        lowered = re.sub(rf"(?<![^\W_]){re.escape(lower)}(?![^\W_])", original, lowered)
    lowered = re.sub(r"([:–-]\s*)([^\W\d_])", lambda m: m.group(1) + m.group(2).upper(), lowered)
    return lowered[:1].upper() + lowered[1:]


def _is_acronym(word: str) -> bool:
    core = word.strip(".,:;()")
    if re.fullmatch(r"[IVX]+", core):  # báo động III
        return True
    return bool(_ACRONYM.match(core)) and not (set(core) & _VOWELS)


def _subject(lines: list[str], body: str) -> str:
    text = " ".join(line.strip() for line in lines).strip().rstrip(".:")
    stripped = _SUBJECT.sub("", text)
    stripped = _NOTICE_OF.sub("", stripped) if len(_NOTICE_OF.sub("", stripped)) >= 10 else stripped
    return sentence_case(stripped if len(stripped) >= 6 else text, body)


def read_letter(text: str) -> Letter:
    """The message of a notice, its title (subject or heading) and its document kind."""
    raw = [_clean_line(line) for line in text.splitlines()]
    lines = [line for line in raw if not _RULE.match(line or "-")]
    # Everything from the recipients or the signature on is the letter's foot.
    for i, line in enumerate(lines):
        if i > 0 and _SIGNATURE.match(line):
            lines = lines[:i]
            break
    body_text = "\n".join(line for line in lines if not _shouted(line))
    heading: str | None = None
    subject: list[str] = []
    rest = list(lines)
    while rest:
        line = rest[0]
        if _is_doc_type(line):
            heading = heading or line.strip(" :.")
        elif _shouted(line) and _ISSUER.match(line) and not subject:
            pass  # the issuing body
        elif subject and line[:1].islower() and not line.endswith((".", ";", ":")):
            subject.append(line)  # «Về việc …» wrapped onto a second line
        elif len(subject) < 2 and _is_heading(line, len(subject) + (heading is not None)):
            subject.append(line)
        else:
            break
        rest.pop(0)
    message = [
        line
        for line in rest
        if not _GROUNDS.match(line) and not _CLOSING.match(line) and line.strip()
    ]
    title = None
    if subject:
        title = " – ".join(_subject([s], body_text) for s in subject)
    elif heading and len(heading.split()) > 2:
        title = sentence_case(heading, body_text)
    return Letter(title=title, heading=heading, lines=message)


def says_what(title: str) -> bool:
    """Whether a title names its subject, not only the kind of document («Giấy mời họp dân»)."""
    words = title.upper().split()
    for kind in DOC_TYPES:
        if " ".join(words[: len(kind.split())]) == kind:
            return len(words) - len(kind.split()) > 2
    return bool(title.strip())


def title_from_sentence(sentence: str) -> str:
    """A title read from the first sentence of a notice that has no heading."""
    text = sentence.strip().rstrip(".")
    m = re.search(r"\bthông\s+báo\s+(?:về\s+việc\s+)?", text, re.IGNORECASE)
    if m and len(text) - m.end() > 15:
        text = text[m.end() :]
    text = re.sub(r"^(?:nhằm|để|theo)\s[^,;:]{3,90},\s*", "", text, flags=re.IGNORECASE)
    if len(text) > 80:
        cut = -1
        for marker in (",", " cho ", " tại ", " vào ", " từ ", " để ", " on ", " at ", " from "):
            pos = text.find(marker, 25)
            if 0 < pos <= 80 and (cut < 0 or pos < cut):
                cut = pos
        text = text[:cut] if cut > 0 else text[:80].rsplit(" ", 1)[0] + "…"
    return text[:1].upper() + text[1:]
