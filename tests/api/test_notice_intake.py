"""Notices made whole through the API: create (confirmed or not), confirm, reschedule,
and bad input refused with problem+json, changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.models import AuditEvent, Notice, NoticeOccurrence, NoticeStatus, NoticeTarget
from broadcasts.notices import dispatch_notice
from tests.api.conftest import assert_problem
from tests.api.factories import add_bot, add_channels, seed_tree

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TEXT = "Thu gom rác cồng kềnh vào 18 giờ thứ Năm hằng tuần tại đầu hẻm. Bà con lưu ý."


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        await add_channels(session, await add_bot(session), [areas["BT-KP1"], areas["BT-KP2"]])


async def _notices(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessionmaker) as session:
        return await session.scalar(select(func.count()).select_from(Notice)) or 0


def _next_thursday_18() -> datetime:
    today = datetime.now(TZ).date() + timedelta(days=1)
    day = today + timedelta(days=(3 - today.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 18, 0, tzinfo=TZ)


async def test_created_unconfirmed_then_confirmed_repeats_weekly(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessionmaker)
    first = _next_thursday_18()
    made = await admin.post(
        "/notices",
        json={
            "text": TEXT,
            "targets": ["BT-KP1", "bt-kp2"],
            "at": first.isoformat(),
            "rrule": "FREQ=WEEKLY;BYDAY=TH;COUNT=3",
            "ward": "BT",
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "draft" and body["renditions"][0]["locale"] == "vi"
    assert body["repeats"] == "Thứ Năm hằng tuần, 18:00, 3 lần"
    async with session_scope(sessionmaker) as session:
        targets = await session.scalar(
            select(func.count())
            .select_from(NoticeTarget)
            .where(NoticeTarget.notice_id == body["id"])
        )
    assert targets == 2
    confirmed = await admin.post(f"/notices/{body['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    done = confirmed.json()
    assert done["status"] == "scheduled"
    assert datetime.fromisoformat(done["scheduled_at"]) == first.astimezone(UTC)
    assert done["rrule"].startswith("DTSTART;TZID=Asia/Ho_Chi_Minh:")
    # Confirmed twice: the second is a conflict, and nothing changes.
    assert_problem(await admin.post(f"/notices/{body['id']}/confirm"), 409, "scheduled")
    # Rescheduled: its next occurrence moves.
    later = first + timedelta(days=1)
    moved = await admin.post(f"/notices/{body['id']}/reschedule", json={"at": later.isoformat()})
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["scheduled_at"]) == later.astimezone(UTC)
    assert_problem(
        await admin.post(
            f"/notices/{body['id']}/reschedule",
            json={"at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
        ),
        422,
        "past",
    )
    async with session_scope(sessionmaker) as session:
        actions = list(await session.scalars(select(AuditEvent.action)))
    assert {"notice.compose", "notice.schedule", "notice.reschedule"} <= set(actions)


async def test_confirmed_at_once_goes_out_now(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessionmaker)
    made = await admin.post(
        "/notices",
        json={"text": TEXT, "targets": ["BT-KP1"], "ward": "BT", "confirm": True, "urgent": True},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "scheduled" and body["urgent"] and body["rrule"] is None
    assert datetime.fromisoformat(body["scheduled_at"]) <= datetime.now(UTC)


async def test_unchecked_facts_block_the_confirm_until_accepted(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessionmaker)
    made = (
        await admin.post("/notices", json={"text": TEXT, "targets": ["BT-KP1"], "ward": "BT"})
    ).json()
    # An edit with a date the original does not have is flagged by the fact check.
    edited = await admin.put(
        f"/notices/{made['id']}/renditions/vi", json={"text": "Thu gom rác ngày 25/12/2026."}
    )
    assert edited.json()["flagged"], edited.text
    assert_problem(await admin.post(f"/notices/{made['id']}/confirm"), 422, "vi", "accept_findings")
    ok = await admin.post(f"/notices/{made['id']}/confirm", json={"accept_findings": True})
    assert ok.status_code == 200 and ok.json()["status"] == "scheduled", ok.text


async def test_bad_input_is_refused_and_changes_nothing(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessionmaker)
    before = await _notices(sessionmaker)
    base = {"text": TEXT, "targets": ["BT-KP1"], "ward": "BT", "confirm": True}
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    cases = [
        ({"rrule": "FREQ=SOMETIMES"}, "FREQ"),
        ({"rrule": "FREQ=MINUTELY"}, "once an hour"),
        ({"rrule": "FREQ=WEEKLY;COUNT=0"}, "COUNT"),
        ({"targets": ["BT-KP99"]}, "BT-KP99"),
        ({"targets": ["TD-A1"]}, "TD-A1"),  # another ward's area
        ({"at": past}, "past"),
        ({"at": "2026-12-05T07:30:00"}, "at"),  # no offset
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 20_001}, "text"),
        ({"ward": None}, "ward"),  # a city key must name the ward
        ({"official": 999}, "official"),
    ]
    for change, fragment in cases:
        assert_problem(await admin.post("/notices", json={**base, **change}), 422, fragment)
    assert await _notices(sessionmaker) == before
    assert_problem(await admin.post("/notices/999999/confirm"), 404)
    assert_problem(
        await admin.post(
            "/notices/999999/reschedule", json={"at": _next_thursday_18().isoformat()}
        ),
        404,
    )
    async with session_scope(sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Notice)) == before
        assert not list(
            await session.scalars(select(Notice).where(Notice.status != NoticeStatus.draft))
        )


async def test_rescheduling_moves_the_acknowledgement_deadline_with_the_notice(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessionmaker)
    first = _next_thursday_18()
    made = await admin.post(
        "/notices",
        json={
            "text": TEXT,
            "targets": ["BT-KP1"],
            "ward": "BT",
            "at": first.isoformat(),
            "ack_deadline": (first + timedelta(hours=2)).isoformat(),
            "confirm": True,
        },
    )
    assert made.status_code == 201, made.text
    notice_id = made.json()["id"]
    later = first + timedelta(days=1, minutes=30)
    moved = await admin.post(f"/notices/{notice_id}/reschedule", json={"at": later.isoformat()})
    assert moved.status_code == 200, moved.text
    # Two hours after the new time, as it was two hours after the old one.
    deadline = datetime.fromisoformat(moved.json()["ack_deadline"])
    assert deadline == (later + timedelta(hours=2)).astimezone(UTC)
    # The occurrence (whose deadline the reminders and the escalation go by) follows.
    async with session_scope(sessionmaker) as session:
        assert await dispatch_notice(session=session, notice_id=notice_id, now=later) == 1
        occurrence = await session.get(NoticeOccurrence, (notice_id, 0))
        assert occurrence is not None and occurrence.ack_deadline is not None
        assert occurrence.ack_deadline.replace(tzinfo=UTC) == later + timedelta(hours=2)
