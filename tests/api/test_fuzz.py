"""Schemathesis against the real API: every check, positive and negative data, and stateful
sequences (create, then read/patch/act on what was created), on SQLite and PostgreSQL.

Bounded by a number of examples per operation (`LOA_FUZZ_EXAMPLES`, default small so the
suite stays quick; `make fuzz` runs more). Any failure of any check fails the test, and its
report is printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import ADMIN_KEY
from tests.api.live_server import live_api

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("LOA_FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("LOA_FUZZ_SEED", "20261201")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def run_schemathesis(base_url: str, report_dir: Path, *, examples: int) -> tuple[int, str]:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/openapi.json",
        "--checks=all",
        "--mode=all",
        "--phases=examples,coverage,fuzzing,stateful",
        f"--max-examples={examples}",
        f"--seed={SEED}",
        "--workers=1",
        "--generation-database=none",
        "--no-color",
        "--output-truncate=true",
        "--report=junit",
        f"--report-dir={report_dir}",
        "--header",
        f"Authorization: Bearer {ADMIN_KEY}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def test_schemathesis_finds_nothing(database_url: str, tmp_path: Path) -> None:
    with live_api(database_url, admin_key=ADMIN_KEY) as base_url:
        code, output = run_schemathesis(base_url, tmp_path, examples=EXAMPLES)
    assert code == 0, output
    assert "No issues found" in output or "passed" in output, output
    assert json.dumps(output)  # the report is text; keep it for -ra on failure
