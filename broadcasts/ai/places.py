"""Street addresses and number ranges, so that the fact guard can tell «from 12 to 148
Lê Thánh Tôn» from «148 Lê Thánh Tôn».

Each number of a range is in the source, so the number check alone lets a range that
lost one end (or an address given the wrong street) through. `find_places` reads
addresses («số 25 Trần Quang Khải», «10 hẻm 15 Lê Lợi», "159 Xa Lo Ha Noi Street") and
ranges («đoạn từ số 12 đến số 148 Lê Thánh Tôn», «Lê Thánh Tôn: đoạn từ số 12 đến số
148», «12–148 Lê Thánh Tôn»); `place_findings` compares those of a text with the source's.
Street names are compared without diacritics or case, so an English "Le Thanh Ton"
is the same street.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from broadcasts.ai.models import Finding

_UPPER = "A-ZÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴÈÉẸẺẼÊỀẾỆỂỄÌÍỊỈĨÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠÙÚỤỦŨƯỪỨỰỬỮỲÝỴỶỸĐ"
_NOT_STREET = (
    r"(?!(?:Thứ|Chủ|Tháng|Ngày|Năm|Giờ|Phút|Sáng|Chiều|Tối|Trưa|Khu|Phường|Quận|Tổ|Ấp|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|"
    r"April|May|June|July|August|September|October|November|December|AM|PM)\b)"
)
_WORD = rf"{_NOT_STREET}[{_UPPER}][^\W\d_]*"
_STREET = rf"(?P<street>{_WORD}(?:[ \t]+{_WORD}){{0,3}})"
_NUM = r"\d{1,4}[A-Za-z]?(?:/\d{1,4}[A-Za-z]?){0,4}"
_S = r"[ \t]"  # within a line: an address never spans two
_NO = rf"(?:(?i:số{_S}+(?:nhà{_S}+)?|nos?\.{_S}*))?"
_TO = rf"{_S}*(?i:đến|tới|-|–|—|to){_S}*"
_FROM = rf"(?:(?i:đoạn){_S}+)?(?:(?i:từ|from){_S}+)?"
_RANGE_BEFORE = re.compile(
    rf"{_FROM}{_NO}(?P<a>{_NUM}){_TO}{_NO}(?P<b>{_NUM}){_S}+(?:(?i:đường|phố){_S}+)?{_STREET}"
)
_RANGE_AFTER = re.compile(
    rf"{_STREET}{_S}*[:,(]?{_S}*{_FROM}{_NO}(?P<a>{_NUM}){_TO}{_NO}(?P<b>{_NUM})(?![\d/])"
)
_ADDRESS = re.compile(
    rf"(?<![\d/.,:])(?:{_NO})(?P<n>{_NUM}){_S}+(?:(?i:đường|phố){_S}+|(?i:hẻm|ngõ|kiệt){_S}+(?P<alley>{_NUM}){_S}+)?{_STREET}"
)


@dataclass(frozen=True, slots=True)
class Place:
    raw: str
    street: str  # without diacritics, lower case
    numbers: tuple[str, ...]  # one for an address, two for a range
    start: int
    end: int

    @property
    def is_range(self) -> bool:
        return len(self.numbers) == 2

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return self.street, self.numbers


def _lead_number(raw: str) -> int:
    m = re.match(r"\d+", raw)
    return int(m.group()) if m else 0


def street_key(name: str) -> str:
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in plain if unicodedata.category(ch) != "Mn").lower()
    plain = re.sub(r"\b(?:street|st|road|rd|đường|duong|pho)\b\.?", " ", plain)
    return " ".join(plain.split())


def find_places(text: str) -> list[Place]:
    """Ranges first, then single addresses outside them."""
    text = unicodedata.normalize("NFC", text)
    places: list[Place] = []
    taken = bytearray(len(text) + 1)  # the characters a place already covers

    def free(m: re.Match[str]) -> bool:
        return not any(taken[m.start() : m.end()])

    def take(place: Place) -> None:
        places.append(place)
        taken[place.start : place.end] = b"\x01" * (place.end - place.start)

    for pattern in (_RANGE_BEFORE, _RANGE_AFTER):
        for m in pattern.finditer(text):
            if not free(m):
                continue
            key = street_key(m["street"])
            if key and _lead_number(m["a"]) < _lead_number(m["b"]):
                take(Place(m.group().strip(), key, (m["a"], m["b"]), m.start(), m.end()))
    for m in _ADDRESS.finditer(text):
        if not free(m):
            continue
        key = street_key(m["street"])
        # «số 10 hẻm 15 Lê Lợi» is house 10 of alley 15: written 15/10 Lê Lợi.
        number = f"{m['alley']}/{m['n']}" if m["alley"] else m["n"]
        if key:
            take(Place(m.group().strip(), key, (number,), m.start(), m.end()))
    return places


def place_findings(source: str, text: str, locale: str) -> list[Finding]:
    """Addresses and ranges of `text` that change one of the source's streets: a range
    that lost an end («12 đến 148» → «148»), another number on the street, another range."""
    src = find_places(source)
    streets = {p.street for p in src}
    known = {p.key for p in src}
    findings: list[Finding] = []
    for place in find_places(text):
        if place.street not in streets or place.key in known:
            continue
        ends = {n for p in src if p.street == place.street and p.is_range for n in p.numbers}
        if not place.is_range and place.numbers[0] in ends:
            code = "changed_range"
        elif place.is_range:
            code = "changed_range"
        else:
            code = "changed_address"
        findings.append(Finding(code=code, value=place.raw, locale=locale))
    return findings
