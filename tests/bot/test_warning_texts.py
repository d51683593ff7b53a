"""The review's words for the warnings the AI step gives: the original in another
language, a date already past — plain Vietnamese, and English for an English official."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import make_i18n
from bot.texts import retime_prompt, review_footer, time_error_text, time_prompt, warning_text
from broadcasts.ai import AISettings
from broadcasts.ai.prepare import prepare_notice
from broadcasts.errors import UnreadableTime
from broadcasts.timeparse import TZ, example_day, parse_local_time
from tests.broadcasts.ai.helpers import sample


@pytest.fixture
def vi() -> object:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        yield


async def test_an_english_notice_and_a_past_date_are_said_plainly(vi: object) -> None:
    prep = await prepare_notice(
        sample("11-fire-drill-english.txt"), ["vi"], settings=AISettings(enabled=False)
    )
    codes = {w.code: w for w in prep.warnings}
    assert "not_in_vietnamese" in codes
    w = codes["not_in_vietnamese"]
    text = warning_text(w.code, w.detail or "", w.locale)
    assert text.startswith("Bản gốc viết bằng tiếng Anh, Loa chưa dịch được.")
    assert "«✏️ Sửa bản tiếng Việt»" in text

    past = await prepare_notice(
        "Họp tổ dân phố lúc 19 giờ ngày 05/11/2026 tại nhà văn hóa.",
        ["vi"],
        settings=AISettings(enabled=False),
        now=datetime(2026, 12, 1, 3, tzinfo=UTC),
    )
    w = next(w for w in past.warnings if w.code == "past_date")
    text = warning_text(w.code, w.detail or "", w.locale)
    assert text == "Nội dung có ngày đã qua: 05/11/2026. Anh/chị kiểm tra lại."
    footer = review_footer(warnings=[(w.code, w.detail or "", w.locale)], renditions=[])
    assert "⚠️ Nội dung có ngày đã qua" in footer
    for shown in (footer, warning_text("not_in_vietnamese", "en", "vi")):
        assert "bạn" not in shown.lower() and "Note:" not in shown


def test_the_urgent_line_of_the_review(vi: object) -> None:
    footer = review_footer(warnings=[], renditions=[], urgent=True)
    assert footer.startswith("🚨 KHẨN:")
    assert "🚨 KHẨN" not in review_footer(warnings=[], renditions=[])


def test_english_for_an_english_official() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text = warning_text("not_in_vietnamese", "en", "vi")
        assert text.startswith("The original is written in English, and Loa cannot translate it.")
        assert warning_text("past_date", "05/11/2026", "vi").startswith(
            "The text has a date that has already passed: 05/11/2026."
        )


def test_every_example_of_a_time_is_ahead(vi: object) -> None:
    day = example_day()
    assert day > datetime.now(TZ).date()
    example = f"7h30 {day.day}/{day.month}"
    unreadable = time_error_text(UnreadableTime("unreadable"), "bảy giờ kém")
    assert unreadable == f"Loa chưa đọc được “bảy giờ kém”. Anh/chị gõ theo mẫu {example} nhé."
    assert f"ví dụ: {example}." in retime_prompt(7)
    assert f"<b>{example}</b>" in time_prompt(day)
    assert parse_local_time(example) > datetime.now(UTC)  # the example reads as a time ahead
