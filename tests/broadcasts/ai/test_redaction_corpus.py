"""The redaction corpus: every case hides what it must and keeps what it must."""

from __future__ import annotations

import re

import pytest

from broadcasts.ai.redact import redact, restore
from tests.broadcasts.ai.redaction_corpus import CORPUS, Case


def leaked(case: Case, redacted: str) -> list[str]:
    """The `hide` items of a case still in the redacted text (or their digits)."""
    digits = re.sub(r"\D", "", redacted)
    out: list[str] = []
    for item in case.hide:
        item_digits = re.sub(r"\D", "", item)
        if item in redacted or (len(item_digits) >= 6 and item_digits in digits):
            out.append(item)
    return out


def lost(case: Case, redacted: str) -> list[str]:
    """The `keep` items of a case the redaction took away."""
    return [item for item in case.keep if item not in redacted]


def test_the_corpus_is_large_and_named_once() -> None:
    assert len(CORPUS) >= 60
    assert len({c.name for c in CORPUS}) == len(CORPUS)
    assert sum(len(c.hide) for c in CORPUS) >= 60


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_case(case: Case) -> None:
    red = redact(case.text)
    assert leaked(case, red.text) == []
    assert lost(case, red.text) == []
    # Placeholders map back to the text as it was written (zero-width and all).
    assert restore(red.text, red.mapping) == (case.text, [])
