"""Split a notice's text into messages no longer than a transport allows.

Telegram counts a message's length in UTF-16 code units (an emoji counts two), so lengths
here are counted the same way. A text is cut at the coarsest boundary that fits: between
paragraphs, then lines, then sentences, then words; a single word longer than a whole
message is the only thing ever cut in the middle. Parts keep the order of the text.
"""

from __future__ import annotations

import re

# Each pattern matches a separator; the separator stays at the end of the piece before it.
_BOUNDARIES = (
    re.compile(r"\n[ \t]*\n\s*"),  # blank line: paragraph
    re.compile(r"\n\s*"),  # line
    # sentence (and clause) end; a run of «.!?…» is tried from its first mark only (linear)
    re.compile(r"(?:(?<![.!?…])[.!?…]+|[;:])[\"'”’»)\]]*\s+"),
    re.compile(r"\s+"),  # word
)


def text_length(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Cut `text` into non-empty parts of at most `limit` UTF-16 code units, in order."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    text = text.strip()
    if not text:
        return []
    return [part for part in _split(text, limit, 0) if part]


def _split(text: str, limit: int, level: int) -> list[str]:
    if text_length(text) <= limit:
        return [text]
    if level == len(_BOUNDARIES):
        return _cut_word(text, limit)
    parts: list[str] = []
    current: list[str] = []
    current_len = 0
    for piece in _pieces(text, _BOUNDARIES[level]):
        body = piece.rstrip()
        body_len = text_length(body)
        if current and current_len + body_len <= limit:
            current.append(piece)
            current_len += text_length(piece)
            continue
        if current:
            parts.append("".join(current).rstrip())
            current, current_len = [], 0
        if body_len <= limit:
            current, current_len = [piece], text_length(piece)
        else:
            parts.extend(_split(body, limit, level + 1))
    if current:
        parts.append("".join(current).rstrip())
    return parts


def _pieces(text: str, boundary: re.Pattern[str]) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in boundary.finditer(text):
        if match.end() > start and match.start() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _cut_word(word: str, limit: int) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    current_len = 0
    for char in word:
        size = 2 if ord(char) > 0xFFFF else 1
        if current_len + size > limit:
            parts.append("".join(current))
            current, current_len = [], 0
        current.append(char)
        current_len += size
    if current:
        parts.append("".join(current))
    return parts
