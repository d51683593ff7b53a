"""The AI step as one call: a notice and its channels' locales in, a `Preparation` out.

Private items are looked for first (and warned about). With an endpoint configured and
enabled, the redacted notice goes to the remote engine; its answer gets its placeholders
restored and every rendition is run through the fact guard. Otherwise — or when the
endpoint fails — the offline engine summarises within the length budget
(`broadcasts.ai.budget`), and other locales get its text with a warning saying why.
Dates the text would announce that have already passed are warned about (`now`).

A notice longer than `settings.max_notice_chars` is refused (`NoticeTooLong`). The step's
own work — finding private items, redacting, the offline summary, checking the answer —
runs in a worker thread, off the event loop, within `settings.step_deadline_seconds`
(`NoticeTooComplex` past it), so one notice never holds up the bot or the API.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TypeVar

from broadcasts.ai import offline
from broadcasts.ai.budget import Budget
from broadcasts.ai.factguard import check_facts, extract, missing_facts
from broadcasts.ai.formatting import compose_text, facts_lines, localized_facts, rendition_text
from broadcasts.ai.models import (
    FACT_KEYS,
    AISettings,
    Finding,
    Preparation,
    RenditionDraft,
    Warning,
)
from broadcasts.ai.offline.letter import read_letter
from broadcasts.ai.places import find_places
from broadcasts.ai.redact import normalize, private_items, redact, restore
from broadcasts.ai.timecheck import past_dates, weekday_mismatches
from broadcasts.errors import NoticeTooComplex, NoticeTooLong
from broadcasts.metrics import AI_FALLBACKS, AI_STEP_SECONDS, fallback_reason

if TYPE_CHECKING:
    import httpx
    import httpx2

    from broadcasts.ai.remote import AIAnswer, AITranslation

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_TITLE_CHARS = 120
MAX_MISSING_SHOWN = 6
_FOREIGN_KEYS = ("when", "where", "contact")


def check_length(text: str, settings: AISettings) -> None:
    """Refuse a notice the AI step would not read whole."""
    if len(text) > settings.max_notice_chars:
        raise NoticeTooLong(
            f"a notice may have at most {settings.max_notice_chars} characters "
            f"(this one has {len(text)})",
            reason=NoticeTooLong.reason,
            limit=settings.max_notice_chars,
            length=len(text),
        )


# One worker thread for every AI step of the process: the steps queue rather than compete
# with each other and with the event loop for the interpreter (a flood of long notices
# costs one thread's worth of CPU, not dozens).
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loa-ai-step")


async def _off_loop(work: Callable[[], T], settings: AISettings) -> T:
    """`work()` in the AI step's worker thread, so that the event loop keeps serving others;
    at most `settings.step_deadline_seconds`, queueing included (the thread is left to
    finish on its own)."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(_WORKER, context.run, work),
            timeout=settings.step_deadline_seconds,
        )
    except TimeoutError:
        log.warning("AI step over its %.1f s deadline", settings.step_deadline_seconds)
        raise NoticeTooComplex(
            f"the notice could not be prepared within {settings.step_deadline_seconds:g} s",
            reason=NoticeTooComplex.reason,
        ) from None


def _read(
    text: str,
) -> tuple[list[tuple[Literal["phone", "id"], str]], list[str], bool, str]:
    """Private items, weekday mismatches, urgency and language of the notice."""
    if not text:
        return [], [], False, "vi"
    found = private_items(text)
    return found, weekday_mismatches(text), offline.is_urgent(text), offline.detect_language(text)


def _locales(locales: Sequence[str]) -> list[str]:
    """Vietnamese first, each locale once, as the channels spell them."""
    out = ["vi"]
    for loc in locales:
        loc = loc.strip()
        if loc and loc.lower() != "vi" and loc not in out:
            out.append(loc)
    return out


def _vi_text(title: str, summary: str, facts: dict[str, str]) -> str:
    """The AI's title, summary and key facts; a key fact the summary already states is not
    repeated as a line (each fact once)."""
    new = {k: v for k, v in facts.items() if not _said_in(summary, v)}
    return rendition_text(title, summary, new, "vi", keys=FACT_KEYS)


def _said_in(summary: str, value: str) -> bool:
    """Whether every date, time, phone number and address of `value` is in `summary`."""
    places = {p.key for p in find_places(value)}
    has_facts = bool(places) or any(item.kind != "number" for item in extract(value, "vi"))
    stated = {p.key for p in find_places(summary)}
    return has_facts and not missing_facts(value, summary) and places <= stated


