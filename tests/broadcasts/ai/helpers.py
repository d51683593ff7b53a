"""Sample notices and their facts (broadcasts/samples/notices), shared by the AI tests."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import broadcasts
from broadcasts.ai import AISettings
from broadcasts.timeparse import TZ

SAMPLES_DIR = Path(broadcasts.__file__).parent / "samples" / "notices"
FACTS: dict[str, Any] = json.loads((SAMPLES_DIR / "facts.json").read_text(encoding="utf-8"))
SAMPLE_NAMES = sorted(name for name in FACTS if name.endswith(".txt"))


def sample(name: str) -> str:
    return (SAMPLES_DIR / name).read_text(encoding="utf-8")


def recall(name: str, text: str) -> float:
    """Share of the notice's `keep` patterns found in `text`."""
    keep = FACTS[name]["keep"]
    return sum(bool(re.search(p, text, re.IGNORECASE)) for p in keep) / len(keep)


def missing(name: str, text: str) -> list[str]:
    return [p for p in FACTS[name]["keep"] if not re.search(p, text, re.IGNORECASE)]


def remote_settings(base_url: str, **overrides: object) -> AISettings:
    """Settings pointing at a stub endpoint, with short timeouts for tests."""
    values: dict[str, object] = {
        "base_url": base_url,
        "api_key": "test-key",
        "model": "stub-model",
        "timeout_seconds": 2.0,
        "max_retries": 0,
    }
    values.update(overrides)
    return AISettings.model_validate(values)


# Before the dates of every sample notice, so that none has passed.
NOW = datetime(2026, 11, 14, 8, 0, tzinfo=TZ)
