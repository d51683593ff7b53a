"""Zalo fixtures: a strict Zalo sandbox per test, its control client, a bot in it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from sandbox.zalo import ZaloControl, ZaloSandbox

_ids = itertools.count(4_100_000_001)
LAN = {"id": "a1b2c3d4e5f6a7b8c9d0", "display_name": "Nguyễn Thị Lan"}
CHIN = {"id": "0f1e2d3c4b5a69788796", "display_name": "Ông Chín"}


def new_zalo_token() -> str:
    return f"{next(_ids)}:zaloTEST_{next(_ids)}"


@pytest.fixture
async def zalo() -> AsyncIterator[ZaloSandbox]:
    async with ZaloSandbox() as server:
        yield server


@pytest.fixture
async def zc(zalo: ZaloSandbox) -> AsyncIterator[ZaloControl]:
    async with ZaloControl(zalo.url) as control:
        yield control
