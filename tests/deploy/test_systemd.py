"""The systemd units in deploy/systemd pass `systemd-analyze verify` without a single
warning, started the way the README says (the worker template as instances)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[2] / "deploy" / "systemd"
LOA = Path(sys.executable).with_name("loa")  # this checkout's `loa`, for ExecStart


@pytest.fixture
def analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed here (the systemd package)")
    return found


def _installed(tmp_path: Path) -> list[Path]:
    """The units as they would be installed, their programs pointed at ones that exist."""
    programs = {
        "/opt/loa/.venv/bin/loa": str(LOA),
        "/opt/loa/deploy/backup/loa-backup.sh": str(UNITS.parent / "backup" / "loa-backup.sh"),
        "/usr/local/bin/telegram-bot-api": "/bin/true",  # built from source; not here
    }
    installed = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text()
        for path, here in programs.items():
            text = text.replace(path, here)
        names = (
            [unit.name]
            if "@." not in unit.name
            else [unit.name.replace("@.", "@1."), unit.name.replace("@.", "@2.")]
        )
        for name in names:
            (tmp_path / name).write_text(text)
            installed.append(tmp_path / name)
    return installed


def test_every_unit_verifies_cleanly(analyze: str, tmp_path: Path) -> None:
    units = _installed(tmp_path)
    assert {u.name for u in units} >= {
        "loa-bot.service",
        "loa-api.service",
        "loa-worker@1.service",
        "loa-worker@2.service",
        "loa-migrate.service",
        "loa.target",
        "telegram-bot-api.service",
        "loa-backup.service",
        "loa-backup.timer",
    }
    done = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    # Unknown keys and bad values are only warnings to systemd: none is allowed here.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_verify_catches_a_broken_unit(analyze: str, tmp_path: Path) -> None:
    """The check above could fail: a typo and a missing program are both reported."""
    broken = tmp_path / "loa-api.service"
    text = (UNITS / "loa-api.service").read_text().replace("/opt/loa/.venv/bin/loa", str(LOA))
    broken.write_text(text.replace("Restart=on-failure", "Restart=on-failur\nExecStartt=/x"))
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(broken)], capture_output=True, text=True, check=False
    )
    said = done.stdout + done.stderr
    assert "ExecStartt" in said and "on-failur" in said


def test_the_units_start_what_loa_has() -> None:
    """Every `loa <command>` a unit runs is one of `loa --help`'s."""
    helped = subprocess.run([str(LOA), "--help"], capture_output=True, text=True, check=True)
    listed = re.search(r"\{([a-z,-]+)\}", helped.stdout)
    assert listed is not None, helped.stdout
    commands = set(listed.group(1).split(","))
    for unit in UNITS.glob("loa*.service"):
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart=/opt/loa/.venv/bin/loa "):
                command = line.split()[1]
                assert command in commands, (unit.name, command)
