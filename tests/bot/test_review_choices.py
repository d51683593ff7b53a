"""The review's urgent mark, and the time prompt's quick buttons, over the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.keyboards import ConfirmCb, ReviewCb, WhenCb
from broadcasts.db import session_scope
from broadcasts.models import Notice
from broadcasts.timeparse import TZ, example_day, quick_times
from tests.bot.world import (
    ME,
    OFFICIAL,
    TOKEN,
    World,
    compose,
    labels,
    on,
    open_world,
    register_official,
    write_notice,
)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        await register_official(w)
        yield w


async def _notice(w: World, notice_id: int) -> Notice:
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = await session.get(Notice, notice_id)
    assert notice is not None
    return notice


async def _message(w: World, message_id: int) -> dict[str, object]:
    return next(m for m in await w.client.messages(TOKEN, ME) if m["message_id"] == message_id)


async def _until(read: Callable[[], Awaitable[Any]], check: Callable[[Any], bool]) -> None:
    for _ in range(200):
        if check(await read()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("never came true")


async def test_the_official_turns_urgent_on_and_off_in_place(world: World) -> None:
    w = world
    n = await write_notice(w, "05-hop-dan.txt")
    assert not (await _notice(w, n)).urgent
    footer, _ = await w.player.button(ME, on(ReviewCb(action="urgent", n=n)))
    assert "🚨 Đánh dấu khẩn" in await labels(w, on(ReviewCb(action="urgent", n=n)))
    sent_before = len(await w.client.messages(TOKEN, ME))

    answer = await w.player.press(ME, on(ReviewCb(action="urgent", n=n)), OFFICIAL)
    assert answer == "🚨 Đã đánh dấu khẩn."
    assert (await _notice(w, n)).urgent
    shown = await w.player.wait_text(ME, "🚨 KHẨN:")
    assert "🚨 KHẨN:" in str((await _message(w, footer))["text"])  # the same message, edited
    assert shown == (await _message(w, footer))["text"]
    assert "Bỏ đánh dấu khẩn" in await labels(w, on(ReviewCb(action="urgent", n=n)))
    assert len(await w.client.messages(TOKEN, ME)) == sent_before  # no new screen

    answer = await w.player.press(ME, on(ReviewCb(action="urgent", n=n)), OFFICIAL)
    assert answer == "Đã bỏ đánh dấu khẩn."
    assert not (await _notice(w, n)).urgent
    await _until(lambda: _message(w, footer), lambda m: "🚨 KHẨN:" not in str(m["text"]))
    assert "🚨 Đánh dấu khẩn" in await labels(w, on(ReviewCb(action="urgent", n=n)))
    # the review goes on from the same screen
    await w.player.press(ME, on(ReviewCb(action="targets", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Chọn nơi nhận")


async def test_the_time_prompt_offers_quick_times_ahead(world: World) -> None:
    w = world
    n = await compose(w, "04-rac-cong-kenh.txt", ["BT-KP2"])
    await w.player.press(ME, on(WhenCb(action="later", n=n)), OFFICIAL)
    prompt = await w.player.wait_text(ME, "Anh/chị gõ giờ và ngày")
    day = example_day()
    assert f"7h30 {day.day}/{day.month}" in prompt  # tomorrow: always ahead
    shown = await labels(w, "wh:at:")
    assert "Sáng mai 7h" in shown and "Tối mai 19h" in shown
    assert len(shown) == len(quick_times())  # only the times still ahead
    if datetime.now(TZ).hour >= 19:
        assert "Tối nay 19h" not in shown

    message_id, _ = await w.player.button(ME, "wh:at:")
    msg = await _message(w, message_id)
    buttons = [b for row in msg["reply_markup"]["inline_keyboard"] for b in row]  # type: ignore[index]
    tomorrow_7 = next(b for b in buttons if b["text"] == "Sáng mai 7h")
    assert WhenCb.unpack(tomorrow_7["callback_data"]).n == n
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    cq = await w.client.press(TOKEN, ME, message_id, OFFICIAL, tomorrow_7["callback_data"])
    assert await w.client.callback_answer(cq, wait=10.0) is not None
    confirm = await w.player.wait_text(ME, "Hẹn gửi đến")
    assert "7:00" in confirm or "7 giờ" in confirm
    await w.player.press(ME, on(ConfirmCb(action="send", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Sẽ gửi lúc")
    expected = datetime.combine(day, datetime.min.time().replace(hour=7), tzinfo=TZ)
    scheduled = (await _notice(w, n)).scheduled_at
    assert scheduled is not None
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=UTC)
    assert scheduled == expected


def test_quick_times_are_only_those_ahead() -> None:
    evening = datetime(2026, 12, 1, 20, 30, tzinfo=TZ)
    keys = [key for key, _ in quick_times(now=evening)]
    assert keys == ["tomorrow_morning", "tomorrow_evening"]
    dawn = datetime(2026, 12, 1, 5, 0, tzinfo=TZ)
    found = dict(quick_times(now=dawn))
    assert list(found) == ["this_morning", "tonight", "tomorrow_morning", "tomorrow_evening"]
    assert found["tonight"] == datetime(2026, 12, 1, 19, 0, tzinfo=TZ)
    almost = datetime(2026, 12, 1, 18, 55, tzinfo=TZ)  # 19h in 5 minutes: too close
    assert "tonight" not in dict(quick_times(now=almost))
    assert all(at > almost for _, at in quick_times(now=almost))
    assert example_day(now=datetime(2026, 12, 31, 23, 0, tzinfo=TZ)).isoformat() == "2027-01-01"
    assert example_day(now=datetime(2026, 12, 1, 18, 0, tzinfo=UTC)).isoformat() == "2026-12-03"
    assert timedelta(0) < quick_times()[0][1] - datetime.now(UTC)