def _missing_warnings(source: str, text: str, private: Sequence[str]) -> list[Warning]:
    """One warning listing the source's dates, times and phone numbers that the Vietnamese
    rendition leaves out (private numbers may well be left out)."""
    skip = {"".join(ch for ch in p if ch.isdigit()) for p in private}
    message = "\n".join(read_letter(source).lines) or source  # not the letter's own dates
    values = [
        v
        for v in missing_facts(message, text)
        if "".join(ch for ch in v if ch.isdigit()) not in skip
    ]
    if not values:
        return []
    shown = ", ".join(values[:MAX_MISSING_SHOWN])
    if len(values) > MAX_MISSING_SHOWN:
        shown += f" (+{len(values) - MAX_MISSING_SHOWN})"
    return [Warning(code="missing_fact", detail=f"not in the summary: {shown}", locale="vi")]


def _offline(
    text: str, locales: list[str], settings: AISettings, private: Sequence[str], budget: Budget
) -> tuple[Preparation, list[Warning]]:
    result = offline.summarise(text, settings.summary_max_chars, budget=budget.for_text(text))
    language = result.language
    warnings = _missing_warnings(text, result.text, private)
    if language != "vi":
        warnings.append(Warning(code="not_in_vietnamese", detail=language, locale="vi"))
    renditions: dict[str, RenditionDraft] = {}
    for loc in locales:
        renditions[loc] = RenditionDraft(
            locale=loc,
            title=result.title,
            text=result.text,
            source="offline",
            language=language,
            findings=check_facts(text, result.text, language) if loc == "vi" else [],
        )
        if loc not in ("vi", language):
            warnings.append(Warning(code="no_translation_offline", detail=loc, locale=loc))
    prep = Preparation(
        title=result.title,
        summary=result.summary,
        facts=result.facts,
        renditions=renditions,
        warnings=[],
        engine="offline",
        urgent=False,
        private_items=[],
        language=language,
    )
    return prep, warnings


def _restore_all(
    answer: AIAnswer, mapping: dict[str, str]
) -> tuple[AIAnswer, dict[str, list[str]]]:
    """The answer with originals back in place, and the placeholders each locale invented."""
    invented: dict[str, list[str]] = {}

    def back(value: str, locale: str) -> str:
        restored, unknown = restore(value, mapping)
        for token in unknown:
            invented.setdefault(locale, [])
            if token not in invented[locale]:
                invented[locale].append(token)
        return restored

    facts = answer.facts.model_copy(
        update={key: back(getattr(answer.facts, key), "vi") for key in FACT_KEYS}
    )
    translations = {
        loc: tr.model_copy(update={"title": back(tr.title, loc), "text": back(tr.text, loc)})
        for loc, tr in answer.translations.items()
    }
    restored = answer.model_copy(
        update={
            "title": back(answer.title, "vi"),
            "summary": back(answer.summary, "vi"),
            "facts": facts,
            "translations": translations,
        }
    )
    return restored, invented


def _remote_preparation(
    text: str,
    answer: AIAnswer,
    invented: dict[str, list[str]],
    locales: list[str],
    settings: AISettings,
    private: Sequence[str],
) -> tuple[Preparation, list[Warning]]:
    from broadcasts.ai.remote import RemoteFailure

    summary = answer.summary.strip()
    if len(summary) > settings.summary_max_chars:
        raise RemoteFailure(f"summary_too_long ({len(summary)} > {settings.summary_max_chars})")
    title = (answer.title.strip() or offline.make_title(text))[:MAX_TITLE_CHARS]
    facts = {
        k: v.strip() for k, v in answer.facts.model_dump().items() if k in FACT_KEYS and v.strip()
    }
    warnings: list[Warning] = []
    renditions: dict[str, RenditionDraft] = {}
    vi_text = _vi_text(title, summary, facts)
    warnings += _missing_warnings(text, vi_text, private)
    for loc in locales:
        if loc == "vi":
            r_title, r_text = title, vi_text
        else:
            tr = _translation(answer, loc)
            if tr is None:
                warnings.append(
                    Warning(
                        code="translation_missing", detail=f"the AI gave no {loc} text", locale=loc
                    )
                )
                r_title, r_text = title, vi_text
            else:
                r_title = tr.title.strip()[:MAX_TITLE_CHARS] or title
                lines = facts_lines(localized_facts(facts, loc), loc, _FOREIGN_KEYS)
                r_text = compose_text(r_title, tr.text, lines)
        findings = check_facts(text, r_text, loc)
        findings += [
            Finding(code="invented_placeholder", value=token, locale=loc)
            for token in invented.get(loc, [])
            if token in r_text
        ]
        renditions[loc] = RenditionDraft(
            locale=loc,
            title=r_title,
            text=r_text,
            source="ai",
            language="vi" if r_text == vi_text else loc,
            findings=_unique(findings),
        )
    prep = Preparation(
        title=title,
        summary=summary,
        facts=facts,
        renditions=renditions,
        warnings=[],
        engine="ai",
        urgent=False,
        private_items=[],
    )
    return prep, warnings


