"""The settings tree and `.env.example` list the same keys, and every process reads `.env`.

Keys are derived from the model (`LOA_` + field names, nested groups joined by `__`), so a
setting added to one side and forgotten on the other fails here. The example's values are
the defaults, so reading it changes nothing: what it documents is what a process gets.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from bot.i18n import OfficialLocaleMiddleware, make_i18n
from broadcasts.ai import AISettings
from broadcasts.settings import DEFAULT_TIMEZONE, Settings
from broadcasts.timeparse import parse_local_time

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"
SAMPLE_NOTICE = ROOT / "broadcasts" / "samples" / "notices" / "01-cat-dien.txt"
_KEY_LINE = re.compile(r"^(LOA_[A-Z0-9_]+)=")


def model_keys(model: type[BaseModel], prefix: str = "LOA_") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys |= model_keys(kind, f"{prefix}{name.upper()}__")
        else:
            keys.add(f"{prefix}{name.upper()}")
    return keys


def example_lines() -> list[str]:
    return EXAMPLE.read_text(encoding="utf-8").splitlines()


def example_keys() -> list[str]:
    return [m[1] for line in example_lines() if (m := _KEY_LINE.match(line))]


def _clean_env() -> dict[str, str]:
    # The test's own environment must not decide what the child reads.
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("LOA_")}


def test_model_keys_walk_the_nested_groups() -> None:
    keys = model_keys(Settings)
    assert {"LOA_DATABASE_URL", "LOA_TELEGRAM__TOKEN", "LOA_AI__BASE_URL"} <= keys
    assert "LOA_AI" not in keys and "LOA_TELEGRAM" not in keys


def test_every_setting_is_in_the_example() -> None:
    missing = model_keys(Settings) - set(example_keys())
    assert missing == set(), f"settings not listed in .env.example: {sorted(missing)}"


def test_every_example_key_is_a_setting() -> None:
    unknown = set(example_keys()) - model_keys(Settings)
    assert unknown == set(), f".env.example keys that nothing reads: {sorted(unknown)}"


def test_each_example_key_appears_once_under_a_comment() -> None:
    keys = example_keys()
    assert len(keys) == len(set(keys)), "a key is listed twice"
    uncommented = []
    above = ""
    for line in example_lines():
        if _KEY_LINE.match(line):
            if not above.startswith("#"):
                uncommented.append(line.split("=", 1)[0])
            continue  # keys in a run share the comment above the run
        above = line
    assert uncommented == []


def test_the_example_values_are_the_defaults() -> None:
    from_example = Settings(_env_file=EXAMPLE)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_example.model_dump() == defaults.model_dump()


def test_a_dotenv_file_fills_nested_groups_and_blank_values(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "LOA_AI__BASE_URL=\n"
        "LOA_AI__API_KEY=\n"
        "LOA_AI__ENABLED=false\n"
        "LOA_AI__TIMEOUT_SECONDS=3.5\n"
        "LOA_AI__SUMMARY_MAX_CHARS=300\n"
        "LOA_AI__MODEL=qwen2.5\n"
        "LOA_TELEGRAM__TOKEN=\n"
        "LOA_REDIS_URL=\n"
        "LOA_TIMEZONE=UTC\n"
        "LOA_DEFAULT_LOCALE=en\n",
        encoding="utf-8",
    )
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    ai = settings.ai
    assert isinstance(ai, AISettings)
    assert ai.base_url is None and not ai.enabled and not ai.remote
    assert ai.api_key.get_secret_value() == "not-needed"
    assert ai.timeout_seconds == 3.5 and ai.summary_max_chars == 300 and ai.model == "qwen2.5"
    assert settings.telegram.token is None and settings.redis_url is None
    assert settings.timezone == "UTC" and settings.default_locale == "en"


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("timezone", "Asia/Saigon_City", "unknown time zone"),
        ("default_locale", "fr", "no catalog for locale"),
    ],
)
def test_a_bad_value_is_refused_with_a_clear_error(key: str, value: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings.model_validate({key: value})


def test_the_time_zone_decides_how_a_typed_time_is_read() -> None:
    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert parse_local_time("07:30 28/11", now=now, timezone="UTC") == datetime(
        2026, 11, 28, 7, 30, tzinfo=UTC
    )
    # The default is the ward's zone, seven hours ahead of UTC.
    assert DEFAULT_TIMEZONE == "Asia/Ho_Chi_Minh"
    assert parse_local_time("07:30 28/11", now=now) == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)


async def test_the_default_locale_speaks_to_people_the_bot_does_not_know() -> None:
    middleware = OfficialLocaleMiddleware(make_i18n(default_locale="en"))
    assert await middleware.get_locale(event=None, data={}) == "en"  # type: ignore[arg-type]
    middleware = OfficialLocaleMiddleware(make_i18n())
    assert await middleware.get_locale(event=None, data={}) == "vi"  # type: ignore[arg-type]


def _loa_prepare(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loa.cli", "prepare", str(SAMPLE_NOTICE)],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def _prepare_in(cwd: Path) -> str:
    done = _loa_prepare(cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_loa_prepare_reads_the_dotenv_in_the_working_directory(tmp_path: Path) -> None:
    without = tmp_path / "without"
    with_env = tmp_path / "with"
    without.mkdir()
    with_env.mkdir()
    (with_env / ".env").write_text(
        "LOA_AI__ENABLED=false\nLOA_AI__SUMMARY_MAX_CHARS=123\n", encoding="utf-8"
    )
    assert "/500 characters" in _prepare_in(without)
    assert "/123 characters" in _prepare_in(with_env)


def test_a_bad_dotenv_stops_loa_with_the_key_named_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "LOA_TIMEZONE=Mars/Olympus\nLOA_AI__MAX_RETRIES=-1\n", encoding="utf-8"
    )
    done = _loa_prepare(tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "loa: invalid settings",
        "  LOA_TIMEZONE: Value error, unknown time zone 'Mars/Olympus' (e.g. Asia/Ho_Chi_Minh)",
        "  LOA_AI__MAX_RETRIES: Value error, max_retries must not be negative",
    ]


def test_the_summary_budget_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from broadcasts.ai.budget import DEFAULT_BUDGET

    ai = AISettings()
    assert (ai.sent_max_chars, ai.sent_min_chars, ai.sent_ratio) == (
        DEFAULT_BUDGET.max_chars,
        DEFAULT_BUDGET.min_chars,
        DEFAULT_BUDGET.ratio,
    )
    monkeypatch.setenv("LOA_AI__SENT_MAX_CHARS", "400")
    monkeypatch.setenv("LOA_AI__SENT_MIN_CHARS", "200")
    monkeypatch.setenv("LOA_AI__SENT_RATIO", "0.5")
    ai = Settings(_env_file=None).ai  # type: ignore[call-arg]
    assert (ai.sent_max_chars, ai.sent_min_chars, ai.sent_ratio) == (400, 200, 0.5)
    for bad in ({"sent_min_chars": 700}, {"sent_ratio": 1.5}, {"sent_max_chars": 0}):
        with pytest.raises(ValidationError):
            AISettings(**bad)  # type: ignore[arg-type]


async def test_the_offline_summary_keeps_the_configured_budget() -> None:
    from broadcasts.ai.prepare import prepare_notice

    text = SAMPLE_NOTICE.read_text(encoding="utf-8")
    wide = await prepare_notice(text, ["vi"], settings=AISettings())
    narrow = await prepare_notice(
        text, ["vi"], settings=AISettings(sent_max_chars=250, sent_min_chars=200)
    )
    assert len(narrow.renditions["vi"].text) <= 250 < len(wide.renditions["vi"].text)
