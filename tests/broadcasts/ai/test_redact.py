"""Redaction: placeholders and their way back, private items, masking."""

from __future__ import annotations

import pytest

from broadcasts.ai import find_private, mask_private
from broadcasts.ai.redact import find_phones, normalize, redact, restore
from tests.broadcasts.ai.helpers import SAMPLE_NAMES, sample

MIXED = (
    "Bà Nguyễn Thị Lan (0903 456 789, +84 912 345 678, lan.nguyen@example.vn) và "
    "ông Phạm Văn Bình, căn cước 079185004321, báo mất xe tại số 25 Trần Quang Khải, "
    "khu phố 3. Họ tên: Trần Minh Quân. Liên hệ Công an phường 028 3820 1234 hoặc "
    "tổng đài 1900 545454; khẩn cấp gọi 113."
)


def test_round_trip_restores_everything() -> None:
    red = redact(MIXED)
    for secret in (
        "Nguyễn Thị Lan",
        "0903 456 789",
        "+84 912 345 678",
        "lan.nguyen@example.vn",
        "Phạm Văn Bình",
        "079185004321",
        "Trần Minh Quân",
    ):
        assert secret not in red.text
    # Public contacts stay: the police's landline, the hotline, 113.
    for public in ("Công an phường 028 3820 1234", "tổng đài 1900 545454", "gọi 113"):
        assert public in red.text
    assert set(red.mapping) == {"⟦N1⟧", "⟦N2⟧", "⟦N3⟧", "⟦P1⟧", "⟦P2⟧", "⟦E1⟧", "⟦ID1⟧"}
    restored, invented = restore(red.text, red.mapping)
    assert restored == normalize(MIXED)
    assert invented == []


def test_places_streets_and_addresses_are_not_names() -> None:
    red = redact(MIXED)
    for kept in ("số 25 Trần Quang Khải", "khu phố 3", "gọi 113", "Công an phường"):
        assert kept in red.text
    text = "Tập trung tại chợ Bà Chiểu, đường Cô Giang, cầu Ông Lãnh; bà con mang theo giấy tờ."
    assert redact(text).text == text


def test_formal_capitalised_honorifics_are_names_too() -> None:
    red = redact("Kính mời Ông Trần Văn Cường và Bà Lê Thị Hoa đến nhận.")
    assert red.text == "Kính mời Ông ⟦N1⟧ và Bà ⟦N2⟧ đến nhận."


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_samples_round_trip(name: str) -> None:
    text = sample(name)
    red = redact(text)
    for phone in find_phones(text):
        # Mobiles are personal; the samples' landlines and hotlines are offices' own.
        assert (phone.raw in red.text) is (phone.kind != "mobile")
    assert restore(red.text, red.mapping) == (normalize(text), [])


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("gọi 0903 456 789.", "0903456789"),
        ("gọi 0903456789.", "0903456789"),
        ("gọi 0903.456.789.", "0903456789"),
        ("gọi +84 903 456 789.", "0903456789"),
        ("máy bàn 028 3820 1234.", "02838201234"),
        ("đường dây nóng 0283 9231 555.", "02839231555"),
        ("tổng đài 1900 545454.", "1900545454"),
        ("tổng đài 1800 1091.", "18001091"),
        ("máy bàn (028) 3820 1234.", "02838201234"),
        ("gọi (+84) 903 456 789.", "0903456789"),
        ("bà Lan (0903 456 789, hàng xóm)", "0903456789"),
        ("gọi 0903-456-789.", "0903456789"),
    ],
)
def test_phone_formats(text: str, digits: str) -> None:
    assert [p.digits for p in find_phones(text)] == [digits]


@pytest.mark.parametrize(
    "text",
    [
        "phạt 1.000.000 đồng",
        "ngày 28/11/2026",
        "ngày 28.11.2026",
        "gọi 114",
        "hẻm 1194",
        "2.350.000 đồng",
        "căn cước 079185004321",
    ],
)
def test_not_phone_numbers(text: str) -> None:
    assert find_phones(text) == []


def test_restore_reports_invented_placeholders_and_accepts_loose_forms() -> None:
    mapping = {"⟦P1⟧": "0903 456 789"}
    text, invented = restore("Gọi ⟦P1⟧ hoặc [P1] hoặc ⟦ P1 ⟧, hay ⟦P7⟧.", mapping)
    assert text == "Gọi 0903 456 789 hoặc 0903 456 789 hoặc 0903 456 789, hay ⟦P7⟧."
    assert invented == ["⟦P7⟧"]
    # A missing placeholder is fine.
    assert restore("Không có số.", mapping) == ("Không có số.", [])


def test_private_items_of_sample_06_and_masking() -> None:
    text = sample("06-tai-san-that-lac.txt")
    assert find_private(text) == ["0903 456 789", "079185004321"]
    masked = mask_private(text)
    assert "0903 *** ***" in masked
    assert "079*********" in masked
    assert "0903 456 789" not in masked and "079185004321" not in masked
    assert "028 3829 7755" in masked  # the police station's number is public
    assert find_private(masked) == []


@pytest.mark.parametrize("name", [n for n in SAMPLE_NAMES if not n.startswith("06")])
def test_organisational_numbers_are_not_private(name: str) -> None:
    assert find_private(sample(name)) == []


def test_mask_formats() -> None:
    assert mask_private("gọi 0903456789") == "gọi 0903******"
    assert mask_private("gọi +84 903 456 789") == "gọi +84 903 *** ***"
    assert mask_private("CCCD: 079 185 004 321") == "CCCD: 079 *** *** ***"
    assert mask_private("tổng đài 1900 545454, gọi 114") == "tổng đài 1900 545454, gọi 114"


def test_folding_maps_back_to_the_text_as_written() -> None:
    text = "gọi ０９０３\u200b456\u200b789 nhé"
    (phone,) = find_phones(text)
    assert phone.digits == "0903456789" and phone.kind == "mobile"
    assert phone.raw == "０９０３\u200b456\u200b789" == text[phone.start : phone.end]
    masked = mask_private(text)
    assert masked == "gọi ０９０３\u200b***\u200b*** nhé"
    red = redact(text)
    assert red.text == "gọi ⟦P1⟧ nhé" and restore(red.text, red.mapping) == (text, [])


def test_combining_marks_stay_with_their_letter() -> None:
    # Decomposed Vietnamese (a letter + combining marks) is one cluster when folding.
    decomposed = "ông Nguye\u0302\u0303n Va\u0306n An, sđt 0903456789"
    red = redact(decomposed)
    assert "⟦N1⟧" in red.text and "⟦P1⟧" in red.text
    assert restore(red.text, red.mapping) == (normalize(decomposed), [])


def test_new_kinds_have_their_own_placeholders() -> None:
    red = redact(
        "Chủ xe biển số 51F-123.45, sinh ngày 12/03/1980, STK 0071000123456, "
        "thường trú tại 45/6 Nguyễn Đình Chiểu, email an(at)gmail.com."
    )
    assert set(red.mapping) == {"⟦BS1⟧", "⟦NS1⟧", "⟦TK1⟧", "⟦DC1⟧", "⟦E1⟧"}
