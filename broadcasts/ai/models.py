"""Typed values of the AI step: its settings, and what it hands back to the caller.

`AISettings` lives in the one settings tree (`broadcasts.settings`, nested as `ai`, keys
`LOA_AI__…`) and is re-exported here; the rest are the results of `prepare_notice`: a
`Preparation` holding one `RenditionDraft` per locale, the `Warning`s the official must be
told and the fact guard's `Finding`s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from broadcasts.settings import AISettings as AISettings

Engine = Literal["ai", "offline"]

FACT_KEYS: tuple[str, ...] = ("when", "where", "who", "action", "contact")


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
