"""Areas over HTTP: create, tree, move, CSV import; rejected input writes nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.models import Area, AuditEvent
from tests.api.conftest import assert_problem
from tests.api.factories import TREE_CSV

CSV = {"Content-Type": "text/csv"}


async def _count(sessionmaker: async_sessionmaker[AsyncSession], table: type) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def test_create_read_update_and_tree(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert (await admin.post("/areas/import", content=TREE_CSV, headers=CSV)).status_code == 200
    created = await admin.post(
        "/areas",
        json={
            "code": "bt-kp3",
            "name": "Khu phố 3",
            "level": "neighbourhood",
            "parent_code": "BT",
            "kind": "khu phố",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["code"], body["path"], body["parent_code"]) == ("BT-KP3", "HCM/BT/BT-KP3/", "BT")

    assert_problem(
        await admin.post(
            "/areas",
            json={"code": "BT-KP3", "name": "x", "level": "neighbourhood", "parent_code": "BT"},
        ),
        409,
        "BT-KP3",
    )
    before = await _count(sessionmaker, Area)
    invalid = await admin.post(
        "/areas", json={"code": "a/b", "name": "", "level": "street", "parent_code": "BT"}
    )
    problem = assert_problem(invalid, 422, "code", "name", "level")
    assert {e["field"] for e in problem["errors"]} == {"code", "name", "level"}  # type: ignore[union-attr, index]
    assert_problem(
        await admin.post(
            "/areas", json={"code": "BT-X", "name": "x", "level": "ward", "parent_code": "BT"}
        ),
        422,
        "must be below",
    )
    assert await _count(sessionmaker, Area) == before

    moved = await admin.patch("/areas/BT-KP1", json={"parent_code": "TD", "name": "Ấp Một"})
    assert moved.status_code == 200 and moved.json()["path"] == "HCM/TD/BT-KP1/"
    child = (await admin.get("/areas/bt-kp1-t1")).json()
    assert child["path"] == "HCM/TD/BT-KP1/BT-KP1-T1/"
    assert_problem(await admin.get("/areas/NOPE"), 404, "NOPE")

    tree = (await admin.get("/areas/tree", params={"root": "BT"})).json()
    assert tree["count"] == 1
    assert [c["code"] for c in tree["data"][0]["children"]] == ["BT-KP2", "BT-KP3", "BT-KP10"]
    page = (await admin.get("/areas", params={"root": "TD", "limit": 2})).json()
    assert page["count"] == 5 and [a["code"] for a in page["data"]] == ["TD", "BT-KP1"]
    groups = (await admin.get("/areas", params={"level": "group"})).json()
    assert groups["count"] == 2

    async with sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["area.import", "area.create", "area.update"]


async def test_import_raw_multipart_and_ward_scoped(admin: httpx.AsyncClient) -> None:
    raw = await admin.post("/areas/import", content=("\ufeff" + TREE_CSV).encode(), headers=CSV)
    assert raw.json() == {"created": 9, "updated": 0, "unchanged": 0}
    renamed = TREE_CSV.replace("Ấp 1,", "Ấp Một,")
    upload = await admin.post(
        "/areas/import", files={"file": ("tree.csv", renamed.encode(), "text/csv")}
    )
    assert upload.json() == {"created": 0, "updated": 1, "unchanged": 8}
    scoped = await admin.post(
        "/areas/import",
        params={"ward": "TD"},
        headers=CSV,
        content="code,name,level,parent_code,kind\nTD-A2,Ấp 2,ấp,,\n",
    )
    assert scoped.json()["created"] == 1
    assert (await admin.get("/areas/TD-A2")).json()["kind"] == "ấp"
    assert_problem(await admin.post("/areas/import", files={"other": ("x.csv", b"x")}), 422, "file")
    assert_problem(
        await admin.post("/areas/import", params={"ward": "NOPE"}, headers=CSV, content=TREE_CSV),
        404,
        "NOPE",
    )


async def test_bad_import_lists_lines_and_writes_nothing(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await admin.post("/areas/import", content=TREE_CSV, headers=CSV)
    before = (await _count(sessionmaker, Area), await _count(sessionmaker, AuditEvent))
    bad = (
        "code,name,level,parent_code,kind\nBT-KP5,Khu phố 5,neighbourhood,BT,\n"
        "BT-KP6,Khu phố 6,neighbourhood,NOPE,\nBT-KP7,Khu phố 7,hamlet,BT,\n"
    )
    problem = assert_problem(
        await admin.post("/areas/import", content=bad, headers=CSV), 422, "NOPE", "hamlet"
    )
    assert problem["type"] == "urn:loa:problem:import-rejected"
    assert [e["line"] for e in problem["errors"]] == [3, 4]  # type: ignore[union-attr, index]
    assert_problem(
        await admin.post("/areas/import", content=b"\xff\xfe\x00", headers=CSV), 422, "UTF-8"
    )
    after = (await _count(sessionmaker, Area), await _count(sessionmaker, AuditEvent))
    assert after == before
