"""Personal data in a notice: finding it, hiding it from an external AI, masking it.

Before any request leaves the machine, personal items are replaced by placeholders:
phone numbers `⟦P1⟧`, citizen ID numbers `⟦ID1⟧`, bank accounts `⟦TK1⟧`, licence plates
`⟦BS1⟧`, dates of birth `⟦NS1⟧`, e-mail addresses `⟦E1⟧`, home addresses `⟦DC1⟧` and
personal names `⟦N1⟧`. `restore` puts the originals back into the answer and reports
placeholders the answer made up. `find_private` lists what must not be broadcast without a
second look (private mobile numbers, ID numbers) and `mask_private` is the offer to hide
them. Public contacts stay as written: hotlines (1800…, 1900…), numbers an office gives
as its own («UBND phường: 028 …», «đường dây nóng …»), 113 / 114 / 115.

Finding works on a folded copy of the text (`fold`: NFKC, so fullwidth digits are
digits; zero-width characters and soft hyphens dropped), and every span found there is
mapped back to the text as written, so a placeholder replaces exactly what was written.

Every pattern here runs in linear time: digit groups are found once and joined by a
bounded window; keyword patterns have bounded repetitions and look only a bounded
distance around their match.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

PhoneKind = Literal["mobile", "landline", "hotline"]
SpanKind = Literal["email", "id", "account", "plate", "birth", "phone", "address", "name"]

_PREFIX = {
    "email": "E",
    "id": "ID",
    "account": "TK",
    "plate": "BS",
    "birth": "NS",
    "phone": "P",
    "address": "DC",
    "name": "N",
}
_PRIORITY = {k: i for i, k in enumerate(_PREFIX)}

# Vietnamese capital letters (precomposed, NFC) for the personal-name heuristic.
_UPPER = "A-ZÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴÈÉẸẺẼÊỀẾỆỂỄÌÍỊỈĨÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠÙÚỤỦŨƯỪỨỰỬỮỲÝỴỶỸĐ"
_CAP_WORD = rf"[{_UPPER}][^\W\d_]{{0,12}}"
_NAME = rf"{_CAP_WORD}(?:[ \t]{{1,3}}{_CAP_WORD}){{0,4}}"

PLACEHOLDER = re.compile(r"⟦\s*([A-Z]{1,2}\d{1,3})\s*⟧")
# Forms a model may turn a placeholder into; only restored when the key is known.
_LOOSE_PLACEHOLDER = re.compile(r"(?:⟦|\[\[?|【)\s*([A-Z]{1,2}\d{1,3})\s*(?:⟧|\]\]?|】)")

# Invisible characters that split a number or a word without showing: dropped by `fold`.
_INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff")

_TLD = r"(?:com|vn|net|org|edu|gov|info|io|me|biz|asia|co|uk|us)"
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,4}")
_AT = r"(?:\s{0,2}(?:\(\s?at\s?\)|\[\s?at\s?\]|\{\s?at\s?\}|@)\s{0,2}|\s(?:at|a\s?còng|acong)\s)"
_DOT = r"(?:\s{0,2}(?:\(\s?dot\s?\)|\[\s?dot\s?\]|\{\s?dot\s?\}|\.)\s{0,2}|\s(?:dot|chấm)\s)"
_EMAIL_LOOSE = re.compile(
    rf"(?<![\w.+-])[\w.+-]{{1,64}}{_AT}[\w-]{{1,63}}(?:{_DOT}[\w-]{{1,63}}){{0,3}}{_DOT}{_TLD}\b",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"[0-9]+")
# What may join two digit groups of one number: «0903 456 789», «(028) 3820», «0903-456».
_JOIN = re.compile(r"[ .\-\u00a0]{1,3}|\)[ \u00a0]?|[ \u00a0]?\(")

_ID_KEYWORD = re.compile(
    r"(?:căn\s{1,3}cước(?:\s{1,3}công\s{1,3}dân)?|\bCCCD|\bCMND|\bCMT|\bCCCD/CMND|"
    r"chứng\s{1,3}minh(?:\s{1,3}(?:nhân\s{1,3}dân|thư))?|định\s{1,3}danh(?:\s{1,3}cá\s{1,3}nhân)?)"
    r"(?:[\s:.#,]{0,3}(?:số|là|của\s{1,3}\w{1,8})){0,2}[\s:.#,\-]{0,4}(?=\d)",
    re.IGNORECASE,
)
_PASSPORT = re.compile(
    r"hộ\s{1,3}chiếu(?:[\s:.#]{0,3}(?:số|là)){0,2}[\s:.#]{0,4}(?P<num>[A-Z]\d{7,8})\b",
    re.IGNORECASE,
)
_ACCOUNT_KEYWORD = re.compile(
    r"(?:\bSTK|\bS\.T\.K|số\s{1,3}tài\s{1,3}khoản|tài\s{1,3}khoản(?:\s{1,3}(?:số|ngân\s{1,3}hàng))?|"
    r"\bsố\s{1,3}TK|\bTK\s{1,3}số|\bTK\s{0,2}:)",
    re.IGNORECASE,
)
_PLATE_BODY = r"\d{2}[ ]?-?[ ]?[A-Z]{1,2}\d?(?:[ ]?[-.][ ]?|[ ])?(?:\d{3}\.?\d{2}|\d{4})(?![\w.])"
_PLATE = re.compile(rf"(?<![\w.\-/])(?P<plate>{_PLATE_BODY})")
# After «biển số» a plate may be typed in lower case.
_PLATE_AFTER_WORD = re.compile(
    rf"(?i:biển(?:\s{{1,3}}(?:số|kiểm\s{{1,3}}soát))?(?:\s{{1,3}}xe)?)[\s:]{{1,3}}(?P<plate>(?i:{_PLATE_BODY}))"
)
_BIRTH = re.compile(
    r"(?:(?i:sinh\s{1,3}ngày|ngày[\s,]{1,3}(?:tháng[\s,]{1,3}năm\s{1,3})?sinh|sinh\s{1,3}năm|"
    r"năm\s{1,3}sinh|sinh\s{1,3}nhật)|\b(?:SN|NS|DOB)\b)[\s:.,(]{0,4}"
    r"(?P<date>\d{1,2}\s{0,2}[/.\-]\s{0,2}\d{1,2}\s{0,2}[/.\-]\s{0,2}(?:\d{4}|\d{2})(?!\d)|"
    r"\d{1,2}\s{1,2}tháng\s{1,2}\d{1,2}\s{1,2}năm\s{1,2}\d{4}|(?:19|20)\d{2}(?!\d))",
)
# Words before «sinh năm 2021» that make it a group of people (a public notice's audience).
_BIRTH_GROUP = re.compile(
    r"(?i:trẻ|các|những|học\s+sinh|công\s+dân|thanh\s+niên|người\s+dân|từ|đến|trở|"
    r"mọi|toàn\s+bộ|tất\s+cả)\s*(?:[^\W\d_]+\s+){0,3}$"
)
_HOME = re.compile(
    r"(?i:nhà\s{1,3}(?:riêng\s{1,3})?(?:của\s{1,3})?(?:ông|bà|anh|chị|cô|chú|bác|em|cháu|dì|cậu|"
    r"thím|mợ|cụ)\b|nhà\s{1,3}riêng|địa\s{1,3}chỉ\s{1,3}(?:nhà|nơi\s{1,3}ở|thường\s{1,3}trú|"
    r"liên\s{1,3}lạc)|chủ\s{1,3}hộ|cư\s{1,3}trú\s{1,3}tại|thường\s{1,3}trú|tạm\s{1,3}trú|"
    r"ngụ\s{1,3}tại|trú\s{1,3}tại|sống\s{1,3}tại|nơi\s{1,3}ở|"
    r"nhà\s{1,3}(?:ở|tại)(?=\s{1,3}(?:số|hẻm|ngõ|kiệt|ngách|\d)))"
)
_NUM = r"\d{1,4}[A-Za-z]?(?:/\d{1,4}[A-Za-z]?){0,4}"
_STREET_WORDS = rf"{_CAP_WORD}(?:[ \t]{{1,3}}{_CAP_WORD}){{0,3}}"
_HOME_ADDRESS = re.compile(
    rf"(?:(?i:số)\s{{1,3}}(?:(?i:nhà)\s{{1,3}})?)?{_NUM}"
    rf"(?:\s{{1,3}}(?i:hẻm|ngõ|kiệt|ngách)\s{{1,3}}{_NUM})?"
    rf"(?:,?\s{{1,3}}(?:(?i:đường|phố)\s{{1,3}})?{_STREET_WORDS})?"
    rf"|(?i:hẻm|ngõ|kiệt|ngách)\s{{1,3}}{_NUM}(?:\s{{1,3}}{_STREET_WORDS})?"
)
_NOT_HOME_BEFORE = re.compile(
    r"(?i:phố|tổ|phường|quận|ấp|khu|huyện|xã|lầu|tầng|phòng|lô|block|tuổi|năm|ngày|tháng)\s{0,3}$"
)
_HONORIFICS = (
    r"ông|bà|anh|chị|cô|chú|em|cháu|bác|dì|cậu|thím|mợ|cụ|chủ\s{1,3}hộ|chủ\s{1,3}nhà|chủ\s{1,3}xe"
)
_HONORIFIC = re.compile(
    rf"(?<![^\W\d_])(?P<hon>(?i:{_HONORIFICS}))(?:\s{{0,2}}:)?[ \t]{{1,3}}(?P<name>{_NAME})"
)
_NAME_LABEL = re.compile(
    rf"(?i:họ\s{{1,3}}(?:và\s{{1,3}})?tên|tên\s{{1,3}}là|mang\s{{1,3}}tên|người\s{{1,3}}(?:liên\s{{1,3}}hệ|"
    rf"nhận|báo\s{{1,3}}tin|nhặt\s{{1,3}}được|bị\s{{1,3}}mất|mất|đứng\s{{1,3}}tên|bảo\s{{1,3}}lãnh)|"
    rf"chủ\s{{1,3}}(?:hộ|nhà|xe|sở\s{{1,3}}hữu|tài\s{{1,3}}khoản|TK))"
    rf"\s{{0,3}}:?\s{{0,3}}(?P<name>{_NAME})"
)
_LIST_LABEL = re.compile(
    r"(?i:danh\s{1,3}sách(?:\s{1,3}[^\W\d_]{1,10}){0,5}|các\s{1,3}(?:hộ|ông|bà|anh|chị|cá\s{1,3}nhân|"
    r"người|cháu|em)(?:\s{1,3}[^\W\d_]{1,10}){0,4}|gồm(?:\s{1,3}(?:có|các))?)\s{0,3}:[\s\n]{0,3}"
)
_LIST_NEXT = re.compile(
    rf"(?:\s{{0,2}}(?:[,;/]|\n)\s{{0,3}}|\s{{1,3}}(?i:và|hoặc|cùng)\s{{1,3}})"
    rf"(?:\d{{1,2}}[.)]\s{{0,2}}|-\s{{0,2}})?(?:(?i:{_HONORIFICS})\s{{1,3}})?(?P<name>{_NAME})"
)
_LIST_FIRST = re.compile(rf"(?:\d{{1,2}}[.)]\s{{0,2}}|-\s{{0,2}})?(?P<name>{_NAME})")
# Words right before an honorific that make it part of a place name (chợ Bà Chiểu…).
_PLACE_BEFORE = re.compile(
    r"(?:chợ|cầu|đường|phố|phường|xã|quận|huyện|tỉnh|hẻm|ngõ|kiệt|rạch|kênh|bến|ngã\s+\w+|"
    r"khu|ấp|thôn|cống|miếu|(?<!gia\s)đình|chùa|trường|công\s+viên|nhà\s+thờ|số|số\s+nhà)\s*$",
    re.IGNORECASE,
)
_AT_PLACE = re.compile(r"\b(?:tại|ở)\s*$", re.IGNORECASE)
_PLACE_NAMES = frozenset(
    s.casefold()
    for s in (
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
    )
)
# Capitalised words that start phrases, not names (after "Người nhận:" and the like).
_NOT_NAME_START = frozenset(
    s.casefold()
    for s in (
        "Ủy Uỷ UBND Công Trạm Ban Trung Phường Khu Tổ Đội Trường Hội Chi Phòng Sở Bệnh Nhà "
        "Văn Cơ Đài Tòa Con Các Những Cả Ấy Này Đó Kia Ta Tôi Mình Ông Bà Anh Chị Em Cô Chú "
        "Bác Cháu Dì Cậu Hộ Gia Dân Nhân Người Quý Đồng Trưởng Phó Cán Bộ Kính"
    ).split()
)
# Words that end a name written in capitals («ÔNG NGUYỄN VĂN AN ĐẾN NHẬN»).
_NAME_STOP = frozenset(
    "và hoặc cùng có là ở tại đến nhận đã sẽ đang được bị của với cho theo trong ngoài xin "
    "vui liên gọi số nhà hẻm đường khu phường tổ thông báo hiện đề nghị mời lên về đi sinh "
    "ngày năm tháng cccd cmnd sđt đt điện thoại địa chỉ trú".split()
)
_SURNAMES = frozenset(
    "nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đinh trương lâm "
    "mai tô trịnh đoàn lương cao hà tạ châu quách lưu thái kiều tăng âu thân triệu hứa diệp "
    "la lã giang mạc tôn khổng phùng nghiêm chu từ kim lục thạch đàm khúc vương".split()
)
# Words before a number that say it is an office's own (public), or a person's (private).
_PUBLIC_CONTEXT = re.compile(
    r"ubnd|ủy\s+ban|uỷ\s+ban|phường|xã|quận|huyện|công\s+an|văn\s+phòng|đường\s+dây\s+nóng|"
    r"hotline|tổng\s+đài|trạm|bệnh\s+viện|trung\s+tâm|ban\s+(?:quản\s+lý|chỉ\s+huy|điều\s+hành)|"
    r"trực\s+ban|thường\s+trực|cơ\s+quan|trường|điện\s+lực|cấp\s+nước|cứu\s+hỏa|cứu\s+hộ|pccc|"
    r"một\s+cửa|tiếp\s+(?:nhận|dân)|bộ\s+phận|phòng|đội|ban\s+|mặt\s+trận|hội\s+|đoàn\s+|"
    r"nhà\s+văn\s+hóa|bưu\s+điện|ngân\s+hàng|công\s+ty|office|police|hospital",
    re.IGNORECASE,
)
_PERSONAL_CONTEXT = re.compile(
    rf"(?<![^\W\d_])(?:(?i:{_HONORIFICS})[ \t]{{1,3}}[{_UPPER}]|(?i:nhà\s+riêng|gia\s+đình|"
    rf"cá\s+nhân|riêng|người\s+nhà|người\s+(?:liên\s+hệ|nhận|báo\s+tin)\s*:?\s*[{_UPPER}]))"
)
_CONTEXT_CHARS = 60
_MAX_GROUPS = 12  # «0 9 0 3 4 5 6 7 8 9» is ten groups; +84 and a bracket make twelve


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


@dataclass(frozen=True, slots=True)
class Folded:
    """`text` folded for finding (NFKC, invisible characters dropped), and for each of its
    characters where it came from in the original: `starts[i]`, `ends[i]`."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original's span for the folded span [start, end)."""
        if start >= end:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


