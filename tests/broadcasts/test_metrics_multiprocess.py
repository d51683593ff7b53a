"""Several processes on one host, one /metrics: with PROMETHEUS_MULTIPROC_DIR set, the
counters of separate processes (two "workers" here) add up in the one that renders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.metrics import sample

_COUNT = """
from broadcasts.metrics import ACKNOWLEDGEMENTS, DELIVERIES, SEND_SECONDS
for _ in range({n}):
    DELIVERIES.labels(result="sent", transport="telegram", kind="notice").inc()
    SEND_SECONDS.labels(transport="telegram").observe(0.2)
ACKNOWLEDGEMENTS.labels(method="reply").inc()
"""
_RENDER = """
import sys
from broadcasts.metrics import QueueFigures, render
sys.stdout.write(render(QueueFigures(0, 0, 0, 0.0, 0, 0.0)).decode())
"""


def _run(code: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_counters_of_several_processes_add_up(tmp_path: Path) -> None:
    _run(_COUNT.format(n=3), tmp_path)
    _run(_COUNT.format(n=4), tmp_path)
    text = _run(_RENDER, tmp_path)
    sent = {"result": "sent", "transport": "telegram", "kind": "notice"}
    assert sample(text, "loa_deliveries_total", **sent) == 7
    assert sample(text, "loa_send_seconds_count", transport="telegram") == 7
    assert sample(text, "loa_acknowledgements_total", method="reply") == 2
    assert sample(text, "loa_delivery_queue_depth", state="due") == 0  # the DB figures too
