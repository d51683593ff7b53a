"""Splitting long texts: boundaries from coarse to fine, order kept, nothing lost."""

from __future__ import annotations

import re

import pytest

from broadcasts.delivery.split import split_text, text_length
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES

TELEGRAM = TELEGRAM_CAPABILITIES.max_text


def _words(text: str) -> list[str]:
    return re.split(r"\s+", text.strip())


def test_short_text_is_one_part_and_trimmed() -> None:
    assert split_text("  Cúp điện.  \n", TELEGRAM) == ["Cúp điện."]
    assert split_text(" \n ", TELEGRAM) == []


def test_paragraphs_come_first() -> None:
    first = "Đoạn một. " * 30
    second = "Đoạn hai. " * 30
    parts = split_text(f"{first}\n\n{second}", limit=400)
    assert parts == [first.strip(), second.strip()]


def test_lines_then_sentences_then_words() -> None:
    lines = "\n".join(f"- Dòng {i}: mất điện khu phố {i}." for i in range(40))
    parts = split_text(lines, limit=200)
    assert all(text_length(p) <= 200 for p in parts)
    assert all(p.startswith("- Dòng") for p in parts)  # cut at line starts
    assert "\n".join(parts) == lines

    sentences = " ".join(f"Câu số {i} nói về lịch cắt điện." for i in range(50))
    parts = split_text(sentences, limit=120)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == sentences

    words = " ".join(["nước"] * 200)  # no punctuation at all
    parts = split_text(words, limit=50)
    assert all(text_length(p) <= 50 for p in parts)
    assert _words(" ".join(parts)) == _words(words)  # never mid-word


def test_a_word_longer_than_a_message_is_cut() -> None:
    link = "https://example.vn/" + "a" * 300
    parts = split_text(f"Xem {link} ngay.", limit=100)
    assert all(text_length(p) <= 100 for p in parts)
    assert "".join(parts).replace(" ", "") == f"Xem{link}ngay."


def test_lengths_count_utf16_like_telegram() -> None:
    text = "🔥" * 3000  # 6000 UTF-16 code units
    parts = split_text(text, TELEGRAM)
    assert [text_length(p) for p in parts] == [TELEGRAM, 6000 - TELEGRAM]
    assert "".join(parts) == text


@pytest.mark.parametrize("limit", [TELEGRAM, 500])
def test_realistic_notice_keeps_order_and_content(limit: int) -> None:
    paragraph = (
        "Ủy ban nhân dân phường thông báo lịch tiêm chủng mở rộng tại trạm y tế. "
        "Người dân mang theo căn cước công dân và sổ tiêm chủng! Liên hệ 028 3829 "
        "0000 nếu cần hỗ trợ?\n"
    )
    text = "\n".join(paragraph * (i % 4 + 1) for i in range(60))
    parts = split_text(text, limit=limit)
    assert len(parts) > 1
    assert all(0 < text_length(p) <= limit for p in parts)
    assert _words(" ".join(parts)) == _words(text)
