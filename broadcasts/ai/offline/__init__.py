"""The offline engine: a real summary and key facts, with no network and no model file.

    result = summarise(text)            # title, body, key facts, the text to send
    result.text                         # never longer than `Budget().for_text(text)`

The seams, in the order a notice goes through them:
`letter` takes off what is letter, not message (motto, issuer, «Số:», «Căn cứ», the
signature block) and finds the title; `language` tells what the notice is written in;
`sentences` cuts the message into scored units (underthesea's `sent_tokenize`);
`when` and `facts` read the key facts and what they take out of the body; `summary`
tidies the rest and chooses what fits; `urgency` says whether it cannot wait.

If the structured text (title, body, key-fact lines) cannot fit a short notice's budget,
the message itself goes out as it was written, without its letter parts: a one-line
notice is sent once, not as a title, a body and a key fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcasts.ai.budget import DEFAULT_BUDGET
from broadcasts.ai.factguard import missing_facts
from broadcasts.ai.formatting import rendition_text
from broadcasts.ai.offline.facts import key_facts
from broadcasts.ai.offline.language import detect_language
from broadcasts.ai.offline.letter import read_letter, says_what, title_from_sentence
from broadcasts.ai.offline.sentences import Unit, split_sentences, units_of
from broadcasts.ai.offline.summary import compact, cut, is_intro, select, tidy
from broadcasts.ai.offline.urgency import is_urgent, urgency_reason
from broadcasts.ai.redact import normalize

__all__ = [
    "OfflineResult",
    "detect_language",
    "extract_facts",
    "is_urgent",
    "make_title",
    "split_sentences",
    "summarise",
    "urgency_reason",
]

SUMMARY_MAX_CHARS = 500
MAX_TITLE_CHARS = 120


@dataclass(frozen=True, slots=True)
class OfflineResult:
    title: str
    summary: str  # the body, as sent
    facts: dict[str, str]  # the key facts, as their lines show them
    text: str  # title, body and key-fact lines: what a group receives
    language: str  # what the notice (and so the text) is written in
    budget: int  # the most characters `text` may have


def _body_units(
    units: list[Unit], cuts: dict[int, list[tuple[int, int]]], dropped: set[int]
) -> list[Unit]:
    body: list[Unit] = []
    for unit in units:
        if unit.index in dropped or is_intro(unit.text):
            continue
        text = cut(unit.text, cuts[unit.index]) if unit.index in cuts else unit.text
        text = tidy(text, lead=not body)
        if len(text.split()) >= 3:
            body.append(unit.with_text(text))
    return body


def summarise(
    text: str,
    max_chars: int = SUMMARY_MAX_CHARS,
    *,
    budget: int | None = None,
    language: str | None = None,
) -> OfflineResult:
    """Title, body (at most `max_chars`), key facts and the text to send, which fits
    `budget` characters (by default the rule of `broadcasts.ai.budget`)."""
    text = normalize(text).strip()
    limit = DEFAULT_BUDGET.for_text(text) if budget is None else budget
    letter = read_letter(text)
    message = "\n".join(letter.lines)
    language = language or detect_language(message or text)
    units = units_of(letter.lines)
    facts = key_facts(units, language)
    body = _body_units(units, facts.cuts, facts.dropped)
    title = letter.title
    if title is None and units:
        first = next((u for u in units if u.index not in facts.dropped), units[0])
        title = title_from_sentence(first.original)
        if body and body[0].index == first.index and title == first.original.rstrip("."):
            body = body[1:]  # the sentence is the title: say it once
    title = (title or "")[:MAX_TITLE_CHARS]
    values = {k: compact(v) for k, v in facts.values.items()}
    fixed = len(rendition_text(title, "", values, language))
    room = min(max_chars, limit - fixed - 2)
    summary = select(
        body, room, title=title, title_says_what=says_what(title), central=frozenset(facts.cuts)
    )
    sent = rendition_text(title, summary, values, language)
    if len(sent) > limit or (not summary and body):
        verbatim = compact(message)
        headed = f"{title}\n\n{verbatim}" if letter.title else verbatim
        for candidate in (headed, verbatim):
            if len(candidate) <= limit and len(missing_facts(message, candidate)) <= len(
                missing_facts(message, sent)
            ):
                return OfflineResult(
                    title or title_from_sentence(verbatim),
                    verbatim,
                    {},
                    candidate,
                    language,
                    limit,
                )
        if len(sent) > limit:
            sent = sent[: limit - 1].rsplit(" ", 1)[0] + "…"
    return OfflineResult(title, summary, values, sent, language, limit)


def extract_facts(text: str) -> dict[str, str]:
    """The key facts the offline engine reads from a notice (when, where, who, contact)."""
    return summarise(text).facts


def make_title(text: str) -> str:
    """The title the offline engine gives a notice."""
    return summarise(text).title
