"""Notices over HTTP: list, per-channel detail, report JSON and CSV, cancel, API acks."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.models import AuditEvent, DeliveryStatus, Notice, NoticeStatus
from tests.api.conftest import CancelRecorder, assert_problem
from tests.api.factories import add_ack, add_bot, add_channels, add_notice, seed_tree

S = DeliveryStatus


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        chans = await add_channels(
            session,
            await add_bot(session),
            [areas[c] for c in ("BT-KP1", "BT-KP1-T1", "BT-KP1-T2", "BT-KP2", "BT-KP10")],
        )
        notice, ds = await add_notice(
            session,
            areas["BT"],
            chans,
            [S.sent, S.sent, S.failed, S.sent, S.pending],
            targets=[areas["BT"]],
        )
        await add_ack(session, ds[0], "lan")
        await add_ack(session, ds[1], "ha")
        draft, _ = await add_notice(session, areas["TD"], [], [], status=NoticeStatus.scheduled)
        return {
            "notice": notice.id or 0,
            "draft": draft.id or 0,
            "kp2": chans[3].id or 0,
            "t2": chans[2].id or 0,
            "silent": chans[4].id or 0,
        }


async def test_list_detail_and_reports(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    listed = (await admin.get("/notices", params={"ward": "BT"})).json()
    assert listed["count"] == 1 and listed["data"][0]["totals"]["targeted"] == 5
    assert (await admin.get("/notices", params={"status": "scheduled"})).json()["count"] == 1
    assert_problem(await admin.get("/notices", params={"status": "lost"}), 422, "status")

    detail = (await admin.get(f"/notices/{ids['notice']}")).json()
    assert detail["channels_count"] == 5 and detail["targets"] == ["BT"]
    by_channel = {row["channel_id"]: row for row in detail["channels"]}
    assert by_channel[ids["t2"]]["status"] == "failed" and by_channel[ids["t2"]]["error"]
    assert sum(row["acknowledgements"] for row in detail["channels"]) == 2
    silent = (await admin.get(f"/notices/{ids['notice']}", params={"acknowledged": "false"})).json()
    assert silent["channels_count"] == 3
    assert_problem(await admin.get("/notices/999999"), 404, "999999")

    report = (await admin.get(f"/notices/{ids['notice']}/report")).json()
    totals = report["totals"]
    assert (
        totals["targeted"],
        totals["sent"],
        totals["failed"],
        totals["pending"],
        totals["acknowledged"],
        totals["acknowledgements"],
    ) == (5, 3, 1, 1, 2, 2)
    for key in ("targeted", "sent", "failed", "pending", "acknowledged"):
        assert sum(row[key] for row in report["rows"]) == totals[key]

    exported = await admin.get(f"/notices/{ids['notice']}/report.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"notice-{ids['notice']}-report.csv" in exported.headers["content-disposition"]
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "area_code" and rows[-1][0] == "TOTAL"
    assert [r[0] for r in rows[1:-1]] == [row["area_code"] for row in report["rows"]]
    assert "Khu phố 1" in exported.content.decode("utf-8-sig")


async def test_acknowledging_through_the_api_counts_once(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    body = {
        "notice_id": ids["notice"],
        "channel_id": ids["kp2"],
        "person_ref": "phone:0909",
        "person_name": "Bác Tư",
    }
    first = await admin.post("/acknowledgements", json=body)
    assert first.status_code == 201 and first.json()["created"] is True
    again = await admin.post("/acknowledgements", json=body)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["id"] == first.json()["id"]
    report = (await admin.get(f"/notices/{ids['notice']}/report")).json()
    assert report["totals"]["acknowledgements"] == 3

    no_delivery = await admin.post("/acknowledgements", json={**body, "notice_id": ids["draft"]})
    assert_problem(no_delivery, 422, "no delivery")
    assert_problem(
        await admin.post("/acknowledgements", json={**body, "person_ref": ""}), 422, "person_ref"
    )
    async with sessionmaker() as session:
        acks = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "ack.record"))
        )
    assert len(acks) == 1


async def test_cancel_commits_then_calls_the_hook(
    admin: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    cancelled: CancelRecorder,
) -> None:
    ids = await _seed(sessionmaker)
    response = await admin.post(f"/notices/{ids['draft']}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert cancelled.calls == [ids["draft"]]
    async with sessionmaker() as session:
        notice = await session.get(Notice, ids["draft"])
        assert notice is not None and notice.status == NoticeStatus.cancelled
    assert_problem(await admin.post(f"/notices/{ids['draft']}/cancel"), 409, "cancelled")
    assert_problem(await admin.post("/notices/999999/cancel"), 404)
    assert cancelled.calls == [ids["draft"]]
