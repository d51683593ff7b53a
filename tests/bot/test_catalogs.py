"""Every text the bot can say exists in Vietnamese (and English) in the compiled catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo

LOCALES = Path(__file__).resolve().parents[2] / "broadcasts" / "locales"
ROOT = LOCALES.parents[1]
SOURCES = ("bot", "broadcasts", "loa")


def _msgids() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "__": None}
    return {
        msg if isinstance(msg, str) else msg[0]
        for source in SOURCES
        for _, _, msg, _, _ in extract_from_dir(str(ROOT / source), keywords=keywords)
    }


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_catalog_translates_every_bot_text(locale: str) -> None:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        catalog = read_mo(f)
    translated = {  # a plural entry is listed by its singular id
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string))
    }
    missing = sorted(_msgids() - translated)
    assert not missing, f"untranslated in {locale} (run `make catalogs`): {missing}"


def test_vietnamese_is_really_vietnamese() -> None:
    with (LOCALES / "vi" / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        catalog = read_mo(f)
    same = [
        m.id
        for m in catalog
        if m.id
        and isinstance(m.id, str)
        and m.string == m.id
        and any(c.isalpha() for c in m.id)
        and m.id not in ("AI", "<b>{language}</b> ({source})")
    ]
    assert not same, same
