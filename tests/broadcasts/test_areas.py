"""The area tree: CSV import (all rows checked, nothing written on error), moves, trees."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.area_import import import_areas_csv
from broadcasts.areas import (
    AreaCreate,
    AreaUpdate,
    area_tree,
    create_area,
    get_area_by_code,
    subtree_ids,
    update_area,
)
from broadcasts.errors import Conflict, ImportRejected, InvalidInput, NotFound
from broadcasts.models import Area, AreaLevel
from tests.api.factories import TREE_CSV, seed_tree


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Area)) or 0


async def test_import_builds_paths_and_updates_on_reimport(session: AsyncSession) -> None:
    result = await import_areas_csv(session=session, ward_code=None, data=TREE_CSV)
    assert (result.created, result.updated, result.unchanged) == (9, 0, 0)
    t2 = await get_area_by_code(session=session, code="bt-kp1-t2")
    assert t2.path == "HCM/BT/BT-KP1/BT-KP1-T2/"
    assert (t2.level, t2.kind) == (AreaLevel.group, "tổ dân phố")

    renamed = TREE_CSV.replace("Khu phố 2,", "Khu phố 2 (mới),")
    again = await import_areas_csv(session=session, ward_code=None, data=renamed.encode())
    assert (again.created, again.updated, again.unchanged) == (0, 1, 8)
    assert (await get_area_by_code(session=session, code="BT-KP2")).name == "Khu phố 2 (mới)"
    assert await _count(session) == 9


async def test_import_reads_excel_exports(session: AsyncSession) -> None:
    # BOM, ";" separators, CRLF, level given as the local word, decomposed letters (macOS).
    name = unicodedata.normalize("NFD", "Ấp Mỹ Hòa")
    text = f"code;name;level;parent_code;kind\r\nX;Xã Mỹ Hòa;xã;;\r\nX-A1;{name};ấp;X;\r\n\r\n"
    result = await import_areas_csv(
        session=session, ward_code=None, data=("\ufeff" + text).encode("utf-8")
    )
    assert result.created == 2
    hamlet = await get_area_by_code(session=session, code="X-A1")
    assert (hamlet.level, hamlet.kind) == (AreaLevel.neighbourhood, "ấp")
    assert hamlet.name == unicodedata.normalize("NFC", "Ấp Mỹ Hòa")


async def test_import_reports_every_bad_row_and_writes_nothing(session: AsyncSession) -> None:
    await seed_tree(session)
    before = await _count(session)
    bad = (
        "code,name,level,parent_code,kind\n"
        "BT-KP5,Khu phố 5,neighbourhood,BT,\n"  # fine on its own
        "BT-KP6,Khu phố 6,neighbourhood,NOPE,\n"  # unknown parent
        "BT-KP7,Khu phố 7,village,BT,\n"  # bad level
        "BT-KP5,Khu phố 5 bis,neighbourhood,BT,\n"  # duplicate code
        "BT-W,Phường con,ward,BT-KP5,\n"  # not deeper than its parent
        "BT-KP2,Khu phố 2,neighbourhood,TD,\n"  # stored under BT: import does not move
        "bad code!,Tên,group,BT-KP5,\n"  # code shape
        "BT-KP8,,neighbourhood,BT,\n"  # empty name
    )
    with pytest.raises(ImportRejected) as caught:
        await import_areas_csv(session=session, ward_code=None, data=bad)
    errors = caught.value.detail["errors"]
    assert isinstance(errors, list)
    lines = [e["line"] for e in errors]
    assert lines == sorted(lines) and set(lines) == {3, 4, 5, 6, 7, 8, 9}
    text = " | ".join(e["error"] for e in errors)
    for fragment in (
        "NOPE",
        "village",
        "already on line 2",
        "must be below",
        "import does not move",
        "code 'bad code!': use only",
        "name ''",
    ):
        assert fragment in text
    assert await _count(session) == before


@pytest.mark.parametrize(
    "data", [b"\xff\xfe c\x00o\x00", "", "code,name\nA,B\n", "code,name,level,parent_code\n"]
)
async def test_import_rejects_unreadable_files(session: AsyncSession, data: bytes | str) -> None:
    with pytest.raises(ImportRejected) as caught:
        await import_areas_csv(session=session, ward_code=None, data=data)
    assert caught.value.detail["errors"]
    assert await _count(session) == 0


async def test_import_for_a_ward_stays_inside_it(session: AsyncSession) -> None:
    await seed_tree(session)
    rows = (
        "code,name,level,parent_code,kind\nBT,Phường Bến Thành,ward,,phường\n"
        "BT-KP3,Khu phố 3,neighbourhood,,khu phố\n"
    )
    result = await import_areas_csv(session=session, ward_code="BT", data=rows)
    assert (result.created, result.unchanged) == (1, 1)
    assert (await get_area_by_code(session=session, code="BT-KP3")).path == "HCM/BT/BT-KP3/"

    outside = (
        "code,name,level,parent_code,kind\nBT-KP4,Khu phố 4,neighbourhood,,\n"
        "TD-A2,Ấp 2,neighbourhood,TD,ấp\nTD-A1,Ấp 1,neighbourhood,TD,ấp\n"
    )
    with pytest.raises(ImportRejected) as caught:
        await import_areas_csv(session=session, ward_code="BT", data=outside)
    assert [e["line"] for e in caught.value.detail["errors"]] == [3, 4]  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await import_areas_csv(session=session, ward_code="NOWHERE", data=rows)


async def test_create_area_checks_parent_level_and_code(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    kp = await create_area(
        session=session,
        data=AreaCreate(
            code="bt-kp9", name="Khu phố 9", level=AreaLevel.neighbourhood, parent_code="BT"
        ),
    )
    assert (kp.code, kp.path, kp.parent_id) == ("BT-KP9", "HCM/BT/BT-KP9/", areas["BT"].id)
    with pytest.raises(Conflict):
        await create_area(
            session=session,
            data=AreaCreate(
                code="BT-KP9", name="again", level=AreaLevel.neighbourhood, parent_code="BT"
            ),
        )
    with pytest.raises(InvalidInput, match="must be below"):
        await create_area(
            session=session,
            data=AreaCreate(code="BT-X", name="x", level=AreaLevel.ward, parent_code="BT"),
        )
    with pytest.raises(InvalidInput, match="NOPE"):
        await create_area(
            session=session,
            data=AreaCreate(code="BT-Y", name="y", level=AreaLevel.group, parent_code="NOPE"),
        )


async def test_moving_an_area_rewrites_its_subtree(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    moved = await update_area(
        session=session, code="BT-KP1", data=AreaUpdate(parent_code="TD", name="Ấp Một")
    )
    assert (moved.path, moved.parent_id, moved.name) == ("HCM/TD/BT-KP1/", areas["TD"].id, "Ấp Một")
    t1 = await get_area_by_code(session=session, code="BT-KP1-T1")
    assert t1.path == "HCM/TD/BT-KP1/BT-KP1-T1/"
    paths = set(await session.scalars(select(Area.path).where(Area.path.like("HCM/BT/_%"))))
    assert paths == {"HCM/BT/BT-KP2/", "HCM/BT/BT-KP10/"}

    with pytest.raises(InvalidInput, match="inside it"):
        await update_area(session=session, code="TD", data=AreaUpdate(parent_code="BT-KP1"))
    with pytest.raises(InvalidInput, match="children"):
        await update_area(session=session, code="BT-KP1", data=AreaUpdate(level=AreaLevel.group))
    with pytest.raises(InvalidInput, match="must be below"):
        await update_area(session=session, code="BT-KP2", data=AreaUpdate(level=AreaLevel.ward))


async def test_tree_is_nested_in_natural_order(session: AsyncSession) -> None:
    await seed_tree(session)
    [ward] = await area_tree(session=session, root_code="BT")
    assert [c.code for c in ward.children] == ["BT-KP1", "BT-KP2", "BT-KP10"]
    assert [g.code for g in ward.children[0].children] == ["BT-KP1-T1", "BT-KP1-T2"]
    [city] = await area_tree(session=session, root_code=None)
    assert [w.code for w in city.children] == ["BT", "TD"]


async def test_subtree_ids(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    ids = await subtree_ids(
        session=session,
        area_ids=[
            areas["BT-KP1"].id or 0,
            areas["BT-KP1-T2"].id or 0,
            areas["TD"].id or 0,
            999_999,
        ],
    )
    assert ids == {areas[c].id for c in ("BT-KP1", "BT-KP1-T1", "BT-KP1-T2", "TD", "TD-A1")}
    assert await subtree_ids(session=session, area_ids=[]) == set()
