"""Notices: targets within the ward, scheduling rules, idempotent dispatch, cancelling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.errors import Conflict, InvalidInput
from broadcasts.models import (
    Area,
    AreaLevel,
    BotAccount,
    Channel,
    Delivery,
    Notice,
    NoticeStatus,
)
from broadcasts.notices import (
    RenditionInput,
    cancel_notice,
    create_notice,
    dispatch_notice,
    notice_progress,
    save_renditions,
    schedule_notice,
    set_targets,
)
from broadcasts.settings import DEFAULT_TIMEZONE
from broadcasts.timeparse import parse_local_time


async def _ward(session: AsyncSession) -> dict[str, Area]:
    rows = [
        ("HCM", "TP.HCM", AreaLevel.city, None),
        ("W1", "Phường 1", AreaLevel.ward, "HCM"),
        ("W1-KP1", "Khu phố 1", AreaLevel.neighbourhood, "W1"),
        ("W1-KP1-T1", "Tổ 1", AreaLevel.group, "W1-KP1"),
        ("W1-KP2", "Khu phố 2", AreaLevel.neighbourhood, "W1"),
        ("W2", "Phường 2", AreaLevel.ward, "HCM"),
        ("W2-KP1", "Khu phố 1", AreaLevel.neighbourhood, "W2"),
    ]
    areas: dict[str, Area] = {}
    for code, name, level, parent in rows:
        p = areas.get(parent) if parent else None
        area = Area(
            code=code,
            name=name,
            level=level,
            parent_id=p.id if p else None,
            path=(p.path if p else "") + code + "/",
        )
        session.add(area)
        await session.flush()
        areas[code] = area
    bot = BotAccount(token="1:x")
    session.add(bot)
    await session.flush()
    for i, code in enumerate(["W1-KP1", "W1-KP1-T1", "W1-KP2", "W2-KP1"]):
        session.add(
            Channel(
                area_id=areas[code].id or 0, bot_id=bot.id or 0, chat_ref=str(-i - 1), title=code
            )
        )
    session.add(
        Channel(
            area_id=areas["W1-KP2"].id or 0,
            bot_id=bot.id or 0,
            chat_ref="-99",
            active=False,
            inactive_reason="bot removed",
        )
    )
    await session.flush()
    return areas


async def _ready_notice(
    session: AsyncSession, areas: dict[str, Area], targets: list[str]
) -> Notice:
    notice = await create_notice(session=session, ward_id=areas["W1"].id or 0, text="Họp dân 19:30")
    await save_renditions(
        session=session,
        notice_id=notice.id or 0,
        renditions=[RenditionInput(locale="vi", text="Họp dân lúc 19:30")],
    )
    await set_targets(
        session=session, notice_id=notice.id or 0, area_ids=[areas[c].id or 0 for c in targets]
    )
    return notice


async def test_targets_must_lie_inside_the_ward(session: AsyncSession) -> None:
    areas = await _ward(session)
    notice = await create_notice(session=session, ward_id=areas["W1"].id or 0, text="x")
    with pytest.raises(InvalidInput, match="outside the ward"):
        await set_targets(
            session=session, notice_id=notice.id or 0, area_ids=[areas["W2-KP1"].id or 0]
        )
    with pytest.raises(InvalidInput):
        await set_targets(session=session, notice_id=notice.id or 0, area_ids=[])


async def test_scheduling_needs_targets_and_checked_renditions(session: AsyncSession) -> None:
    areas = await _ward(session)
    notice = await create_notice(session=session, ward_id=areas["W1"].id or 0, text="x")
    with pytest.raises(InvalidInput, match="pick at least one area"):
        await schedule_notice(session=session, notice_id=notice.id or 0)
    await set_targets(session=session, notice_id=notice.id or 0, area_ids=[areas["W1"].id or 0])
    await save_renditions(
        session=session,
        notice_id=notice.id or 0,
        renditions=[
            RenditionInput(locale="vi", text="x"),
            RenditionInput(locale="en", text="on 15/12", findings=[{"code": "untraceable_date"}]),
        ],
    )
    with pytest.raises(InvalidInput, match="unchecked facts: en"):
        await schedule_notice(session=session, notice_id=notice.id or 0)
    assert (await session.get(Notice, notice.id)).status == NoticeStatus.draft  # type: ignore[union-attr]


async def test_dispatch_targets_active_channels_in_the_subtree_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(sessionmaker) as session:
        areas = await _ward(session)
        notice = await _ready_notice(session, areas, ["W1-KP1", "W1-KP2"])
        await schedule_notice(session=session, notice_id=notice.id or 0)
    # Two schedulers fire at once: exactly one creates deliveries.

    async def fire() -> int | None:
        async with session_scope(sessionmaker) as session:
            return await dispatch_notice(session=session, notice_id=notice.id or 0)

    results = await asyncio.gather(fire(), fire(), fire(), return_exceptions=True)
    created = [r for r in results if isinstance(r, int)]
    assert created == [3], results  # KP1, its group T1, KP2 (the inactive one is skipped)
    async with session_scope(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 3
        progress = await notice_progress(session=session, notice_id=notice.id or 0)
    assert (progress.total, progress.pending, progress.status) == (3, 3, "dispatching")


async def test_notice_with_no_channels_finishes_at_once(session: AsyncSession) -> None:
    areas = await _ward(session)
    notice = await create_notice(session=session, ward_id=areas["W1"].id or 0, text="x")
    await save_renditions(
        session=session,
        notice_id=notice.id or 0,
        renditions=[RenditionInput(locale="vi", text="x")],
    )
    area = Area(
        code="W1-KP9",
        name="Khu phố 9",
        level=AreaLevel.neighbourhood,
        parent_id=areas["W1"].id,
        path="HCM/W1/W1-KP9/",
    )
    session.add(area)
    await session.flush()
    await set_targets(session=session, notice_id=notice.id or 0, area_ids=[area.id or 0])
    await schedule_notice(session=session, notice_id=notice.id or 0)
    assert await dispatch_notice(session=session, notice_id=notice.id or 0) == 0
    assert (await session.get(Notice, notice.id)).status == NoticeStatus.done  # type: ignore[union-attr]


async def test_cancel(session: AsyncSession) -> None:
    areas = await _ward(session)
    notice = await _ready_notice(session, areas, ["W1"])
    later = datetime.now(UTC) + timedelta(hours=2)
    await schedule_notice(session=session, notice_id=notice.id or 0, at=later)
    assert await dispatch_notice(session=session, notice_id=notice.id or 0) is not None
    cancelled = await cancel_notice(session=session, notice_id=notice.id or 0)
    assert cancelled.status == NoticeStatus.cancelled
    statuses = set(await session.scalars(select(Delivery.status)))
    assert statuses == {"cancelled"}
    with pytest.raises(Conflict):
        await cancel_notice(session=session, notice_id=notice.id or 0)


def test_reading_local_times() -> None:
    now = datetime(2026, 11, 21, 8, 0, tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
    assert parse_local_time("07:30 28/11", now=now) == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)
    assert parse_local_time("28/11/2026 7h30", now=now) == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)
    # A bare time that has passed today means tomorrow.
    assert parse_local_time("07:00", now=now) == datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    assert parse_local_time("9:15:30", now=now) == datetime(2026, 11, 21, 2, 15, 30, tzinfo=UTC)
    for bad in ["hôm qua", "25:00", "31/02 07:00", "07:00 01/01/2020"]:
        with pytest.raises(InvalidInput):
            parse_local_time(bad, now=now)