def _translation(answer: AIAnswer, locale: str) -> AITranslation | None:
    tr = answer.translations.get(locale) or answer.translations.get(locale.lower())
    if tr is None or not tr.text.strip():
        return None
    return tr


def _unique(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for f in findings:
        if f not in out:
            out.append(f)
    return out


async def prepare_notice(
    text: str,
    locales: Sequence[str],
    *,
    settings: AISettings,
    http_client: httpx2.AsyncClient | httpx.AsyncClient | None = None,
    budget: Budget | None = None,
    now: datetime | None = None,
) -> Preparation:
    """Title, summary, key facts and one rendition per locale for a notice.

    `http_client` is handed to the OpenAI client (an `httpx2.AsyncClient`, or an
    `httpx.AsyncClient`); it is not closed here. `budget` bounds the length of the
    offline text (default: the settings' `sent_*` numbers); `now` (default: the current
    time) tells which dates have passed.
    """
    started = time.monotonic()
    now = now or datetime.now(UTC)
    if budget is None:
        budget = Budget(settings.sent_max_chars, settings.sent_min_chars, settings.sent_ratio)
    text = normalize(text).strip()
    check_length(text, settings)
    wanted = _locales(locales)
    found, mismatches, urgent, language = await _off_loop(functools.partial(_read, text), settings)
    private = [raw for _, raw in found]
    warnings = [
        Warning(code="private_id_number" if kind == "id" else "private_phone", detail=raw)
        for kind, raw in found
    ]
    warnings += [Warning(code="weekday_mismatch", detail=detail) for detail in mismatches]

    prep: Preparation | None = None
    engine_warnings: list[Warning] = []
    if not settings.enabled:
        engine_warnings.append(Warning(code="ai_disabled", detail="disabled in settings"))
    elif settings.base_url is None:
        engine_warnings.append(Warning(code="ai_disabled", detail="no endpoint configured"))
    elif text:
        from broadcasts.ai import remote

        redacted = await _off_loop(functools.partial(redact, text), settings)
        foreign = [loc for loc in wanted if loc != "vi"]
        try:
            allowed = settings.timeout_seconds * (settings.max_retries + 1) * 3 + 10
            answer = await asyncio.wait_for(
                remote.ask(
                    redacted.text,
                    foreign,
                    settings=settings,
                    http_client=http_client,
                    expansion=redacted.expansion,
                ),
                timeout=allowed,
            )
            restored, invented = _restore_all(answer, redacted.mapping)
            prep, engine_warnings = await _off_loop(
                functools.partial(
                    _remote_preparation, text, restored, invented, wanted, settings, private
                ),
                settings,
            )
        except remote.RemoteFailure as exc:
            log.warning("AI endpoint failed (%s); using the offline summary", exc.reason)
            engine_warnings = [Warning(code="ai_failed_fallback", detail=exc.reason)]
        except NoticeTooComplex:
            engine_warnings = [Warning(code="ai_failed_fallback", detail="too_slow")]
        except TimeoutError:
            log.warning("AI endpoint took too long; using the offline summary")
            engine_warnings = [Warning(code="ai_failed_fallback", detail="timeout")]
        except Exception as exc:  # the bot must never lose a draft to the AI step
            log.exception("AI step failed unexpectedly; using the offline summary")
            engine_warnings = [
                Warning(code="ai_failed_fallback", detail=f"unexpected_{type(exc).__name__}")
            ]

    for fell_back in engine_warnings:
        if fell_back.code == "ai_failed_fallback":
            AI_FALLBACKS.labels(reason=fallback_reason(fell_back.detail)).inc()
    if prep is None:
        offline_prep, offline_warnings = await _off_loop(
            functools.partial(_offline, text, wanted, settings, private, budget), settings
        )
        prep = offline_prep
        engine_warnings += offline_warnings
    passed = past_dates(prep.renditions["vi"].text, now=now) if text else []
    if passed:
        engine_warnings.append(Warning(code="past_date", detail=", ".join(passed), locale="vi"))
    AI_STEP_SECONDS.labels(engine=prep.engine).observe(time.monotonic() - started)
    return prep.model_copy(
        update={
            "warnings": warnings + engine_warnings,
            "urgent": urgent,
            "private_items": private,
            "language": language,
        }
    )
