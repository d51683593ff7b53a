"""Fixtures of the AI step tests: a local OpenAI-compatible stub endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.openai_stub import OpenAIStub


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    async with OpenAIStub("ok", slow_seconds=3.0) as server:
        yield server
