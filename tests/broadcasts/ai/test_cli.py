"""`loa prepare FILE [--locales …] [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broadcasts.ai import AISettings
from broadcasts.ai.cli import main
from tests.broadcasts.ai.helpers import SAMPLES_DIR
from tests.support.openai_stub import OpenAIStub

NOTICE = str(SAMPLES_DIR / "06-tai-san-that-lac.txt")


def test_json_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([NOTICE, "--locales", "vi,en", "--json"], settings=AISettings()) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"title", "summary", "facts", "engine", "renditions", "warnings", "findings"} <= set(out)
    assert out["engine"] == "offline"
    assert set(out["renditions"]) == {"vi", "en"}
    assert out["renditions"]["en"] == out["renditions"]["vi"]
    assert out["renditions"]["vi"].startswith(out["title"])
    codes = [w["code"] for w in out["warnings"]]
    assert codes[:2] == ["private_phone", "private_id_number"]
    assert "no_translation_offline" in codes
    assert out["findings"] == []
    assert out["facts"]["contact"] == "Điện thoại trực ban: 028 3829 7755"
    assert "số 14 Pasteur" in out["renditions"]["vi"]


def test_readable_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([NOTICE], settings=AISettings()) == 0
    out = capsys.readouterr().out
    assert "Title:   Nhận lại tài sản thất lạc" in out
    assert "Summary (" in out and "/500 characters)" in out
    assert "=== vi (offline" in out
    assert "private_phone: 0903 456 789" in out
    assert "Findings: none" in out


def test_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("LOA_AI__ENABLED", "LOA_AI__SUMMARY_MAX_CHARS", "LOA_AI__MAX_RETRIES"):
        monkeypatch.delenv(key, raising=False)
    with OpenAIStub.threaded("invent") as stub:
        monkeypatch.setenv("LOA_AI__BASE_URL", stub.base_url)
        monkeypatch.setenv("LOA_AI__API_KEY", "env-key")
        monkeypatch.setenv("LOA_AI__MODEL", "env-model")
        monkeypatch.setenv("LOA_AI__TIMEOUT_SECONDS", "2")
        assert main([NOTICE, "--locales", "vi,zh", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["engine"] == "ai"
        assert out["renditions"]["zh"].startswith("[zh] ")
        assert {"code": "untraceable_date", "value": "15/12/2026", "locale": "zh"} in out[
            "findings"
        ]
        assert out["flagged"] == {"vi": True, "zh": True}
        (request,) = stub.requests
        assert request.json["model"] == "env-model"
        assert request.headers["Authorization"] == "Bearer env-key"

        monkeypatch.setenv("LOA_AI__ENABLED", "false")
        assert main([NOTICE, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["engine"] == "offline"
        assert len(stub.requests) == 1


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.txt")], settings=AISettings()) == 2
    assert "cannot read" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    assert main([str(empty)], settings=AISettings()) == 2
