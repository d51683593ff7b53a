"""Schemathesis against the real API in uvicorn: every check, positive and negative data,
and stateful sequences (create, then read/patch/act on what was created), on SQLite and
PostgreSQL, with an admin key, over a seeded tree, channels and notices.

Bounded by examples per operation (`LOA_FUZZ_EXAMPLES`, small by default so `make test`
stays quick; `make fuzz` runs more). Any failure of any check fails the test, with
schemathesis' report; `tests/api/schemathesis.toml` says which answers count as right.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.models import DeliveryStatus
from sandbox.telegram.server import SandboxServer
from sandbox.zalo import ZaloSandbox
from tests.api.conftest import ADMIN_KEY
from tests.api.factories import add_ack, add_bot, add_channels, add_notice, seed_tree
from tests.api.live_server import live_api

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("LOA_FUZZ_EXAMPLES", "10"))
SEED = os.environ.get("LOA_FUZZ_SEED", "20261201")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")


def schemathesis_command(
    base_url: str, report_dir: Path, *, examples: int, key: str = ADMIN_KEY
) -> list[str]:
    return [
        str(SCHEMATHESIS),
        f"--config-file={CONFIG}",
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
        "--report=junit",
        f"--report-dir={report_dir}",
        "--header",
        f"Authorization: Bearer {key}",
    ]


def summary(output: str) -> str:
    """The failure counts of a run and its test-case line, as schemathesis prints them."""
    failures = re.search(r"^Failures:\n(.*?)\n\n", output, flags=re.MULTILINE | re.DOTALL)
    cases = re.search(r"^\s*\d+ generated.*$", output, flags=re.MULTILINE)
    return "\n".join(
        [failures.group(1) if failures else "no failures", cases.group(0) if cases else ""]
    )


async def seed(session: AsyncSession) -> None:
    """Rows for the fuzzer to find by id: a tree, channels, notices, an acknowledgement."""
    areas = await seed_tree(session)
    bot = await add_bot(session)
    channels = await add_channels(session, bot, [areas["BT-KP1"], areas["BT-KP1-T1"]])
    _, deliveries = await add_notice(
        session, areas["BT"], channels, [DeliveryStatus.sent, DeliveryStatus.failed]
    )
    await add_ack(session, deliveries[0], "phone:0909123456")
    await add_notice(session, areas["TD"], [], [])
    await session.commit()


async def test_schemathesis_finds_no_failure(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    await seed(session)
    # The Bot API server POST /bots asks (getMe) is the strict sandbox, on this loop: the
    # run below is awaited, not waited for, so the sandbox answers meanwhile.
    async with SandboxServer() as sandbox, ZaloSandbox() as zalo:
        with live_api(
            database_url,
            admin_key=ADMIN_KEY,
            telegram_api_base=sandbox.url,
            zalo_api_base=zalo.url,
        ) as url:
            output, returncode = await _fuzz(url, tmp_path)
    (tmp_path / "schemathesis.txt").write_text(output)
    print(summary(output))
    assert returncode == 0, output
    counts = re.search(r"^\s*(\d+) generated, (\d+) passed", output, flags=re.MULTILINE)
    assert counts is not None and counts.group(1) == counts.group(2), output
    assert "Authentication failed" not in output, output  # the key worked to the end


async def _fuzz(base_url: str, tmp_path: Path) -> tuple[str, int]:
    """Make the keys the run uses, then run schemathesis; its output and exit code."""
    # The bootstrap key (1) makes the city admin key the run uses (2), and retires as it
    # does; key 3 is the one the run may revoke (schemathesis.toml), so 2 keeps working.
    async with httpx.AsyncClient(base_url=base_url) as client:
        made = await client.post(
            "/api-keys",
            json={"name": "fuzz"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert made.status_code == 201 and made.json()["id"] == 2, made.text
        key = made.json()["key"]
        spare = await client.post(
            "/api-keys", json={"name": "to revoke"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert spare.status_code == 201 and spare.json()["id"] == 3, spare.text
    command = schemathesis_command(base_url, tmp_path, examples=EXAMPLES, key=key)
    proc = await asyncio.create_subprocess_exec(  # in tmp_path: schemathesis caches there
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    out, _ = await proc.communicate()
    return out.decode(), proc.returncode or 0
