"""The fact guard: equivalent forms pass, anything not in the source is a finding."""

from __future__ import annotations

from datetime import datetime

import pytest

from broadcasts.ai import check_facts
from broadcasts.ai.factguard import repeated_facts
from broadcasts.ai.timecheck import past_dates
from broadcasts.timeparse import TZ
from tests.broadcasts.ai.helpers import SAMPLE_NAMES, sample

SOURCE = (
    "Tạm ngừng cung cấp điện từ 07 giờ 30 đến 16 giờ 00 ngày 28/11/2026 tại khu phố 3. "
    "Phí thu gom 2.350.000 đồng, mực nước 1,75 m. Liên hệ 028 3820 1234 hoặc gọi 114. "
    "Họp lúc 19 giờ 30 tại Nhà văn hóa, số 10 hẻm 15 Lê Lợi, công viên 23 Tháng 9."
)


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("vi", "Cúp điện 7:30 - 16:00, 28/11."),
        ("vi", "Cúp điện 7h30 đến 16h ngày 28 tháng 11 năm 2026."),
        ("vi", "Cúp điện 07:30–16:00 Thứ Bảy, 28 tháng 11, 2026; gọi 02838201234."),
        ("en", "Power cut on Saturday, November 28, 2026, 7:30 AM – 4:00 PM."),
        ("en", "Power cut 28 Nov from 7:30\u202fAM to 4 PM. Fee 2,350,000 VND, water 1.75 m."),
        ("en", "Meeting at 7:30 PM at 10 hẻm 15 Lê Lợi. Call +84 28 3820 1234 or 114."),
        ("zh", "2026年11月28日星期六 07:30–16:00 停电。上午7点30分。费用235万越南盾。"),
        ("km", "ថ្ងៃសៅរ៍ 28 វិច្ឆិកា 2026 ម៉ោង 7:30 AM – 4:00 PM"),
        ("vi", "Phí 2,35 triệu đồng, khu phố 3, công viên 23 Tháng 9, họp 7 giờ 30 tối."),
    ],
)
def test_equivalent_forms_are_traceable(locale: str, text: str) -> None:
    assert check_facts(SOURCE, text, locale) == []


@pytest.mark.parametrize(
    ("text", "code", "value"),
    [
        ("Hạn chót 15/12/2026.", "untraceable_date", "15/12/2026"),
        ("Deadline December 15, 2026.", "untraceable_date", "December 15, 2026"),
        ("Bắt đầu 8 giờ 15.", "untraceable_time", "8 giờ 15"),
        ("Starts at 9:00 AM.", "untraceable_time", "9:00 AM"),
        ("Lệ phí 999.000 đồng.", "untraceable_number", "999.000"),
        ("Gọi 0909 123 456.", "untraceable_phone", "0909 123 456"),
        ("Tại số 99 Lê Lợi.", "untraceable_number", "99"),
    ],
)
def test_untraceable_values_are_findings(text: str, code: str, value: str) -> None:
    findings = check_facts(SOURCE, text, "en" if text[0].isascii() else "vi")
    assert [(f.code, f.value) for f in findings] == [(code, value)]


def test_findings_carry_the_locale() -> None:
    (finding,) = check_facts(SOURCE, "Fee 5,000,000 VND", "en")
    assert finding.locale == "en" and finding.code == "untraceable_number"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_notice_is_traceable_to_itself(name: str) -> None:
    text = sample(name)
    assert check_facts(text, text, "vi") == []


def test_official_edit_is_checked_too() -> None:
    source = sample("05-hop-dan.txt")
    ok = "Họp dân 19:30 thứ Tư 02/12 tại số 10 hẻm 15 Lê Lợi, mỗi hộ 1 đại diện."
    assert check_facts(source, ok, "vi") == []
    wrong = "Họp dân 19:30 thứ Tư 03/12 tại số 10 hẻm 15 Lê Lợi."
    assert [f.value for f in check_facts(source, wrong, "vi")] == ["03/12"]


