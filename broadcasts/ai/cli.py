"""`loa prepare FILE [--locales vi,en] [--json]`: what the AI step would send for a notice.

Settings are the `ai` group of the project's one settings tree (`LOA_AI__*` from the
environment or `.env` in the working directory) unless the caller passes them.
Without `--json` it prints a readable report; with `--json` one object with the title,
summary, facts, engine, renditions (locale -> text that would be sent), warnings and
findings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from broadcasts.ai.models import AISettings, Preparation
from broadcasts.ai.prepare import prepare_notice
from broadcasts.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loa prepare",
        description="Show what the AI step would send for a notice in a text file.",
    )
    parser.add_argument("file", help="a UTF-8 text file with the notice ('-' for stdin)")
    parser.add_argument(
        "--locales",
        default="vi",
        help="comma-separated locales of the target channels (default: vi)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def as_json(prep: Preparation) -> dict[str, object]:
    return {
        "title": prep.title,
        "summary": prep.summary,
        "facts": prep.facts,
        "engine": prep.engine,
        "urgent": prep.urgent,
        "private_items": prep.private_items,
        "renditions": {loc: r.text for loc, r in prep.renditions.items()},
        "sources": {loc: r.source for loc, r in prep.renditions.items()},
        "flagged": {loc: r.flagged for loc, r in prep.renditions.items()},
        "warnings": [w.model_dump() for w in prep.warnings],
        "findings": [f.model_dump() for f in prep.findings],
    }


def report(prep: Preparation, settings: AISettings, out: TextIO) -> None:
    def line(text: str = "") -> None:
        print(text, file=out)

    line(f"Engine:  {prep.engine}")
    line(f"Title:   {prep.title}")
    line(f"Urgent:  {'yes' if prep.urgent else 'no'}")
    line()
    line(f"Summary ({len(prep.summary)}/{settings.summary_max_chars} characters):")
    line(prep.summary)
    line()
    line("Key facts:")
    for key, value in prep.facts.items():
        line(f"  {key}: {value}")
    for loc, r in prep.renditions.items():
        line()
        flag = "  [FLAGGED]" if r.flagged else ""
        line(f"=== {loc} ({r.source}, {len(r.text)} characters){flag} ===")
        line(r.text)
    line()
    line("Warnings:" if prep.warnings else "Warnings: none")
    for w in prep.warnings:
        where = f" [{w.locale}]" if w.locale else ""
        line(f"  - {w.code}{where}: {w.detail}")
    findings = prep.findings
    line("Findings:" if findings else "Findings: none")
    for f in findings:
        line(f"  - {f.code} [{f.locale}]: {f.value}")


def main(argv: Sequence[str] | None = None, *, settings: AISettings | None = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"loa prepare: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    if not text.strip():
        print(f"loa prepare: {args.file} is empty", file=sys.stderr)
        return 2
    settings = settings if settings is not None else Settings().ai
    locales = [loc.strip() for loc in args.locales.split(",") if loc.strip()]
    prep = asyncio.run(prepare_notice(text, locales, settings=settings))
    if args.json:
        print(json.dumps(as_json(prep), ensure_ascii=False))
    else:
        report(prep, settings, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
