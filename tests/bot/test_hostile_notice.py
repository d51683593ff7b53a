"""A notice longer than the AI step reads gets a plain Vietnamese answer, and nothing is
stored; the bot goes on serving."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from broadcasts.ai import AISettings
from broadcasts.db import session_scope
from broadcasts.models import Notice
from loa.runtime import Roles
from tests.bot.world import OFFICIAL, World, open_world, register_official

ME = OFFICIAL["id"]


@pytest.fixture
async def capped(database_url: str) -> AsyncIterator[World]:
    ai = AISettings(max_notice_chars=600)
    async with open_world(database_url, roles=Roles(api=False, worker=False), ai=ai) as world:
        await register_official(world)
        yield world


async def test_a_too_long_notice_is_refused_in_vietnamese(capped: World) -> None:
    w = capped
    await w.player.say_private("Thông báo cắt điện. " * 40)  # 800 characters
    answer = await w.player.wait_text(ME, "Thông báo này dài quá")
    assert "tối đa 600 ký tự" in answer and "có 799 ký tự" in answer
    assert "Anh/chị vui lòng rút gọn" in answer and "bạn" not in answer.lower().split()
    async with session_scope(w.runtime.sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Notice)) == 0
    # A notice within the limit still goes on to review.
    await w.player.say_private("Tạm ngừng cấp điện từ 7 giờ 30 đến 16 giờ ngày 28/11/2026.")
    await w.player.wait_text(ME, "Đây là nội dung các nhóm sẽ nhận")
