"""Every text the bot can say exists in Vietnamese and English, and the Vietnamese reads as
Vietnamese: polite (never «bạn»), no English left over, plurals complete, placeholders kept;
a failed delivery's reason is told in plain Vietnamese whatever the transport said."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.i18n import make_i18n
from bot.texts import failure_sentence, failure_text, status_text, warning_text
from broadcasts.failures import Failure, FailureKind, classify
from broadcasts.notices import Progress

LOCALES = Path(__file__).resolve().parents[2] / "broadcasts" / "locales"
ROOT = LOCALES.parents[1]
SOURCES = ("bot", "broadcasts", "loa")
PLURALS = {"vi": 1, "en": 2}

# Words that mean English was left in a Vietnamese text (checked as whole words).
ENGLISH_WORDS = {
    "the", "please", "error", "errors", "failed", "failure", "forbidden", "bot", "was",
    "timeout", "bad", "request", "gateway", "server", "network", "blocked", "kicked",
    "attempts", "gave", "group", "groups", "notice", "notices", "send", "sent", "you",
    "your", "is", "are", "and", "of", "to", "with", "not", "found", "rights", "member",
    "unauthorized", "cancel", "received", "edit", "done", "summary", "people", "time",
}  # fmt: skip
# Allowed as they are: names and words Vietnamese uses too.
SAME_ALLOWED = {"AI", "Telegram", "Zalo"}  # names, the same in every language


def _po(locale: str) -> Catalog:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f)


def _entries(locale: str) -> Iterator[Message]:
    return (m for m in _po(locale) if m.id)


def _strings(m: Message) -> tuple[str, ...]:
    return m.string if isinstance(m.string, tuple) else (m.string,)


def _ids(m: Message) -> tuple[str, ...]:
    return m.id if isinstance(m.id, tuple) else (m.id,)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _words(text: str) -> set[str]:
    """The words of a text a reader sees: placeholders, commands and tags taken out."""
    text = re.sub(r"\{[^}]*\}|/\w+|<[^>]+>", " ", text)
    return {w.lower() for w in re.findall(r"[^\W\d_]+", text)}


def english_in(text: str) -> set[str]:
    return _words(text) & ENGLISH_WORDS


def _msgids() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "__": None}
    return {
        msg if isinstance(msg, str) else msg[0]
        for source in SOURCES
        for _, _, msg, _, _ in extract_from_dir(str(ROOT / source), keywords=keywords)
    }


# --- the catalogs -----------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_catalog_translates_every_bot_text(locale: str) -> None:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        catalog = read_mo(f)
    translated = {
        m.id[0] if isinstance(m.id, (tuple, list)) else m.id for m in catalog if m.id and m.string
    }
    missing = sorted(_msgids() - translated)
    assert not missing, f"untranslated in {locale} (run `make catalogs`): {missing}"


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_no_entry_is_empty_or_fuzzy(locale: str) -> None:
    bad = [m.id for m in _entries(locale) if m.fuzzy or not all(s.strip() for s in _strings(m))]
    assert not bad, bad


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_plural_forms_are_complete(locale: str) -> None:
    catalog = _po(locale)
    assert catalog.num_plurals == PLURALS[locale]
    plural = [m for m in _entries(locale) if m.pluralizable]
    assert plural, "texts with a count go through ngettext"
    bad = [m.id for m in plural if len(_strings(m)) != PLURALS[locale]]
    assert not bad, bad


def test_texts_with_a_count_are_plural() -> None:
    counted = re.compile(r"\{(count|sent|total)\}\W*(group|area|people|person|time)")
    single = [m.id for m in _entries("en") if not m.pluralizable and counted.search(m.id)]
    assert not single, f"use ngettext: {single}"


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_placeholders_are_kept(locale: str) -> None:
    bad = []
    for m in _entries(locale):
        wanted = set().union(*(_placeholders(i) for i in _ids(m)))
        for s in _strings(m):
            if _placeholders(s) != wanted:
                bad.append((m.id, s))
    assert not bad, bad


def test_vietnamese_never_says_ban() -> None:
    bad = [s for m in _entries("vi") for s in _strings(m) if re.search(r"\bbạn\b", s, re.I)]
    assert not bad, bad


def test_vietnamese_says_thong_bao_never_tin_alone() -> None:
    """«tin» alone reads as «tin tức»: a notice is «thông báo», Telegram's is «tin nhắn»
    («thông tin» is another word)."""
    bad = [
        s
        for m in _entries("vi")
        for s in _strings(m)
        if re.search(r"(?<!thông )\btin\b(?! nhắn)", s, re.I)
    ]
    assert not bad, bad


# The one «xác nhận» agreed on: issue 11 fixes the last line of a notice on a transport
# without buttons (Zalo) word for word.
REPLY_HINT = 'Trả lời 1 hoặc "đã nhận" để xác nhận.'


def test_vietnamese_uses_the_agreed_terms() -> None:
    texts = [s for m in _entries("vi") for s in _strings(m) if s != REPLY_HINT]
    for wrong in ("trưởng nhóm", "căn cước công dân", "tiếng Trung", "Khmer", "xác nhận"):
        assert not [t for t in texts if wrong.lower() in t.lower()], wrong
    assert not [t for t in texts if re.search(r"\(\s*(vi|en|zh|km)\s*\)", t)]  # no ISO codes
    # Language names are lower case mid-sentence.
    assert not [t for t in texts if re.search(r"(?<!^)(?<![.!?»:] )Tiếng (Việt|Anh|Hoa)", t)]


def test_vietnamese_has_no_english_left() -> None:
    same = [
        m.id
        for m in _entries("vi")
        for i, s in zip(_ids(m), _strings(m), strict=False)
        if s == i and _words(s) and s not in SAME_ALLOWED
    ]
    assert not same, same
    english = {s: english_in(s) for m in _entries("vi") for s in _strings(m) if english_in(s)}
    assert not english, english


# --- texts as rendered --------------------------------------------------------------------

# Reasons as the delivery engine stores them (see broadcasts/delivery and transports).
STORED_REASONS = {
    "forbidden: bot was kicked from the group chat": FailureKind.removed,
    "forbidden: bot was kicked from the supergroup chat": FailureKind.removed,
    "forbidden: bot is not a member of the supergroup chat": FailureKind.removed,
    "channel inactive: bot removed from the group by Ông Chín": FailureKind.removed,
    "forbidden: bot was blocked by the user": FailureKind.blocked,
    "bad request: not enough rights to send text messages to the chat": FailureKind.no_rights,
    "bad request: need administrator rights in the channel chat": FailureKind.no_rights,
    "channel inactive: the bot may not send messages in this group": FailureKind.no_rights,
    "bad request: chat not found": FailureKind.chat_gone,
    "bad request: group chat was deactivated": FailureKind.chat_gone,
    "channel not found": FailureKind.chat_gone,
    "channel inactive: moved to chat -1001234, registered as channel 7": FailureKind.chat_moved,
    "gave up after 5 attempts: chat keeps migrating": FailureKind.chat_moved,
    "channel inactive: removed by admin": FailureKind.paused,
    "channel inactive: ": FailureKind.paused,
    "bad request: message is too long": FailureKind.rejected,
    "bad request: can't parse entities: unsupported start tag": FailureKind.rejected,
    "MessageRejected": FailureKind.rejected,
    "nothing to send: the text is empty": FailureKind.empty,
    "gave up after 5 attempts: unauthorized: Unauthorized": FailureKind.setup,
    "gave up after 2 attempts: no 'viber' transport for bot account 3": FailureKind.setup,
    "gave up after 5 attempts: invalid bot token": FailureKind.setup,
    "gave up after 5 attempts: timeout: no answer within 10s": FailureKind.no_answer,
    "gave up after 3 attempts: network error: ClientConnectorError: refused": (
        FailureKind.no_answer
    ),
    "gave up after 5 attempts: server error: Bad Gateway": FailureKind.provider_error,
    "gave up after 4 attempts: telegram error: Internal Server Error": FailureKind.provider_error,
    "something nobody foresaw": FailureKind.unknown,
}


def test_every_failure_kind_has_a_stored_reason_here() -> None:
    assert set(STORED_REASONS.values()) == set(FailureKind)


@pytest.mark.parametrize(("reason", "kind"), STORED_REASONS.items())
def test_stored_reasons_are_classified(reason: str, kind: FailureKind) -> None:
    assert classify(reason).kind is kind
    if reason.startswith("gave up after 5"):
        assert classify(reason).attempts == 5


@pytest.mark.parametrize("reason", STORED_REASONS)
def test_failure_reasons_read_as_plain_vietnamese(reason: str) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = failure_text(reason)
    assert text and reason not in text
    assert not english_in(text), text
    assert not re.search(r"\bbạn\b", text)


@pytest.mark.parametrize("kind", list(FailureKind))
@pytest.mark.parametrize("attempts", [None, 1, 5])
def test_every_failure_kind_is_translated(kind: FailureKind, attempts: int | None) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        vi = failure_sentence(Failure(kind, attempts))
    with i18n.context(), i18n.use_locale("en"):
        en = failure_sentence(Failure(kind, attempts))
    assert vi and en and vi != en
    assert not english_in(vi), vi
    if attempts and kind in (FailureKind.provider_error, FailureKind.no_answer):
        assert f"{attempts} lần" in vi
        assert f"{attempts} time{'s' if attempts > 1 else ''} " in en


def test_the_status_tells_failures_in_vietnamese() -> None:
    progress = Progress(
        notice_id=3,
        status="done",
        total=3,
        sent=1,
        failed=2,
        acknowledged_channels=1,
        acknowledgements=1,
        failures=[
            ("Tổ dân phố 5", "forbidden: bot was kicked from the group chat"),
            ("Khu phố 3", "gave up after 5 attempts: server error: Bad Gateway"),
        ],
    )
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        vi = status_text(notice_id=3, title="Lịch cúp điện", progress=progress, scheduled_at=None)
    with i18n.context(), i18n.use_locale("en"):
        en = status_text(notice_id=3, title="Lịch cúp điện", progress=progress, scheduled_at=None)
    assert "gửi xong, 2 nhóm không nhận được" in vi
    assert "Đã nhận: 1/3 nhóm (1 người)" in vi
    assert "✖️ Tổ dân phố 5: Loa đã bị xóa khỏi nhóm – nhờ tổ trưởng thêm lại Loa" in vi
    assert "✖️ Khu phố 3: Telegram bị lỗi, Loa đã thử 5 lần không được." in vi
    assert not english_in(re.sub(r"<[^>]+>", "", vi)), vi
    assert "finished, 2 groups did not receive it" in en
    assert "Acknowledged: 1/3 groups (1 person)" in en
    assert "Loa was removed from the group" in en


WARNINGS = [
    ("private_phone", "0903 456 789", None),
    ("private_id_number", "079185004321", None),
    ("ai_failed_fallback", "timeout", None),
    ("ai_failed_fallback", "unexpected_ValueError", None),
    ("ai_disabled", "disabled in settings", None),
    ("no_translation_offline", "en", "en"),
    ("translation_missing", "the AI gave no zh text", "zh"),
    ("not_in_vietnamese", "en", "vi"),
    ("past_date", "01/12/2025", "vi"),
    ("missing_fact", "not in the summary: 05/12/2026, 31/12/2026", "vi"),
    ("weekday_mismatch", "thứ Bảy, ngày 29/11/2026 (29/11/2026: Chủ nhật)", None),
]


@pytest.mark.parametrize(("code", "detail", "locale"), WARNINGS)
def test_review_warnings_read_as_plain_vietnamese(
    code: str, detail: str, locale: str | None
) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = warning_text(code, detail, locale)
    assert not english_in(text), text
    assert "timeout" not in text and "unexpected" not in text and "not in the summary" not in text
    assert not re.search(r"\((vi|en|zh|km)\)", text)


def test_the_weekday_warning_says_which_day_it_is() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = warning_text(
            "weekday_mismatch", "thứ Bảy, ngày 29/11/2026 (29/11/2026: Chủ nhật)", None
        )
    assert "ngày 29/11/2026 là Chủ nhật" in text and "“thứ Bảy, ngày 29/11/2026”" in text