@functools.lru_cache(maxsize=16)
def fold(text: str) -> Folded:
    """NFKC per character cluster (a base and its combining marks), without invisible
    characters; positions map back to `text`."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = "".join(ch for ch in text[i:j] if ch not in _INVISIBLE)
        if cluster:
            folded = unicodedata.normalize("NFKC", cluster)
            folded = "".join(ch for ch in folded if ch not in _INVISIBLE)
            out.append(folded)
            starts.extend([i] * len(folded))
            ends.extend([j] * len(folded))
        i = j
    return Folded(text, "".join(out), tuple(starts), tuple(ends))


def national_digits(raw: str) -> str:
    """Digits of a phone number in national form: "+84 903 456 789" -> "0903456789"."""
    return _national(re.sub(r"\D", "", unicodedata.normalize("NFKC", raw)), "+" in raw)


def _national(digits: str, plus: bool) -> str:
    if digits.startswith("0084") and len(digits) > 10:
        rest = digits[4:]
    elif digits.startswith("84") and (plus or len(digits) in (11, 12)):
        rest = digits[2:]
    else:
        return digits
    if plus or phone_kind("0" + rest.removeprefix("0")) is not None:
        return "0" + rest.removeprefix("0")
    return digits


def phone_kind(digits: str) -> PhoneKind | None:
    if len(digits) == 10 and digits[0] == "0" and digits[1] in "35789" and digits.isdigit():
        return "mobile"
    if len(digits) == 11 and digits.startswith("02") and digits.isdigit():
        return "landline"
    if len(digits) in (8, 10) and digits[:4] in ("1800", "1900") and digits.isdigit():
        return "hotline"
    return None


@dataclass(frozen=True, slots=True)
class _Group:
    start: int
    end: int
    digits: str
    plus: bool  # written with a "+" right before it


def _chains(text: str) -> Iterator[list[_Group]]:
    """Runs of digit groups joined by what may join the groups of one number."""
    chain: list[_Group] = []
    for m in _DIGITS.finditer(text):
        plus = m.start() > 0 and text[m.start() - 1] == "+"
        group = _Group(m.start(), m.end(), m.group(), plus)
        if chain and not plus and _JOIN.fullmatch(text, chain[-1].end, m.start()):
            chain.append(group)
            continue
        if chain:
            yield chain
        chain = [group]
    if chain:
        yield chain


def _glued_before(text: str, pos: int) -> bool:
    """A number starting at `pos` is part of a word or path («A12», «12/0903…»)."""
    while pos > 0 and text[pos - 1] in "+(":
        pos -= 1
    return pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "/_")


def _phones_folded(text: str) -> list[tuple[int, int, str, PhoneKind]]:
    """(start, end, national digits, kind) in folded text: at each group the longest valid
    number of at most `_MAX_GROUPS` groups and 14 digits (so the work is linear in the text)."""
    found: list[tuple[int, int, str, PhoneKind]] = []
    for chain in _chains(text):
        i = 0
        while i < len(chain):
            if i == 0 and _glued_before(text, chain[0].start):
                i += 1
                continue
            best: tuple[int, str, PhoneKind] | None = None
            digits = ""
            skip = 1 if _country(chain[i]) else 0
            long_blocks = 0  # groups of more than 7 digits, after a country code
            for j in range(i, min(len(chain), i + _MAX_GROUPS)):
                digits += chain[j].digits
                if len(digits) > 14:
                    break
                if j >= i + skip and len(chain[j].digits) > 7:
                    long_blocks += 1
                if j > i and long_blocks:
                    continue  # a long block glued to other blocks is not one number
                national = _national(digits, chain[i].plus)
                kind = phone_kind(national)
                if kind is not None:
                    best = (j, national, kind)
            if best is None:
                i += 1
                continue
            j, national, kind = best
            start = chain[i].start
            while start > 0 and text[start - 1] in "+(":
                start -= 1
            end = chain[j].end
            if start < chain[i].start and text[start] == "(" and text.startswith(")", end):
                end += 1
            found.append((start, end, national, kind))
            i = j + 1
    return found


def _country(group: _Group) -> bool:
    return group.digits in ("84", "0084") and group.plus or group.digits == "0084"


def find_phones(text: str) -> list[Phone]:
    """Vietnamese phone numbers: 0903 456 789, 0903456789, +84 903 456 789, 84903456789,
    028 3820 1234, 1900 545454, also with invisible characters or fullwidth digits.
    Short service numbers (113, 114, 115) are not phone numbers here."""
    folded = fold(text)
    phones: list[Phone] = []
    for start, end, digits, kind in _phones_folded(folded.text):
        a, b = folded.span(start, end)
        phones.append(Phone(a, b, text[a:b], digits, kind))
    return phones


def _id_spans(text: str) -> list[tuple[int, int]]:
    """Citizen ID numbers in folded text: 12 digits (CCCD) contiguous or in groups of at least
    three starting with 0, «025.123.456», and 9 or 12 digits after a keyword."""
    spans: list[tuple[int, int]] = []
    by_start: dict[int, tuple[list[_Group], int]] = {}
    for chain in _chains(text):
        for k, g in enumerate(chain):
            by_start[g.start] = (chain, k)
        if _glued_before(text, chain[0].start):
            continue
        for i in range(len(chain)):
            digits = ""
            for j in range(i, min(len(chain), i + 4)):
                digits += chain[j].digits
                groups = chain[i : j + 1]
                if len(digits) > 12:
                    break
                if len(digits) == 12 and (
                    len(groups) == 1
                    or (digits[0] == "0" and all(len(g.digits) >= 3 for g in groups))
                ):
                    spans.append((groups[0].start, groups[-1].end))
                elif (
                    len(digits) == 9
                    and digits[0] == "0"
                    and j == len(chain) - 1
                    and i == 0
                    and [len(g.digits) for g in groups] in ([9], [3, 3, 3])
                    and not _currency_after(text, groups[-1].end)
                ):
                    spans.append((groups[0].start, groups[-1].end))
    for m in _ID_KEYWORD.finditer(text):
        hit = by_start.get(m.end())
        if hit is None:
            continue
        chain, k = hit
        digits = ""
        for j in range(k, min(len(chain), k + 4)):
            digits += chain[j].digits
            if len(digits) in (9, 12) and (j + 1 == len(chain) or len(digits) == 12):
                spans.append((chain[k].start, chain[j].end))
                break
            if len(digits) >= 12:
                break
    for m in _PASSPORT.finditer(text):
        spans.append((m.start("num"), m.end("num")))
    return spans


def _currency_after(text: str, pos: int) -> bool:
    return bool(
        re.match(r"\s{0,2}(?:đồng|đ\b|vnđ|vnd|triệu|tỷ|nghìn|ngàn|%)", text[pos : pos + 8], re.I)
    )


def _account_spans(text: str) -> list[tuple[int, int]]:
    """Bank account numbers: 6 to 19 digits within 40 characters after «STK», «số tài
    khoản» and the like (a bank's name may come between)."""
    spans: list[tuple[int, int]] = []
    chains = list(_chains(text))
    starts = [c[0].start for c in chains]

    for m in _ACCOUNT_KEYWORD.finditer(text):
        k = bisect.bisect_left(starts, m.end())
        if k == len(chains) or chains[k][0].start - m.end() > 40:
            continue
        gap = text[m.end() : chains[k][0].start]
        if "\n" in gap or ";" in gap or ". " in gap:
            continue
        chain = chains[k]
        digits, end = "", chain[0].end
        for g in chain[:6]:
            if len(digits) + len(g.digits) > 19:
                break
            digits += g.digits
            end = g.end
        if len(digits) >= 6:
            spans.append((chain[0].start, end))
    return spans


def _public_number(text: str, start: int) -> bool:
    """Whether a landline is an office's: unless the words before it (same line, at most 60
    characters) name a person («nhà riêng», «anh Tuấn») after the last office word
    («UBND phường: 028 …», «đường dây nóng …»)."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - _CONTEXT_CHARS) : start]
    personal = [m.end() for m in _PERSONAL_CONTEXT.finditer(before)]
    if not personal:
        return True
    public = [m.end() for m in _PUBLIC_CONTEXT.finditer(before)]
    return bool(public) and public[-1] > personal[-1]


def _email_spans(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _EMAIL.finditer(text)]
    spans += [(m.start(), m.end()) for m in _EMAIL_LOOSE.finditer(text)]
    return spans


def _name_words(name: str) -> str:
    """The name without the trailing words that are not names («AN ĐẾN NHẬN» -> «AN»)."""
    words = name.split()
    kept: list[str] = []
    for w in words:
        if w.casefold() in _NAME_STOP:
            break
        kept.append(w)
    return " ".join(kept)


def _name_at(text: str, start: int, raw: str, *, full: bool = False) -> tuple[int, int] | None:
    """The span of the name `raw` found at `start`, cut at words that are not names; None
    when it starts with a word that begins other phrases (or, `full`, is not a full name)."""
    name = _name_words(raw)
    if not name or name.split()[0].casefold() in _NOT_NAME_START:
        return None
    if full and (len(name.split()) < 2 or name.split()[0].casefold() not in _SURNAMES):
        return None
    return start, start + len(name)


def _list_after(text: str, end: int, found: list[tuple[int, int]]) -> None:
    """More full names after a name, joined by commas, «và», new lines, numbering."""
    for _ in range(200):
        m = _LIST_NEXT.match(text, end)
        if not m:
            return
        span = _name_at(text, m.start("name"), m.group("name"), full=True)
        if span is None:
            return
        found.append(span)
        end = span[1]


def _names_folded(text: str) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for m in _HONORIFIC.finditer(text):
        hon, name = m.group("hon"), m.group("name")
        before = text[max(0, m.start() - 30) : m.start()]
        if _PLACE_BEFORE.search(before):
            continue
        first = name.split()[0]
        if f"{hon} {first}".casefold() in _PLACE_NAMES or f"{hon} {name}".casefold() in (
            _PLACE_NAMES
        ):
            continue
        if hon[0].isupper() and _AT_PLACE.search(before):
            continue  # "tại Bà Điểm": a place
        span = _name_at(text, m.start("name"), name)
        if span is not None:
            found.append(span)
            _list_after(text, span[1], found)
    for m in _NAME_LABEL.finditer(text):
        span = _name_at(text, m.start("name"), m.group("name"))
        if span is not None:
            found.append(span)
            _list_after(text, span[1], found)
    for m in _LIST_LABEL.finditer(text):
        first = _LIST_FIRST.match(text, m.end())
        if first:
            span = _name_at(text, first.start("name"), first.group("name"), full=True)
            if span is not None:
                found.append(span)
                _list_after(text, span[1], found)
    return found


def find_names(text: str) -> list[tuple[int, int, str]]:
    """Personal names: after an honorific (bà Trần Thị Mai, ÔNG NGUYỄN VĂN AN, chủ hộ Lê
    Văn Tám) or a label (Họ tên: …), and the full names listed after them or after «Danh
    sách …:».

    Place names built on honorifics (chợ Bà Chiểu, cầu Ông Lãnh, đường Cô Giang) are not
    names; neither are street names or addresses, which carry no honorific. When in doubt
    a word is redacted: a placeholder too many costs the model a little context, a name
    too few leaks it.
    """
    folded = fold(text)
    out: list[tuple[int, int, str]] = []
    for start, end in _names_folded(folded.text):
        a, b = folded.span(start, end)
        out.append((a, b, text[a:b]))
    return out


def find_id_numbers(text: str) -> list[tuple[int, int, str]]:
    """12-digit citizen ID numbers (CCCD), «025.123.456», and 9 or 12 digits after a keyword."""
    folded = fold(text)
    out = {folded.span(s, e) for s, e in _id_spans(folded.text)}
    return sorted((a, b, text[a:b]) for a, b in out)


def _home_spans(text: str) -> list[tuple[int, int]]:
    """The address right after words naming a person's home («nhà ông A, số 12 hẻm 34 …»,
    «thường trú tại …»), within the same sentence and 80 characters."""
    spans: list[tuple[int, int]] = []
    for m in _HOME.finditer(text):
        limit = min(len(text), m.end() + 80)
        for stop in ("\n", ". ", ";"):
            at = text.find(stop, m.end(), limit)
            if at != -1:
                limit = at
        pos = m.end()
        while (address := _HOME_ADDRESS.search(text, pos, limit)) is not None:
            pos = max(address.end(), pos + 1)
            if _NOT_HOME_BEFORE.search(text, max(0, address.start() - 12), address.start()):
                continue  # «khu phố 3», «tổ 5», «phòng 2»: not a house
            raw = address.group()
            if re.search(rf"[/{_UPPER}]|(?i:^số|hẻm|ngõ|kiệt|ngách)", raw):
                spans.append((address.start(), address.end()))
                break
    return spans


def _spans_folded(text: str) -> list[tuple[int, int, SpanKind, str]]:
    """(start, end, kind, key) of every personal item in folded text, without overlaps.
    Public numbers (hotlines, an office's landline) are not personal."""
    candidates: list[tuple[int, int, SpanKind, str]] = []
    for s, e in _email_spans(text):
        candidates.append((s, e, "email", text[s:e].lower()))
    for s, e in _id_spans(text):
        candidates.append((s, e, "id", re.sub(r"\D", "", text[s:e])))
    for s, e in _account_spans(text):
        candidates.append((s, e, "account", re.sub(r"\D", "", text[s:e])))
    for pattern in (_PLATE, _PLATE_AFTER_WORD):
        for m in pattern.finditer(text):
            key = re.sub(r"\W", "", m.group("plate")).upper()
            candidates.append((m.start("plate"), m.end("plate"), "plate", key))
    for m in _BIRTH.finditer(text):
        if len(m.group("date")) == 4 and _BIRTH_GROUP.search(
            text, max(0, m.start() - 30), m.start()
        ):
            continue  # «trẻ sinh năm 2021»: whom a notice is for, not a person's birth
        candidates.append((m.start("date"), m.end("date"), "birth", m.group("date")))
    for s, e, digits, kind in _phones_folded(text):
        if kind == "hotline" or (kind == "landline" and _public_number(text, s)):
            continue
        candidates.append((s, e, "phone", digits))
    for s, e in _home_spans(text):
        candidates.append((s, e, "address", text[s:e]))
    for s, e in _names_folded(text):
        candidates.append((s, e, "name", text[s:e]))
    candidates.sort(key=lambda c: (_PRIORITY[c[2]], c[0], -c[1]))
    taken = bytearray(len(text))
    chosen: list[tuple[int, int, SpanKind, str]] = []
    for c in candidates:
        s, e = c[0], c[1]
        if e > s and not any(taken[s:e]):
            taken[s:e] = b"\x01" * (e - s)
            chosen.append(c)
    return sorted(chosen)


def find_spans(text: str) -> list[Span]:
    """Every personal item in `text`, without overlaps (e-mail > ID > account > plate >
    birth date > phone > address > name), in the positions of `text` as written."""
    folded = fold(text)
    spans: list[Span] = []
    for s, e, kind, key in _spans_folded(folded.text):
        a, b = folded.span(s, e)
        spans.append(Span(a, b, kind, text[a:b], key))
    return spans


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


def _private_spans(text: str) -> list[Span]:
    return [
        s
        for s in find_spans(text)
        if s.kind == "id" or (s.kind == "phone" and phone_kind(s.key) == "mobile")
    ]


def private_items(text: str) -> list[tuple[Literal["phone", "id"], str]]:
    """Private mobile numbers and ID numbers, each once, in order of appearance.

    Organisational numbers (landlines such as 028…, hotlines 1800/1900…, 113/114/115)
    are public and not listed.
    """
    text = normalize(text)
    items: list[tuple[Literal["phone", "id"], str]] = []
    seen: set[str] = set()
    for span in _private_spans(text):
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
    stripped = unicodedata.normalize("NFKC", raw).lstrip().lstrip("( ")
    keep = 5 if stripped.startswith("+84") else 7 if stripped.startswith("0084") else 4
    return _mask_digits(raw, keep)


def mask_private(text: str) -> str:
    """Hide the digits of private mobile numbers and ID numbers, keep everything else."""
    text = normalize(text)
    out: list[str] = []
    pos = 0
    for span in _private_spans(text):
        out.append(text[pos : span.start])
        out.append(mask_item("id" if span.kind == "id" else "phone", span.raw))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def placeholders_in(text: str) -> list[str]:
    return [m.group() for m in PLACEHOLDER.finditer(text)]


def all_phone_digits(texts: Iterable[str]) -> set[str]:
    return {p.digits for t in texts for p in find_phones(normalize(t))}
