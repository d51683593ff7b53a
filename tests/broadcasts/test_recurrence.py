"""Recurring notices: the rule as read and checked, and each occurrence fired once with
its own deliveries and acknowledgements (virtual time: the clock is passed in)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.acks import record_ack
from broadcasts.db import session_scope
from broadcasts.delivery.outcomes import complete_notices
from broadcasts.errors import InvalidInput, UnreadableTime
from broadcasts.models import (
    Acknowledgement,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeOccurrence,
    NoticeStatus,
)
from broadcasts.notices import (
    RenditionInput,
    create_notice,
    dispatch_notice,
    notice_progress,
    save_renditions,
    schedule_notice,
    set_targets,
    withdraw_notice,
)
from broadcasts.recurrence import check_rule, describe, is_repeat_text, next_after, read_repeat
from broadcasts.reports import notice_report, occurrence_totals
from tests.api.factories import add_bot, add_channels, seed_tree

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday, 15:00 in Ho Chi Minh City


def test_typed_repeats_keep_the_local_clock() -> None:
    weekly = read_repeat("thứ Năm hằng tuần 18h", now=NOW)
    assert weekly.first == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)  # 18:00 local
    assert next_after(weekly.text, weekly.first) == datetime(2026, 12, 10, 11, 0, tzinfo=UTC)
    assert describe(weekly.text) == "Thứ Năm hằng tuần, 18:00"
    until = read_repeat("mỗi thứ Bảy 7h30 đến 31/12", now=NOW)
    assert until.first == datetime(2026, 12, 5, 0, 30, tzinfo=UTC)
    assert describe(until.text) == "Thứ Bảy hằng tuần, 07:30, đến 31/12/2026"
    assert len(list(until.rule)) == 4  # 5, 12, 19, 26 December
    monthly = read_repeat("ngày 1 hằng tháng 8h", now=NOW)
    assert monthly.first == datetime(2027, 1, 1, 1, 0, tzinfo=UTC)
    assert describe(monthly.text) == "Ngày 1 hằng tháng, 08:00"
    assert describe(monthly.text, locale="en") == "On day 1 of every month, 08:00"
    assert is_repeat_text("mỗi thứ Bảy 7h30") and not is_repeat_text("thứ Bảy 7h30")
    with pytest.raises(UnreadableTime):
        read_repeat("hằng tuần vào lúc nào đó", now=NOW)


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=WEEKLY;BYDAY=XX", "bad_rrule"),
        ("every thursday", "bad_rrule"),
        ("FREQ=MINUTELY", "rrule_too_frequent"),
        ("FREQ=HOURLY;BYMINUTE=0,30", "rrule_too_frequent"),
        ("FREQ=WEEKLY;COUNT=0", "rrule_bounds"),
        ("FREQ=WEEKLY;COUNT=100000", "rrule_bounds"),
        ("FREQ=DAILY;UNTIL=20400101T000000Z", "rrule_bounds"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "rrule_no_future"),
        ("RRULE:FREQ=WEEKLY\nEXDATE:20261210T110000Z", "bad_rrule"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(rule: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_rule(rule, start=NOW, now=NOW)
    assert caught.value.detail["reason"] == reason


def test_a_rule_from_now_starts_now_on_the_minute() -> None:
    pressed = NOW + timedelta(seconds=23)
    repeat = check_rule("FREQ=WEEKLY", start=pressed, now=pressed)
    assert repeat.first == NOW  # this week's occurrence is the one being sent now
    assert next_after(repeat.text, pressed) == NOW + timedelta(weeks=1)
    assert describe(repeat.text) == "Thứ Ba hằng tuần, 15:00"


def test_an_api_rule_reads_on_the_ward_clock() -> None:
    repeat = check_rule("RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=18;BYMINUTE=0", start=NOW, now=NOW)
    assert repeat.first == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    assert repeat.text.startswith("DTSTART;TZID=Asia/Ho_Chi_Minh:20261203T180000\n")


async def _weekly(
    session: AsyncSession, *, rule: str = "FREQ=WEEKLY;COUNT=3"
) -> tuple[Notice, list[int]]:
    areas = await seed_tree(session)
    channels = await add_channels(
        session, await add_bot(session), [areas["BT-KP1"], areas["BT-KP2"]]
    )
    notice = await create_notice(session=session, ward_id=areas["BT"].id or 0, text="Thu gom rác")
    nid = notice.id or 0
    await save_renditions(
        session=session, notice_id=nid, renditions=[RenditionInput(locale="vi", text="Rác")]
    )
    await set_targets(
        session=session, notice_id=nid, area_ids=[areas["BT-KP1"].id or 0, areas["BT-KP2"].id or 0]
    )
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    await schedule_notice(session=session, notice_id=nid, at=first, rrule=rule)
    return notice, [c.id or 0 for c in channels]


async def _send_all(session: AsyncSession, notice_id: int, occurrence: int) -> list[Delivery]:
    await session.execute(
        update(Delivery)
        .where(col(Delivery.notice_id) == notice_id, col(Delivery.occurrence) == occurrence)
        .values(status=DeliveryStatus.sent)
    )
    rows = await session.scalars(
        select(Delivery).where(
            col(Delivery.notice_id) == notice_id, col(Delivery.occurrence) == occurrence
        )
    )
    return list(rows)


async def test_a_weekly_notice_fires_three_times_with_its_own_deliveries_and_acks(
    session: AsyncSession,
) -> None:
    notice, _channels = await _weekly(session)
    nid = notice.id or 0
    first = notice.scheduled_at
    assert first is not None and notice.status == NoticeStatus.scheduled
    for k in range(3):
        at = first + timedelta(weeks=k)
        # Not due yet: nothing happens a minute early.
        early = at - timedelta(minutes=1)
        assert (
            await dispatch_notice(session=session, notice_id=nid, due_by=early, now=early) is None
        )
        assert await dispatch_notice(session=session, notice_id=nid, due_by=at, now=at) == 2
        await session.refresh(notice)
        if k < 2:
            # Between occurrences it waits for the next one; completion leaves it alone.
            assert notice.status == NoticeStatus.scheduled
            assert notice.scheduled_at == at + timedelta(weeks=1)
        sent = await _send_all(session, nid, k)
        assert {d.occurrence for d in sent} == {k}
        # The same person acknowledges every week: each occurrence counts it once.
        await record_ack(
            session=session, delivery_id=sent[0].id or 0, person_ref="9", person_name="Ông Chín"
        )
        await record_ack(
            session=session, delivery_id=sent[0].id or 0, person_ref="9", person_name="Ông Chín"
        )
        assert await complete_notices(session=session, notice_ids=[nid], now=at) == (
            [nid] if k == 2 else []
        )
        progress = await notice_progress(session=session, notice_id=nid)
        # The status message counts the occurrence going out, not all of them together.
        assert (progress.occurrence, progress.total, progress.acknowledgements) == (k, 2, 1)
    await session.refresh(notice)
    assert (notice.status, notice.occurrences) == (NoticeStatus.done, 3)
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 6
    acks = list(await session.scalars(select(Acknowledgement.occurrence)))
    assert sorted(acks) == [0, 1, 2]
    per = await occurrence_totals(session=session, notice_id=nid)
    assert [(o.occurrence, o.targeted, o.sent, o.acknowledgements) for o in per] == [
        (0, 2, 2, 1),
        (1, 2, 2, 1),
        (2, 2, 2, 1),
    ]
    assert [o.due_at for o in per] == [first + timedelta(weeks=k) for k in range(3)]
    report = await notice_report(session=session, notice_id=nid)
    assert len(report.occurrences) == 3 and report.totals.targeted == 6


async def test_a_double_fire_sends_each_occurrence_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(sessionmaker) as session:
        notice, _ = await _weekly(session)
    nid, at = notice.id or 0, notice.scheduled_at
    assert at is not None

    async def fire() -> int | None:
        async with session_scope(sessionmaker) as session:
            return await dispatch_notice(session=session, notice_id=nid, due_by=at, now=at)

    results = await asyncio.gather(fire(), fire(), fire(), return_exceptions=True)
    assert [r for r in results if r is not None] == [2], results
    async with session_scope(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 2
        assert await session.scalar(select(func.count()).select_from(NoticeOccurrence)) == 1
        # A fire naming an occurrence already fired changes nothing either.
        assert await dispatch_notice(session=session, notice_id=nid, occurrence=0, now=at) is None


async def test_after_an_outage_only_the_latest_due_occurrence_goes_out(
    session: AsyncSession,
) -> None:
    notice, _ = await _weekly(session, rule="FREQ=WEEKLY")
    nid, first = notice.id or 0, notice.scheduled_at
    assert first is not None
    # The process was down for two and a half weeks: the restart's sweep fires it now.
    later = first + timedelta(weeks=2, days=3)
    assert await dispatch_notice(session=session, notice_id=nid, due_by=later, now=later) == 2
    await session.refresh(notice)
    assert notice.occurrences == 1 and notice.status == NoticeStatus.scheduled
    assert notice.scheduled_at == first + timedelta(weeks=3)
    fired = await session.get(NoticeOccurrence, (nid, 0))
    assert fired is not None and fired.due_at == first + timedelta(weeks=2)
    assert await dispatch_notice(session=session, notice_id=nid, due_by=later, now=later) is None


async def test_cancelling_stops_future_occurrences(session: AsyncSession) -> None:
    notice, _ = await _weekly(session, rule="FREQ=WEEKLY")
    nid, first = notice.id or 0, notice.scheduled_at
    assert first is not None
    assert await dispatch_notice(session=session, notice_id=nid, due_by=first, now=first) == 2
    outcome = await withdraw_notice(session=session, ward_id=notice.ward_id, notice_id=nid)
    assert outcome.cancelled
    week = first + timedelta(weeks=1)
    assert await dispatch_notice(session=session, notice_id=nid, due_by=week, now=week) is None
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 2
