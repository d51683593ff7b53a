"""Reports add up, group by the channel's area, and cost the same few queries at any size."""

from __future__ import annotations

import csv
import functools
import io

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from broadcasts.models import Area, DeliveryStatus, NoticeStatus
from broadcasts.notices import notice_progress
from broadcasts.reports import (
    count_acks,
    count_deliveries,
    delivery_failures,
    list_notices,
    notice_detail,
    notice_report,
    report_csv,
)
from tests.api.factories import add_ack, add_bot, add_channels, add_notice, seed_tree

S = DeliveryStatus


async def _world(session: AsyncSession) -> tuple[dict[str, Area], int]:
    areas = await seed_tree(session)
    bot = await add_bot(session)
    chans = await add_channels(
        session, bot, [areas[c] for c in ("BT-KP1", "BT-KP1", "BT-KP1-T1", "BT-KP2", "BT-KP10")]
    )
    notice, ds = await add_notice(
        session,
        areas["BT"],
        chans,
        [S.sent, S.sent, S.failed, S.pending, S.cancelled],
        targets=[areas["BT-KP1"], areas["BT-KP2"]],
    )
    await add_ack(session, ds[0], "lan")
    await add_ack(session, ds[0], "ha")
    await add_ack(session, ds[2], "tu")  # an ack despite a failed delivery (sent by hand)
    return areas, notice.id or 0


async def test_report_by_area_adds_up(session: AsyncSession) -> None:
    _, notice_id = await _world(session)
    report = await notice_report(session=session, notice_id=notice_id)
    rows = {r.area_code: r for r in report.rows}
    assert list(rows) == ["BT-KP1", "BT-KP1-T1", "BT-KP2", "BT-KP10"]
    kp1 = rows["BT-KP1"]
    assert (
        kp1.targeted,
        kp1.sent,
        kp1.failed,
        kp1.pending,
        kp1.acknowledged,
        kp1.acknowledgements,
    ) == (2, 2, 0, 0, 1, 2)
    assert (rows["BT-KP1-T1"].failed, rows["BT-KP1-T1"].acknowledged) == (1, 1)
    assert (rows["BT-KP2"].pending, rows["BT-KP10"].cancelled) == (1, 1)
    t = report.totals
    assert (
        t.targeted,
        t.sent,
        t.failed,
        t.pending,
        t.cancelled,
        t.acknowledged,
        t.acknowledgements,
    ) == (5, 2, 1, 1, 1, 2, 3)
    for row in report.rows:
        assert row.targeted == row.sent + row.failed + row.pending + row.cancelled

    text = report_csv(report)
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert parsed[0][:4] == ["area_code", "area_name", "level", "targeted"]
    assert parsed[1][:3] == ["BT-KP1", "Khu phố 1", "neighbourhood"]
    # No registered leader pressed in this world: both acknowledged groups are members'.
    assert parsed[-1][:12] == ["TOTAL", "", "", "5", "2", "1", "1", "1", "2", "3", "0", "2"]
    assert parsed[0][10:12] == ["leader_acknowledged", "member_acknowledged"]
    # Then the same per platform: every group of this world is on Telegram.
    assert parsed[0][12:16] == [
        "telegram_targeted",
        "telegram_sent",
        "telegram_failed",
        "telegram_acknowledged",
    ]
    assert parsed[-1][12:] == ["5", "2", "1", "2", "0", "0", "0", "0"]


async def test_one_count_behind_the_status_message_the_list_and_the_report(
    session: AsyncSession,
) -> None:
    areas, notice_id = await _world(session)
    empty = await add_notice(session, areas["TD"], [], [], status=NoticeStatus.draft)
    empty_id = empty[0].id or 0
    counted = await count_deliveries(session=session, notice_ids=[notice_id, empty_id])
    mine = counted[notice_id]
    assert (mine.targeted, mine.sent, mine.failed, mine.pending, mine.cancelled) == (5, 2, 1, 1, 1)
    assert counted[empty_id].targeted == 0  # asked for, so present, with zeros
    assert await count_acks(session=session, notice_ids=[notice_id]) == {notice_id: (2, 3)}

    by_area = await count_deliveries(session=session, notice_ids=[notice_id], by_area=True)
    assert sum(t.targeted for t in by_area.values()) == 5
    assert by_area[areas["BT-KP1"].id or 0].sent == 2

    progress = await notice_progress(session=session, notice_id=notice_id)
    (listed,), _ = await list_notices(session=session, ward_id=areas["BT"].id)
    report = await notice_report(session=session, notice_id=notice_id)
    for totals in (listed.totals, report.totals):
        assert (totals.targeted, totals.sent, totals.failed) == (
            progress.total,
            progress.sent,
            progress.failed,
        )
        assert (totals.pending, totals.cancelled) == (progress.pending, progress.cancelled)
        assert (totals.acknowledged, totals.acknowledgements) == (
            progress.acknowledged_channels,
            progress.acknowledgements,
        )
    (failure,) = await delivery_failures(session=session, notice_id=notice_id)
    assert progress.failures == [(failure.title, failure.reason)]


async def test_detail_rows_and_filters(session: AsyncSession) -> None:
    _, notice_id = await _world(session)
    detail = await notice_detail(session=session, notice_id=notice_id)
    assert detail.channels_count == 5 and detail.targets == ["BT-KP1", "BT-KP2"]
    first = detail.channels[0]
    assert (first.area_code, first.status, first.acknowledgements) == ("BT-KP1", S.sent, 2)
    assert {p.person_name for p in first.acknowledged_by} == {"Lan", "Ha"}
    failed = [r for r in detail.channels if r.status == S.failed][0]
    assert failed.error and failed.attempts == 1
    silent = await notice_detail(session=session, notice_id=notice_id, acknowledged=False, limit=2)
    assert silent.channels_count == 3 and len(silent.channels) == 2
    assert all(r.acknowledgements == 0 for r in silent.channels)
    only_failed = await notice_detail(session=session, notice_id=notice_id, status=S.failed)
    assert [r.status for r in only_failed.channels] == [S.failed]


async def test_list_notices_with_totals(session: AsyncSession) -> None:
    areas, notice_id = await _world(session)
    await add_notice(session, areas["TD"], [], [], status=NoticeStatus.draft)
    rows, count = await list_notices(session=session)
    assert count == 2 and rows[1].id == notice_id  # newest first
    assert (rows[1].totals.targeted, rows[1].totals.acknowledgements) == (5, 3)
    mine, count = await list_notices(
        session=session, ward_id=areas["BT"].id, status=NoticeStatus.dispatching
    )
    assert count == 1 and mine[0].ward_code == "BT"


def _collect(statements: list[str], *args: object) -> None:
    statements.append(str(args[2]))


async def test_queries_do_not_grow_with_deliveries(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    areas = await seed_tree(session)
    bot = await add_bot(session)
    counts: list[int] = []
    for size in (3, 60):
        chans = await add_channels(session, bot, [areas["BT-KP1-T1"]] * size)
        notice, ds = await add_notice(session, areas["BT"], chans, [S.sent] * size)
        for d in ds[: size // 3]:
            await add_ack(session, d, "p")
        statements: list[str] = []
        count = functools.partial(_collect, statements)
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await notice_report(session=session, notice_id=notice.id or 0)
            await notice_detail(session=session, notice_id=notice.id or 0)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        counts.append(len(statements))
    # A fixed number of statements for both pages (the per-platform totals are two more).
    assert counts[0] == counts[1] <= 14
