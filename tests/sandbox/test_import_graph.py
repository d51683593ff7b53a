"""The product's runtime never imports the sandbox: only tests, the demo and benchmarks do."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import pkgutil, importlib, sys
import loa.cli, loa.runtime
for package in ("bot", "api", "broadcasts"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if ".migrations" not in info.name:  # Alembic scripts run only under alembic
            importlib.import_module(info.name)
leaked = sorted(m for m in sys.modules if m == "sandbox" or m.startswith("sandbox."))
print(",".join(leaked))
"""


def test_runtime_modules_do_not_import_the_sandbox() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
