"""Typed values of the AI step: its settings, and what it hands back to the caller.

`AISettings` is nested by the project's settings as `ai` (keys `LOA_AI__…`); the rest are
the results of `prepare_notice`: a `Preparation` holding one `RenditionDraft` per locale,
the `Warning`s the official must be told and the fact guard's `Finding`s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

Engine = Literal["ai", "offline"]

FACT_KEYS: tuple[str, ...] = ("when", "where", "who", "action", "contact")


class AISettings(BaseModel):
    """How the AI step runs. Without `base_url` (or with `enabled=False`) it stays offline."""

    enabled: bool = True
    base_url: str | None = None
    api_key: SecretStr = SecretStr("not-needed")
    model: str = "gpt-4o-mini"
    timeout_seconds: float = 20.0
    max_retries: int = 2
    summary_max_chars: int = 500
    timezone: str = "Asia/Ho_Chi_Minh"

    @field_validator("base_url", mode="before")
    @classmethod
    def _blank_url_is_none(cls, value: object) -> object:
        # `.env.example` lists every key, so an unset endpoint arrives as an empty string.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_placeholder(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "not-needed"
        return value

    @field_validator("summary_max_chars")
    @classmethod
    def _sane_limit(cls, value: int) -> int:
        if value < 80:
            raise ValueError("summary_max_chars must be at least 80")
        return value

    @field_validator("max_retries")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("max_retries must not be negative")
        return value

    @property
    def remote(self) -> bool:
        """True when an external endpoint may be called."""
        return self.enabled and self.base_url is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AISettings:
        """Read `LOA_AI__*` variables (case-insensitive), as the project's settings would."""
        env = os.environ if environ is None else environ
        prefix = "LOA_AI__"
        values: dict[str, object] = {}
        for key, value in env.items():
            if key.upper().startswith(prefix):
                name = key[len(prefix) :].lower()
                if name in cls.model_fields:
                    values[name] = value
        return cls.model_validate(values)


class Finding(BaseModel):
    """A value in a summary or rendition that cannot be traced back to the source."""

    model_config = ConfigDict(frozen=True)

    code: str
    value: str
    locale: str


class Warning(BaseModel):  # shadows the builtin on purpose: the name the bot uses
    """Something the official must be told before the notice goes out."""

    model_config = ConfigDict(frozen=True)

    code: str
    detail: str
    locale: str | None = None


class RenditionDraft(BaseModel):
    """The text one locale's channels would receive, with what the fact guard found in it."""

    locale: str
    title: str
    text: str
    source: Engine
    language: str = "vi"  # what the text is written in: an English notice stays English offline
    findings: list[Finding] = []

    @property
    def flagged(self) -> bool:
        """Findings mean the official must edit or confirm before it can go out."""
        return bool(self.findings)


class Preparation(BaseModel):
    """Everything the AI step produced for one notice."""

    title: str
    summary: str
    facts: dict[str, str]
    renditions: dict[str, RenditionDraft]
    warnings: list[Warning]
    engine: Engine
    urgent: bool  # detected (see `broadcasts.ai.offline.urgency`); the official may toggle it
    private_items: list[str]
    language: str = "vi"  # what the notice is written in

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every rendition."""
        return [f for r in self.renditions.values() for f in r.findings]
