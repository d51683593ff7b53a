"""Evaluation of the AI step over the sample notices (`make eval-ai`).

Runs both engines — offline, and remote played by the local stub endpoint in "ok" mode —
over `broadcasts/samples/notices/*.txt` and prints, per notice and in total:

- recall: share of facts.json `keep` patterns in the Vietnamese text that would be sent
  ("kept" counts them);
- sent/orig and sent/budget: the length of that text against the original's and against
  the budget `min(600, max(350, 0.75 × original))` (`broadcasts.ai.budget`);
- doubled: dates, times, phone numbers and addresses the text states more than once;
- letter: facts.json `drop` patterns (motto, «Số:», signature …) that leaked into it;
- lang / urgent: whether the language and the urgency were read right;
- private items sent to the endpoint (must be 0) and warned about; time taken.

Then the redaction corpus (`tests/broadcasts/ai/redaction_corpus.py`): how many of its
personal items `redact` caught or missed, and how many public items it over-redacted.

Ends with one JSON line of totals. Exit status 1 if anything private was sent, the corpus
had a miss, or the offline engine went over a budget, doubled a fact, leaked letter
boilerplate or kept less than 0.95 of the facts.

    python -m tests.benchmarks.eval_ai [--limit 500] [--locales vi,en] [--now ISO]
    python -m tests.benchmarks.eval_ai --corpus-only [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import broadcasts
from broadcasts.ai import AISettings, find_private, prepare_notice
from broadcasts.ai.budget import DEFAULT_BUDGET
from broadcasts.ai.factguard import repeated_facts
from broadcasts.ai.redact import find_names, find_phones, normalize, redact
from broadcasts.timeparse import TZ
from tests.broadcasts.ai.redaction_corpus import CORPUS
from tests.broadcasts.ai.test_redaction_corpus import leaked, lost
from tests.support.openai_stub import OpenAIStub

# Before every sample's dates, so that none is reported as past.
DEFAULT_NOW = datetime(2026, 11, 14, 8, 0, tzinfo=TZ)

SAMPLES = Path(broadcasts.__file__).parent / "samples" / "notices"


@dataclass
class Row:
    notice: str
    engine: str
    kept: int
    total: int
    kept_sent: int
    private_sent: int
    private_warned: int
    private_total: int
    length: int
    limit: int
    seconds: float
    used: str  # engine that actually produced the text
    original: int
    sent: int  # length of the Vietnamese text that would be sent
    budget: int
    doubled: list[str]
    leaked: list[str]
    language_ok: bool
    urgent_ok: bool


def _kept(patterns: Sequence[str], text: str) -> int:
    return sum(bool(re.search(p, text, re.IGNORECASE)) for p in patterns)


def _sent(stub: OpenAIStub, text: str, patterns: Sequence[str]) -> int:
    """Distinct private items found in any recorded request body (raw or decoded)."""
    bodies = stub.bodies()
    digits_bodies = [re.sub(r"\D", "", b) for b in bodies]
    hits: set[str] = set()
    for pattern in patterns:
        if any(re.search(pattern, b, re.IGNORECASE) for b in bodies):
            hits.add(pattern)
    items = set(find_private(text))
    items |= {p.raw for p in find_phones(normalize(text)) if p.kind == "mobile"}
    items |= {name for _, _, name in find_names(normalize(text))}
    for item in items:
        digits = re.sub(r"\D", "", item)
        if any(item in b for b in bodies) or (
            len(digits) >= 6 and any(digits in d for d in digits_bodies)
        ):
            hits.add(item)
    return len(hits)


async def _one(
    name: str,
    facts: dict[str, Any],
    engine: str,
    settings: AISettings,
    locales: list[str],
    stub: OpenAIStub | None,
    now: datetime,
) -> Row:
    text = (SAMPLES / name).read_text(encoding="utf-8")
    if stub is not None:
        stub.reset()
    started = time.perf_counter()
    prep = await prepare_notice(text, locales, settings=settings, now=now)
    seconds = time.perf_counter() - started
    sent = prep.renditions["vi"].text
    keep = facts["keep"]
    private = facts["private"]
    warned = [w for w in prep.warnings if w.code in ("private_phone", "private_id_number")]
    return Row(
        notice=name,
        engine=engine,
        kept=_kept(keep, prep.summary),
        total=len(keep),
        kept_sent=_kept(keep, sent),
        private_sent=_sent(stub, text, private) if stub is not None else 0,
        private_warned=len(warned),
        private_total=len(private),
        length=len(prep.summary),
        limit=settings.summary_max_chars,
        seconds=seconds,
        used=prep.engine,
        original=len(text.strip()),
        sent=len(sent),
        budget=DEFAULT_BUDGET.for_text(text),
        doubled=repeated_facts(sent, prep.renditions["vi"].language),
        leaked=[p for p in facts.get("drop", []) if re.search(p, sent)],
        language_ok=prep.language == facts.get("language", "vi"),
        urgent_ok=prep.urgent is facts["urgent"],
    )


def _print_table(rows: list[Row]) -> None:
    header = (
        f"{'notice':<33} {'engine':<8} {'recall':>6} {'kept':>5} {'sent/orig':>9} "
        f"{'sent/budget':>11} {'doubled':>7} {'letter':>6} {'lang':>4} {'urg':>3} "
        f"{'priv.sent':>9} {'warned':>6} {'ms':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        engine = (
            r.engine if r.used == ("ai" if r.engine == "remote" else "offline") else f"{r.engine}!"
        )
        print(
            f"{r.notice:<33} {engine:<8} {r.kept_sent / r.total:>6.2f} "
            f"{f'{r.kept_sent}/{r.total}':>5} {f'{r.sent}/{r.original}':>9} "
            f"{f'{r.sent}/{r.budget}':>11} {len(r.doubled):>7} {len(r.leaked):>6} "
            f"{'ok' if r.language_ok else 'NO':>4} {'ok' if r.urgent_ok else 'NO':>3} "
            f"{r.private_sent:>9} {f'{r.private_warned}/{r.private_total}':>6} "
            f"{r.seconds * 1000:>5.0f}"
        )
        for label, values in (("doubled", r.doubled), ("letter", r.leaked)):
            if values:
                print(f"{'':<33} {label}: {', '.join(values)}")


def _totals(rows: list[Row]) -> dict[str, Any]:
    kept = sum(r.kept for r in rows)
    total = sum(r.total for r in rows)
    return {
        "notices": len(rows),
        "fact_recall": round(kept / total, 4) if total else None,
        "fact_recall_rendition": round(sum(r.kept_sent for r in rows) / total, 4)
        if total
        else None,
        "min_notice_recall": round(min(r.kept / r.total for r in rows), 4),
        "private_sent": sum(r.private_sent for r in rows),
        "private_warned": sum(r.private_warned for r in rows),
        "private_expected": sum(r.private_total for r in rows),
        "max_summary_chars": max(r.length for r in rows),
        "mean_summary_chars": round(sum(r.length for r in rows) / len(rows), 1),
        "summary_limit": rows[0].limit,
        "over_limit": sum(r.length > r.limit for r in rows),
        "over_budget": sum(r.sent > r.budget for r in rows),
        "longer_than_original": sum(r.sent > r.original for r in rows),
        "doubled": sum(len(r.doubled) for r in rows),
        "letter_leaked": sum(len(r.leaked) for r in rows),
        "language_wrong": sum(not r.language_ok for r in rows),
        "urgent_wrong": sum(not r.urgent_ok for r in rows),
        "mean_sent_to_original": round(sum(r.sent / r.original for r in rows) / len(rows), 3),
        "fell_back": sum(r.used != ("ai" if r.engine == "remote" else "offline") for r in rows),
        "seconds": round(sum(r.seconds for r in rows), 3),
    }


async def run(limit: int, locales: list[str], now: datetime = DEFAULT_NOW) -> dict[str, Any]:
    facts = json.loads((SAMPLES / "facts.json").read_text(encoding="utf-8"))
    names = sorted(n for n in facts if n.endswith(".txt"))
    results: dict[str, Any] = {}
    offline_settings = AISettings(summary_max_chars=limit)
    rows = [await _one(n, facts[n], "offline", offline_settings, locales, None, now) for n in names]
    async with OpenAIStub("ok") as stub:
        remote_settings = AISettings(
            base_url=stub.base_url,
            api_key="eval",
            model="stub",
            timeout_seconds=5,
            max_retries=0,
            summary_max_chars=limit,
        )
        remote_rows = [
            await _one(n, facts[n], "remote", remote_settings, locales, stub, now) for n in names
        ]
    for engine, engine_rows in (("offline", rows), ("remote_stub", remote_rows)):
        print(f"\n== {engine} (locales {','.join(locales)}, summary limit {limit}) ==")
        _print_table(engine_rows)
        totals = _totals(engine_rows)
        print(
            f"total: recall {totals['fact_recall_rendition']:.3f}, "
            f"over budget {totals['over_budget']}, "
            f"longer than original {totals['longer_than_original']}, "
            f"doubled {totals['doubled']}, letter leaked {totals['letter_leaked']}, "
            f"mean sent/original {totals['mean_sent_to_original']:.2f}, "
            f"private sent {totals['private_sent']}, "
            f"warned {totals['private_warned']}/{totals['private_expected']}, "
            f"{totals['seconds']:.2f} s"
        )
        results[engine] = totals
    return results


def corpus(verbose: bool = False) -> dict[str, Any]:
    """Caught / missed personal items and over-redacted public ones on the corpus."""
    caught = missed = over = kept = 0
    for case in CORPUS:
        red = redact(case.text).text
        miss, gone = leaked(case, red), lost(case, red)
        caught += len(case.hide) - len(miss)
        missed += len(miss)
        over += len(gone)
        kept += len(case.keep) - len(gone)
        if verbose or miss or gone:
            print(f"{case.name:<36} missed {miss or '-'} over-redacted {gone or '-'}")
            if verbose:
                print(f"{'':<36} {red!r}")
    hidden = caught + missed
    totals = {
        "cases": len(CORPUS),
        "caught": caught,
        "missed": missed,
        "over_redacted": over,
        "kept": kept,
        "recall": round(caught / hidden, 4) if hidden else None,
    }
    print(
        f"\n== redaction corpus ({len(CORPUS)} cases) ==\n"
        f"caught {caught}/{hidden}, missed {missed}, over-redacted {over}/{over + kept}"
    )
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.eval_ai")
    parser.add_argument("--limit", type=int, default=500, help="summary_max_chars")
    parser.add_argument("--locales", default="vi,en")
    parser.add_argument("--now", default=DEFAULT_NOW.isoformat(), help="the clock, ISO 8601")
    parser.add_argument("--corpus-only", action="store_true", help="only the redaction corpus")
    parser.add_argument("--verbose", action="store_true", help="print every corpus case")
    args = parser.parse_args(argv)
    if args.corpus_only:
        figures = corpus(args.verbose)
        print(json.dumps({"eval": "redaction", **figures}, ensure_ascii=False))
        return 1 if figures["missed"] else 0
    locales = [loc for loc in args.locales.split(",") if loc]
    results = asyncio.run(run(args.limit, locales, datetime.fromisoformat(args.now)))
    figures = corpus(args.verbose)
    print(json.dumps({"eval": "ai", **results, "redaction": figures}, ensure_ascii=False))
    bad = bool(figures["missed"])
    bad = bad or any(r["private_sent"] or r["over_limit"] for r in results.values())
    off = results["offline"]
    bad = bad or bool(
        off["over_budget"]
        or off["longer_than_original"]
        or off["doubled"]
        or off["letter_leaked"]
        or off["fact_recall_rendition"] < 0.95
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
