"""Who acknowledged, who has not, reminders over HTTP; leader vs member in the reports."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.models import (
    AuditEvent,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    utcnow,
)
from tests.api.conftest import assert_problem
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree

S = DeliveryStatus


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Five channels: KP1 and T1 sent, T2 failed, KP2 sent, KP10 still pending. KP1's and
    KP2's registered leaders are «lan» and «tu»."""
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        chans = await add_channels(
            session,
            await add_bot(session),
            [areas[c] for c in ("BT-KP1", "BT-KP1-T1", "BT-KP1-T2", "BT-KP2", "BT-KP10")],
        )
        chans[0].leader_ref, chans[0].leader_name = "lan", "Lan"
        chans[3].leader_ref, chans[3].leader_name = "tu", "Tư"
        notice, ds = await add_notice(
            session,
            areas["BT"],
            chans,
            [S.sent, S.sent, S.failed, S.sent, S.pending],
            targets=[areas["BT"]],
        )
        ds[3].provider_message_ref = "41,42"
        scheduled, _ = await add_notice(session, areas["BT"], [], [], status=NoticeStatus.scheduled)
        recalled, _ = await add_notice(session, areas["BT"], chans[:1], [S.sent])
        recalled.recalled_at = utcnow()
        cancelled, _ = await add_notice(
            session, areas["BT"], chans[:1], [S.sent], status=NoticeStatus.cancelled
        )
        return {
            "notice": notice.id or 0,
            "scheduled": scheduled.id or 0,
            "recalled": recalled.id or 0,
            "cancelled": cancelled.id or 0,
            "kp1": chans[0].id or 0,
            "t1": chans[1].id or 0,
            "kp2": chans[3].id or 0,
            "kp2_delivery": ds[3].id or 0,
        }


async def _ack(admin: httpx.AsyncClient, notice: int, channel: int, person: str) -> None:
    body = {"notice_id": notice, "channel_id": channel, "person_ref": person, "person_name": person}
    assert (await admin.post("/acknowledgements", json=body)).status_code == 201


async def test_acknowledgements_mark_the_leader_and_reports_split_leaders_from_members(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    await _ack(admin, ids["notice"], ids["kp1"], "lan")  # KP1's leader
    await _ack(admin, ids["notice"], ids["kp1"], "hoa")  # a member of KP1
    await _ack(admin, ids["notice"], ids["t1"], "ba")  # T1: members only

    listed = (await admin.get(f"/notices/{ids['notice']}/acknowledgements")).json()
    assert listed["count"] == 3
    rows = {r["person_ref"]: r for r in listed["data"]}
    assert rows["lan"]["by_leader"] is True
    assert rows["hoa"]["by_leader"] is False and rows["ba"]["by_leader"] is False
    assert rows["lan"]["area_code"] == "BT-KP1" and rows["lan"]["channel_id"] == ids["kp1"]
    assert rows["ba"]["area_code"] == "BT-KP1-T1"
    assert {r["occurrence"] for r in listed["data"]} == {0}
    assert {r["via"] for r in listed["data"]} == {"notice"}
    paged = (await admin.get(f"/notices/{ids['notice']}/acknowledgements?limit=1")).json()
    assert paged["count"] == 3 and len(paged["data"]) == 1
    none = (await admin.get(f"/notices/{ids['notice']}/acknowledgements?occurrence=4")).json()
    assert none == {"data": [], "count": 0}

    report = (await admin.get(f"/notices/{ids['notice']}/report")).json()
    assert report["totals"]["acknowledged"] == 2
    assert report["totals"]["leader_acknowledged"] == 1
    assert report["totals"]["member_acknowledged"] == 1
    by_area = {r["area_code"]: r for r in report["rows"]}
    assert by_area["BT-KP1"]["leader_acknowledged"] == 1
    assert by_area["BT-KP1-T1"]["member_acknowledged"] == 1
    summary = (await admin.get(f"/notices/{ids['notice']}")).json()
    assert summary["totals"]["leader_acknowledged"] == 1
    people = {
        p["person_ref"]: p["by_leader"] for c in summary["channels"] for p in c["acknowledged_by"]
    }
    assert people == {"lan": True, "hoa": False, "ba": False}

    text = (await admin.get(f"/notices/{ids['notice']}/report.csv")).text.lstrip("\ufeff")
    table = list(csv.DictReader(io.StringIO(text)))
    total = next(r for r in table if r["area_code"] == "TOTAL")
    assert (total["leader_acknowledged"], total["member_acknowledged"]) == ("1", "1")


async def test_pending_and_remind_queue_one_reminder_per_silent_channel(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    await _ack(admin, ids["notice"], ids["kp1"], "lan")
    await _ack(admin, ids["notice"], ids["t1"], "ba")

    pending = (await admin.get(f"/notices/{ids['notice']}/pending")).json()
    # T2 failed and KP10 is still going out: only KP2 was reached and stays silent.
    assert pending["count"] == 1
    (row,) = pending["data"]
    assert (row["channel_id"], row["area_code"], row["reminders"]) == (ids["kp2"], "BT-KP2", 0)

    first = await admin.post(f"/notices/{ids['notice']}/remind")
    assert first.status_code == 200, first.text
    assert first.json() == {"notice_id": ids["notice"], "occurrence": 0, "reminded": 1}
    # The reminder is still queued: pressing again reminds nobody twice.
    again = await admin.post(f"/notices/{ids['notice']}/remind", json={"occurrence": 0})
    assert again.json()["reminded"] == 0
    after = (await admin.get(f"/notices/{ids['notice']}/pending")).json()
    assert after["data"][0]["reminders"] == 1

    async with sessionmaker() as session:
        (reminder,) = list(
            await session.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.reminder))
        )
        events = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "notice.remind"))
        )
        notice = await session.get(Notice, ids["notice"])
    assert reminder.channel_id == ids["kp2"] and reminder.parent_id == ids["kp2_delivery"]
    assert (reminder.round, reminder.occurrence, reminder.status) == (1, 0, S.pending)
    assert reminder.target_refs == "41,42" and reminder.target_sent_at is not None
    assert notice is not None and {e.ward_id for e in events} == {notice.ward_id}
    assert [e.detail["reminded"] for e in events] == [1, 0]

    # Once that reminder went out, another press reminds again (the next round).
    async with session_scope(sessionmaker) as session:
        stored = await session.get(Delivery, reminder.id)
        assert stored is not None
        stored.status = S.sent
    third = (await admin.post(f"/notices/{ids['notice']}/remind")).json()
    assert third["reminded"] == 1
    async with sessionmaker() as session:
        rounds = sorted(
            d.round
            for d in await session.scalars(
                select(Delivery).where(Delivery.kind == DeliveryKind.reminder)
            )
        )
    assert rounds == [1, 2]


