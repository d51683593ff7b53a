"""Which language a notice is written in, without a model: scripts and common words.

Khmer and Chinese are told by their scripts. Latin text is Vietnamese when its words
carry Vietnamese letters (ă â đ ê ô ơ ư, tone marks) or, typed without diacritics, when
they are common Vietnamese syllables; it is English when English function words are
frequent. Anything undecided is taken as Vietnamese, the language of most notices.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W\d_]+")
_VI_LETTERS = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯ]")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # grave, acute, tilde, hook, dot
_EN_WORDS = frozenset(
    "the of and to in is are will be for on at by with from this that please all your "
    "our you we it as or not have has can may must should residents notice during".split()
)
# Frequent syllables of Vietnamese typed without diacritics ("thong bao cat dien").
_VI_ASCII = frozenset(
    "thong bao phuong khu pho ngay gio cac nguoi dan va cua tai den tu duoc khong "
    "nhan xin trong nhu sau nha ho gia dinh lien he vui long de nghi thoi gian dia diem "
    "tren cho mot hoac".split()
)


def _has_tone(word: str) -> bool:
    return any(ch in _TONES for ch in unicodedata.normalize("NFD", word))


def detect_language(text: str) -> str:
    """The language most of the text is written in: "vi", "en", "zh" or "km"."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "vi"
    khmer = sum("\u1780" <= ch <= "\u17ff" for ch in letters)
    cjk = sum("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in letters)
    if khmer / len(letters) > 0.3:
        return "km"
    if cjk / len(letters) > 0.3:
        return "zh"
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return "vi"
    vietnamese = sum(bool(_VI_LETTERS.search(w)) or _has_tone(w) for w in words)
    if vietnamese / len(words) > 0.15:
        return "vi"
    english = sum(w in _EN_WORDS for w in words) / len(words)
    ascii_vi = sum(w in _VI_ASCII for w in words) / len(words)
    return "en" if english > 0.08 and english > ascii_vi else "vi"