def test_missing_facts_lists_what_a_summary_left_out() -> None:
    from broadcasts.ai.factguard import missing_facts

    source = sample("07-trieu-cuong.txt")
    summary = "Triều cường 15/11/2026 từ 17:00 đến 20:00; gọi 114 hoặc 02838730119."
    assert missing_facts(source, summary) == ["16 giờ 30"]


def test_weekday_that_the_date_does_not_fall_on() -> None:
    from broadcasts.ai.timecheck import weekday_mismatches

    # Sample 03 says "thứ Bảy, ngày 29/11/2026", but 29/11/2026 is a Sunday.
    assert weekday_mismatches(sample("03-sot-xuat-huyet.txt")) == [
        "thứ Bảy, ngày 29/11/2026 (29/11/2026: Chủ nhật)"
    ]
    for name in SAMPLE_NAMES:
        if not name.startswith("03"):
            assert weekday_mismatches(sample(name)) == [], name
    assert weekday_mismatches("ngày 28/11/2026 (Chủ nhật)") == [
        "28/11/2026 (Chủ nhật) (28/11/2026: thứ Bảy)"
    ]


RANGES = (
    "Tạm ngừng lưu thông đoạn từ số 12 đến số 148 Lê Thánh Tôn. "
    "Nhà văn hóa khu phố 2, số 10 hẻm 15 Lê Lợi; số 25 Trần Quang Khải."
)


@pytest.mark.parametrize(
    ("text", "code", "value"),
    [
        # The incident of issue 8: a range went out as one address.
        ("Cấm xe tại số 148 đường Lê Thánh Tôn.", "changed_range", "số 148 đường Lê Thánh Tôn"),
        (
            "Cấm xe từ số 12 đến số 25 Lê Thánh Tôn.",
            "changed_range",
            "từ số 12 đến số 25 Lê Thánh Tôn",
        ),
        ("Họp tại số 10 Lê Lợi.", "changed_address", "số 10 Lê Lợi"),
        ("Họp tại 25 Lê Lợi.", "changed_address", "25 Lê Lợi"),
        ("Road closed at 148 Le Thanh Ton Street.", "changed_range", "148 Le Thanh Ton Street"),
    ],
)
def test_a_changed_range_or_address_is_a_finding(text: str, code: str, value: str) -> None:
    locale = "en" if text.isascii() else "vi"
    assert [(f.code, f.value) for f in check_facts(RANGES, text, locale)] == [(code, value)]


@pytest.mark.parametrize(
    "text",
    [
        "Cấm xe đoạn từ số 12 đến số 148 Lê Thánh Tôn.",
        "Cấm xe 12–148 Lê Thánh Tôn.",
        "Lê Thánh Tôn: đoạn từ số 12 đến số 148.",
        "Road closed: Nos. 12 - 148 Le Thanh Ton Street.",
        "Họp tại số 10 hẻm 15 Lê Lợi, gần số 25 Trần Quang Khải.",
    ],
)
def test_the_same_range_or_address_passes(text: str) -> None:
    locale = "en" if text.isascii() else "vi"
    assert check_facts(RANGES, text, locale) == []


def test_dates_already_past_are_found() -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    text = "Họp ngày 30/11/2026 và ngày 05/12/2026; hạn chót 1/12/2026; nhắc lại 28/11."
    # 1/12 is today, not past; a date without a year is taken as the next one.
    assert past_dates(text, now=now) == ["30/11/2026"]
    assert past_dates(sample("01-cat-dien.txt"), now=now) == ["28/11/2026"]
    assert past_dates(sample("01-cat-dien.txt"), now=datetime(2026, 11, 1, tzinfo=TZ)) == []


def test_repeated_facts() -> None:
    text = (
        "Cúp điện 7 giờ 30 ngày 28/11. Thời gian: 07:30, 28/11/2026. Gọi 1900 545454, 1900545454."
    )
    assert set(repeated_facts(text)) == {"07:30", "28/11", "1900 545454"}
    assert repeated_facts("Từ 7 giờ đến 11 giờ, ngày 06/12/2026 tại số 25 Trần Quang Khải.") == []
    assert repeated_facts("số 25 Trần Quang Khải; 25 Tran Quang Khai") == ["số 25 Trần Quang Khải"]