async def test_remind_refuses_unsent_recalled_cancelled_and_unknown_notices(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    async with sessionmaker() as session:
        before = len(list(await session.scalars(select(Delivery))))
    assert_problem(await admin.post(f"/notices/{ids['scheduled']}/remind"), 409, "scheduled")
    assert_problem(await admin.post(f"/notices/{ids['recalled']}/remind"), 409, "recalled")
    assert_problem(await admin.post(f"/notices/{ids['cancelled']}/remind"), 409, "cancelled")
    assert_problem(await admin.post("/notices/999999/remind"), 404)
    assert_problem(await admin.get("/notices/999999/pending"), 404)
    assert_problem(await admin.get("/notices/999999/acknowledgements"), 404)
    assert_problem(
        await admin.post(f"/notices/{ids['notice']}/remind", json={"occurrence": -1}), 422
    )
    assert_problem(
        await admin.post(f"/notices/{ids['notice']}/remind", json={"round": 1}), 422, "round"
    )
    async with sessionmaker() as session:
        assert len(list(await session.scalars(select(Delivery)))) == before  # nothing queued
        channel = await session.get(Channel, ids["kp2"])
    assert channel is not None and channel.leader_ref == "tu"


async def test_an_area_contact_is_set_shown_refused_when_malformed_and_removed(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessionmaker)
    body = {"contact_name": "  Ông Nguyễn Văn Năm ", "contact_ref": "5550123"}
    changed = await admin.patch("/areas/BT-KP1", json=body)
    assert changed.status_code == 200, changed.text
    shown = (await admin.get("/areas/BT-KP1")).json()
    assert (shown["contact_name"], shown["contact_ref"]) == ("Ông Nguyễn Văn Năm", "5550123")
    assert_problem(
        await admin.patch("/areas/BT-KP1", json={"contact_ref": "55 01 23"}), 422, "contact_ref"
    )
    assert (await admin.get("/areas/BT-KP1")).json()["contact_ref"] == "5550123"
    await admin.patch("/areas/BT-KP1", json={"contact_ref": ""})
    assert (await admin.get("/areas/BT-KP1")).json()["contact_ref"] is None
    created = await admin.post(
        "/areas",
        json={
            "code": "BT-KP11",
            "name": "Khu phố 11",
            "level": "neighbourhood",
            "parent_code": "BT",
            "contact_name": "Bà Sáu",
            "contact_ref": "5550456",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["contact_ref"] == "5550456"
