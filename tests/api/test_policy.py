"""A ward's approval policy over the API: defaults, replace, scopes, bad input, audit."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.models import AuditEvent, Official, WardPolicy
from tests.api.conftest import assert_problem
from tests.api.factories import seed_tree


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        areas = await seed_tree(session)
        ward_id = areas["BT"].id or 0
        session.add_all(
            [
                Official(user_ref="1", name="Chủ tịch", ward_id=ward_id, role="approver"),
                Official(user_ref="2", name="Cán bộ", ward_id=ward_id),
                Official(user_ref="3", name="Cũ", ward_id=ward_id, role="approver", active=False),
            ]
        )
        await session.commit()
        return ward_id


async def test_defaults_then_replace_and_audit(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ward_id = await _seed(sessionmaker)
    shown = await admin.get("/wards/BT/policy")
    assert shown.status_code == 200, shown.text
    assert shown.json() == {
        "ward_code": "BT",
        "ward_name": "Phường Bến Thành",
        "needs_approval": False,
        "urgent_skips_approval": True,
        "ack_deadline_minutes": None,
        "approvers": 1,  # the inactive approver does not count
        "updated_at": None,
    }
    put = await admin.put(
        "/wards/bt/policy",
        json={"needs_approval": True, "urgent_skips_approval": False, "ack_deadline_minutes": 90},
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert (body["needs_approval"], body["urgent_skips_approval"]) == (True, False)
    assert body["ack_deadline_minutes"] == 90 and body["updated_at"] is not None
    assert (await admin.get("/wards/BT/policy")).json() == body
    # PUT replaces the whole policy: what is left out takes its default.
    again = await admin.put("/wards/BT/policy", json={"needs_approval": True})
    assert again.json()["urgent_skips_approval"] is True
    assert again.json()["ack_deadline_minutes"] is None
    async with sessionmaker() as session:
        stored = await session.get(WardPolicy, ward_id)
        events = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "ward.policy"))
        )
    assert stored is not None and stored.needs_approval and stored.urgent_skips_approval
    assert [(e.subject, e.ward_id) for e in events] == [("area:BT", ward_id)] * 2
    assert events[0].detail == {
        "needs_approval": True,
        "urgent_skips_approval": False,
        "ack_deadline_minutes": 90,
    }


async def test_bad_input_is_a_readable_problem_and_changes_nothing(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ward_id = await _seed(sessionmaker)
    bad = [
        {"needs_approval": "yes"},
        {"needs_approval": 1},
        {},
        {"needs_approval": True, "ack_deadline_minutes": 0},
        {"needs_approval": True, "ack_deadline_minutes": 100000},
        {"needs_approval": True, "approver": "Chủ tịch"},
    ]
    for body in bad:
        assert_problem(await admin.put("/wards/BT/policy", json=body), 422)
    assert_problem(
        await admin.put("/wards/BT-KP1/policy", json={"needs_approval": True}), 422, "not a ward"
    )
    assert_problem(await admin.put("/wards/NOPE/policy", json={"needs_approval": True}), 404)
    assert_problem(await admin.get("/wards/NOPE/policy"), 404)
    assert_problem(
        await admin.put(
            "/wards/BT/policy", content="not json", headers={"Content-Type": "application/json"}
        ),
        422,
    )
    async with sessionmaker() as session:
        assert await session.get(WardPolicy, ward_id) is None
        assert not list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "ward.policy"))
        )


async def test_a_reports_key_reads_but_may_not_change_it(
    admin: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessionmaker)
    made = await admin.post("/api-keys", json={"name": "dashboard", "scopes": ["reports"]})
    assert made.status_code == 201, made.text
    reader = {"Authorization": f"Bearer {made.json()['key']}"}
    assert (await anon.get("/wards/BT/policy", headers=reader)).status_code == 200
    assert_problem(
        await anon.put("/wards/BT/policy", headers=reader, json={"needs_approval": True}),
        403,
        "admin",
    )
    assert_problem(await anon.get("/wards/BT/policy"), 401)


async def test_the_approver_role_is_accepted_and_an_unknown_one_refused_readably(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(sessionmaker)
    async with sessionmaker() as session:
        official = (await session.scalars(select(Official).where(Official.user_ref == "2"))).one()
    made = await admin.patch(f"/officials/{official.id}", json={"role": "approver"})
    assert made.status_code == 200 and made.json()["role"] == "approver", made.text
    assert (await admin.get("/wards/BT/policy")).json()["approvers"] == 2
    assert_problem(
        await admin.patch(f"/officials/{official.id}", json={"role": "chairman"}),
        422,
        "'official' or 'approver'",
    )
