"""/baocao over the sandbox when the dashboard has no public address: a plain answer, no
link; and a stranger is told that only officials may see notices (the link itself is
followed in tests/api/test_dashboard_browser.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.world import ME, TOKEN, World, open_world, register_official


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        yield w


async def test_baocao_without_a_public_address_says_so(world: World) -> None:
    await world.player.say_private("/baocao")
    await world.player.wait_text(ME, "Chỉ cán bộ phường đã đăng ký")
    await register_official(world)
    await world.player.say_private("/baocao")
    text = await world.player.wait_text(ME, "Trang theo dõi chưa được cài đặt")
    assert "http" not in text
    messages = await world.client.messages(TOKEN, ME)
    assert not any(e.get("type") == "text_link" for m in messages for e in m.get("entities", []))
