"""The offline engine over every sample notice: facts kept, lengths, warnings."""

from __future__ import annotations

import pytest

from broadcasts.ai import AISettings, mask_private, prepare_notice
from broadcasts.ai.offline import extract_facts, is_urgent, summarise
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES
from tests.broadcasts.ai.helpers import FACTS, SAMPLE_NAMES, missing, recall, sample

OFFLINE = AISettings()


@pytest.mark.parametrize("name", SAMPLE_NAMES)
async def test_offline_keeps_the_facts_within_the_limit(name: str) -> None:
    prep = await prepare_notice(sample(name), ["vi"], settings=OFFLINE)
    assert prep.engine == "offline"
    assert len(prep.summary) <= OFFLINE.summary_max_chars
    assert recall(name, prep.summary) >= 0.95, missing(name, prep.summary)
    vi = prep.renditions["vi"]
    assert recall(name, vi.text) >= 0.95, missing(name, vi.text)
    assert vi.source == "offline"
    assert not vi.flagged, vi.findings
    assert len(vi.text) <= TELEGRAM_CAPABILITIES.max_text


@pytest.mark.parametrize("limit", [200, 300, 400])
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_offline_respects_smaller_limits(name: str, limit: int) -> None:
    result = summarise(sample(name), limit)
    assert 0 < len(result.summary) <= limit


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_urgency_heuristic(name: str) -> None:
    assert is_urgent(sample(name)) is FACTS[name]["urgent"]


def test_headers_become_the_title() -> None:
    result = summarise(sample("01-cat-dien.txt"))
    assert result.title == "Tạm ngừng cung cấp điện để bảo trì lưới điện"
    assert "THÔNG BÁO" not in result.summary and "Về việc" not in result.summary
    assert summarise(sample("07-trieu-cuong.txt")).title == "Khẩn: Cảnh báo triều cường"
    assert summarise(sample("05-hop-dan.txt")).title == "Giấy mời họp dân"
    assert "Trân trọng" not in summarise(sample("05-hop-dan.txt")).summary


def test_key_facts_by_regex() -> None:
    facts = extract_facts(sample("01-cat-dien.txt"))
    assert facts["when"] == "Từ 07 giờ 30 đến 16 giờ 00, ngày 28/11/2026, thứ Bảy"
    assert facts["where"].startswith("Khu vực khu phố 3 và khu phố 4")
    assert facts["contact"] == "Tổng đài chăm sóc khách hàng 1900 545454"
    assert facts["action"].startswith("Chủ động sắp xếp công việc")
    facts = extract_facts(sample("02-tiem-soi.txt"))
    assert facts["where"] == "Trường Mầm non Tân Định, số 25 Trần Quang Khải, khu phố 1"
    assert facts["who"] == "Trẻ từ 1 tuổi đến dưới 6 tuổi chưa tiêm đủ 2 mũi"
    facts = extract_facts(sample("06-tai-san-that-lac.txt"))
    assert facts["where"] == "Trụ sở Công an phường Sài Gòn, số 14 Pasteur"
    assert facts["contact"] == "Điện thoại trực ban: 028 3829 7755"  # not the finder's mobile


async def test_other_locales_get_the_vietnamese_text_with_a_warning() -> None:
    prep = await prepare_notice(sample("02-tiem-soi.txt"), ["vi", "en"], settings=OFFLINE)
    assert set(prep.renditions) == {"vi", "en"}
    en = prep.renditions["en"]
    assert en.text == prep.renditions["vi"].text
    assert en.source == "offline"
    codes = [(w.code, w.locale) for w in prep.warnings]
    assert ("no_translation_offline", "en") in codes
    assert ("no_translation_offline", "vi") not in codes
    assert "Thời gian: Chủ Nhật, 6 tháng 12, 2026, 07:00–11:00" in en.text


async def test_vietnamese_is_always_prepared() -> None:
    prep = await prepare_notice(sample("02-tiem-soi.txt"), ["km"], settings=OFFLINE)
    assert list(prep.renditions) == ["vi", "km"]


async def test_sample_06_private_warnings_and_masking() -> None:
    text = sample("06-tai-san-that-lac.txt")
    prep = await prepare_notice(text, ["vi"], settings=OFFLINE)
    warnings = [(w.code, w.detail) for w in prep.warnings]
    assert ("private_phone", "0903 456 789") in warnings
    assert ("private_id_number", "079185004321") in warnings
    assert prep.private_items == ["0903 456 789", "079185004321"]
    again = await prepare_notice(mask_private(text), ["vi"], settings=OFFLINE)
    assert again.private_items == []
    assert not any(w.code.startswith("private") for w in again.warnings)
    assert "0903 *** ***" in again.renditions["vi"].text
    assert "079*********" in again.renditions["vi"].text


@pytest.mark.parametrize("name", [n for n in SAMPLE_NAMES if not n.startswith("06")])
async def test_no_private_warnings_for_organisational_numbers(name: str) -> None:
    prep = await prepare_notice(sample(name), ["vi"], settings=OFFLINE)
    assert not any(w.code.startswith("private") for w in prep.warnings)


async def test_offline_says_why() -> None:
    prep = await prepare_notice(sample("01-cat-dien.txt"), ["vi"], settings=OFFLINE)
    assert [w.code for w in prep.warnings] == ["ai_disabled"]
    off = AISettings(enabled=False, base_url="http://127.0.0.1:9/v1")
    prep = await prepare_notice(sample("01-cat-dien.txt"), ["vi"], settings=off)
    assert [(w.code, w.detail) for w in prep.warnings] == [("ai_disabled", "disabled in settings")]


def test_settings_from_env_and_blank_values() -> None:
    settings = AISettings.from_env(
        {
            "LOA_AI__BASE_URL": "",
            "LOA_AI__API_KEY": "",
            "LOA_AI__ENABLED": "false",
            "LOA_AI__TIMEOUT_SECONDS": "3.5",
            "LOA_AI__SUMMARY_MAX_CHARS": "300",
            "LOA_AI__MODEL": "qwen2.5",
            "LOA_OTHER": "x",
        }
    )
    assert settings.base_url is None and not settings.enabled and not settings.remote
    assert settings.api_key.get_secret_value() == "not-needed"
    assert settings.timeout_seconds == 3.5 and settings.summary_max_chars == 300
    assert settings.model == "qwen2.5"


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("THÔNG BÁO KHẨN\nCúp nước toàn phường.", True),
        ("Cúp nước đột xuất từ 14 giờ do sự cố vỡ ống chính.", True),
        ("Mất điện đột xuất tại khu phố 2.", True),
        ("Dự báo bão số 9 đổ bộ chiều nay, người dân gia cố nhà cửa.", True),
        ("Mưa lớn gây ngập úng tại hẻm 12.", True),
        ("Tập huấn phòng cháy chữa cháy vào 8 giờ ngày 5/12.", False),
        ("Lịch cúp điện định kỳ để bảo trì lưới điện ngày 5/12.", False),
        ("Trường hợp khẩn cấp gọi 113. Họp tổ dân phố lúc 19 giờ.", False),
    ],
)
def test_urgency_words(text: str, urgent: bool) -> None:
    assert is_urgent(text) is urgent


async def test_weekday_mismatch_is_warned_and_not_repeated() -> None:
    prep = await prepare_notice(sample("03-sot-xuat-huyet.txt"), ["vi"], settings=OFFLINE)
    assert "weekday_mismatch" in [w.code for w in prep.warnings]
    # The key-fact line shows the date without asserting either weekday.
    assert "Thời gian: 29 tháng 11, 2026, 07:00" in prep.renditions["vi"].text
