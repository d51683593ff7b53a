"""CAP 1.2 over the API: a notice exports as a valid alert (in the key's ward only), an
upstream alert becomes a draft for review, the round trip gives back the same notice,
hostile or unmatched alerts change nothing, and each ward's public Atom feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from xml.etree.ElementTree import Element, fromstring

import httpx
import pytest
import xmlschema
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.apikeys import create_api_key
from broadcasts.cap.schema import NS, SCHEMA_FILE
from broadcasts.db import session_scope
from broadcasts.models import Area, Notice, NoticeStatus, NoticeTarget, Rendition, utcnow
from broadcasts.settings import ApiSettings, CapSettings, Settings
from tests.api.conftest import ADMIN_KEY, BASE_URL, assert_problem
from tests.api.factories import seed_tree
from tests.api.tenancy_world import snapshot
from tests.broadcasts.cap.test_schema import BILLION_LAUGHS, XXE

SCHEMA = xmlschema.XMLSchema10(str(SCHEMA_FILE))
ATOM = "{http://www.w3.org/2005/Atom}"
VI = (
    "Cảnh báo triều cường\n\n"
    "Triều cường đạt đỉnh 1,8 m lúc 17 giờ ngày 15/12/2026, các tuyến đường ven kênh có thể "
    "ngập sâu 20–40 cm.\n\n"
    "Thời gian: 17 giờ – 20 giờ, ngày 15/12/2026\n"
    "Việc cần làm: Kê cao đồ đạc, hạn chế đi lại qua các tuyến đường ven kênh."
)
EN = (
    "High tide warning\n\n"
    "The tide peaks at 1.8 m at 17:00 on 15/12/2026; canal-side streets may flood 20–40 cm."
)


def _cap(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _all(root: Element, path: str) -> list[str]:
    return [e.text or "" for e in root.iterfind(path, {"c": NS})]


async def _sent_notice(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    targets: tuple[str, ...] = ("BT-KP1-T1", "BT-KP2"),
    ward: str = "BT",
    **fields: object,
) -> int:
    """A notice that went out an hour ago, in Vietnamese and English."""
    async with session_scope(sessionmaker) as session:
        areas = {a.code: a for a in await session.scalars(select(Area))}
        if not areas:
            areas = await seed_tree(session)
        sent = utcnow() - timedelta(hours=1)
        notice = Notice(
            ward_id=areas[ward].id or 0,
            title="Cảnh báo triều cường",
            text=VI + "\n\nBản gốc dài hơn.",
            status=NoticeStatus.done,
            urgent=True,
            dispatched_at=sent,
            scheduled_at=sent,
        )
        for name, value in fields.items():
            setattr(notice, name, value)
        session.add(notice)
        await session.flush()
        session.add_all(
            [
                Rendition(notice_id=notice.id or 0, locale="vi", text=VI, source="ai"),
                Rendition(notice_id=notice.id or 0, locale="en", text=EN, source="ai"),
                *[
                    NoticeTarget(notice_id=notice.id or 0, area_id=areas[c].id or 0)
                    for c in targets
                ],
            ]
        )
        return notice.id or 0


async def _valid_alert(response: httpx.Response) -> Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/cap+xml")
    SCHEMA.validate(response.content)  # raises on any schema error
    return fromstring(response.content)


async def test_a_sent_notice_exports_as_a_valid_alert(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    notice_id = await _sent_notice(sessionmaker)
    root = await _valid_alert(await admin.get(f"/notices/{notice_id}.cap.xml"))
    assert _all(root, "c:identifier") == [f"loa.local:notice:{notice_id}"]
    assert _all(root, "c:sender") == ["bt@loa.local"]
    assert _all(root, "c:status") == ["Actual"] and _all(root, "c:msgType") == ["Alert"]
    assert _all(root, "c:scope") == ["Public"] and _all(root, "c:references") == []
    assert _all(root, "c:sent")[0].endswith("+07:00")
    assert _all(root, "c:info/c:language") == ["vi", "en"]
    assert _all(root, "c:info/c:description") == [VI, EN]
    assert _all(root, "c:info/c:headline") == ["Cảnh báo triều cường", "High tide warning"]
    assert _all(root, "c:info/c:event") == ["Thông báo của phường", "Ward notice"]
    assert _all(root, "c:info/c:instruction") == [
        "Kê cao đồ đạc, hạn chế đi lại qua các tuyến đường ven kênh."
    ]
    assert _all(root, "c:info/c:urgency") == ["Immediate", "Immediate"]
    assert _all(root, "c:info/c:severity") == ["Severe", "Severe"]
    assert _all(root, "c:info/c:senderName") == ["Phường Bến Thành"] * 2
    assert _all(root, "c:info[1]/c:area/c:areaDesc") == ["Tổ dân phố 1, Khu phố 1", "Khu phố 2"]
    assert _all(root, "c:info[1]/c:area/c:geocode/c:value") == ["BT-KP1-T1", "BT-KP2"]
    assert set(_all(root, "c:info/c:area/c:geocode/c:valueName")) == {"loa-area"}
    assert len(_all(root, "c:info/c:expires")) == 2


async def test_a_correction_is_an_update_a_recall_a_cancel_and_a_draft_a_draft(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    corrected = await _sent_notice(sessionmaker, corrected_at=utcnow())
    root = await _valid_alert(await admin.get(f"/notices/{corrected}.cap.xml"))
    assert _all(root, "c:msgType") == ["Update"]
    (identifier,) = _all(root, "c:identifier")
    assert identifier.startswith(f"loa.local:notice:{corrected}:update:")
    (references,) = _all(root, "c:references")
    sender, first, sent = references.split(",")
    assert (sender, first) == ("bt@loa.local", f"loa.local:notice:{corrected}")
    assert sent.endswith("+07:00")
    recalled = await _sent_notice(sessionmaker, corrected_at=utcnow(), recalled_at=utcnow())
    root = await _valid_alert(await admin.get(f"/notices/{recalled}.cap.xml"))
    assert _all(root, "c:msgType") == ["Cancel"]
    assert _all(root, "c:note") == [f"Thông báo #{recalled} đã được thu hồi."]
    assert _all(root, "c:references")[0].split(",")[1] == f"loa.local:notice:{recalled}"
    draft = await _sent_notice(sessionmaker, status=NoticeStatus.draft, dispatched_at=None)
    root = await _valid_alert(await admin.get(f"/notices/{draft}.cap.xml"))
    assert _all(root, "c:status") == ["Draft"] and _all(root, "c:msgType") == ["Alert"]


async def test_the_export_needs_a_key_and_stays_in_the_keys_ward(
    admin: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    notice_id = await _sent_notice(sessionmaker)
    assert_problem(await anon.get(f"/notices/{notice_id}.cap.xml"), 401)
    async with session_scope(sessionmaker) as session:
        td = await session.scalar(select(Area).where(Area.code == "TD"))
        bt = await session.scalar(select(Area).where(Area.code == "BT"))
        assert td is not None and bt is not None
        _, td_key = await create_api_key(
            session=session, name="td", scopes=["reports"], ward_id=td.id
        )
        _, bt_key = await create_api_key(
            session=session, name="bt", scopes=["reports"], ward_id=bt.id
        )
    other = await anon.get(f"/notices/{notice_id}.cap.xml", headers={"X-API-Key": td_key})
    assert_problem(other, 404)
    await _valid_alert(
        await anon.get(f"/notices/{notice_id}.cap.xml", headers={"X-API-Key": bt_key})
    )
    assert_problem(await admin.get("/notices/999999.cap.xml"), 404)


async def _targets(sessionmaker: async_sessionmaker[AsyncSession], notice_id: int) -> list[str]:
    async with session_scope(sessionmaker) as session:
        rows = await session.scalars(
            select(Area.code)
            .join(NoticeTarget, NoticeTarget.area_id == Area.id)
            .where(NoticeTarget.notice_id == notice_id)
        )
        return sorted(rows)


async def _renditions(
    sessionmaker: async_sessionmaker[AsyncSession], notice_id: int
) -> dict[str, tuple[str, str]]:
    async with session_scope(sessionmaker) as session:
        rows = await session.scalars(select(Rendition).where(Rendition.notice_id == notice_id))
        return {r.locale: (r.text, r.source) for r in rows}


async def test_the_round_trip_gives_back_the_same_notice(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    original = await _sent_notice(sessionmaker)
    exported = (await admin.get(f"/notices/{original}.cap.xml")).content
    # A city key need not name the ward: the geocodes say it.
    taken = await admin.post(
        "/notices/cap", content=exported, headers={"Content-Type": "application/cap+xml"}
    )
    assert taken.status_code == 201, taken.text
    body = taken.json()
    assert body["id"] != original and body["status"] == "draft" and body["urgent"] is True
    assert [r["locale"] for r in body["renditions"]] == ["vi", "en"]
    assert [r["text"] for r in body["renditions"]] == [VI, EN]
    assert body["unchecked"] == []
    assert await _renditions(sessionmaker, body["id"]) == {"vi": (VI, "cap"), "en": (EN, "cap")}
    assert await _targets(sessionmaker, body["id"]) == await _targets(sessionmaker, original)
    async with session_scope(sessionmaker) as session:
        imported = await session.get(Notice, body["id"])
        assert imported is not None and imported.text == VI
        assert imported.cap_ref == f"bt@loa.local,loa.local:notice:{original}"
    # Its own export has the same texts, languages and areas.
    again = await _valid_alert(await admin.get(f"/notices/{body['id']}.cap.xml"))
    first = fromstring(exported)
    for path in ("c:info/c:language", "c:info/c:description", "c:info/c:area/c:geocode/c:value"):
        assert _all(again, path) == _all(first, path)
    # The same alert twice: a conflict naming the notice, and nothing changes.
    before = await snapshot(sessionmaker)
    twice = await admin.post("/notices/cap", content=exported, params={"ward": "BT"})
    assert_problem(twice, 409, f"notice {body['id']}")
    assert await snapshot(sessionmaker) == before


def _upstream(
    *areas: str, language: str = "vi-VN", status: str = "Actual", kind: str = "Alert"
) -> bytes:
    blocks = "".join(f"<area><areaDesc>{a}</areaDesc></area>" for a in areas)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{NS}">
  <identifier>hcm-pctt-{abs(hash(areas))}</identifier><sender>pctt@tphcm.gov.vn</sender>
  <sent>2026-12-03T15:00:00+07:00</sent><status>{status}</status><msgType>{kind}</msgType>
  <scope>Public</scope>
  <info>
    <language>{language}</language><category>Met</category><event>Triều cường</event>
    <urgency>Expected</urgency><severity>Moderate</severity><certainty>Likely</certainty>
    <headline>Cảnh báo triều cường</headline>
    <description>Triều cường đạt đỉnh 1,8 m lúc 17 giờ.</description>
    <instruction>Kê cao đồ đạc.</instruction>
    {blocks}
  </info>
</alert>""".encode()


async def test_upstream_areas_match_by_name_without_accents(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(sessionmaker) as session:
        await seed_tree(session)
    taken = await admin.post(
        "/notices/cap",
        content=_upstream("to dan pho 2, KHU PHO 1", "Khu phố 10"),
        params={"ward": "BT"},
    )
    assert taken.status_code == 201, taken.text
    body = taken.json()
    assert body["urgent"] is False
    assert body["renditions"][0]["text"] == (
        "Cảnh báo triều cường\n\nTriều cường đạt đỉnh 1,8 m lúc 17 giờ.\n\nKê cao đồ đạc."
    )
    assert await _targets(sessionmaker, body["id"]) == ["BT-KP1-T2", "BT-KP10"]


async def test_unknown_or_unclear_areas_are_named_and_nothing_is_stored(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        # A second «Tổ dân phố 1», under Khu phố 2: the name alone no longer says which.
        session.add(
            Area(
                code="BT-KP2-T1",
                name="Tổ dân phố 1",
                level="group",
                parent_id=areas["BT-KP2"].id,
                path="HCM/BT/BT-KP2/BT-KP2-T1/",
            )
        )
    before = await snapshot(sessionmaker)
    # Names only: a city key must say which ward.
    unnamed = await admin.post("/notices/cap", content=_upstream("Khu phố 1"))
    assert_problem(unnamed, 422, "must name the ward")
    refused = await admin.post(
        "/notices/cap",
        content=_upstream("Khu phố 99", "Tổ dân phố 1", "Ấp 1"),
        params={"ward": "BT"},
    )
    body = assert_problem(refused, 422, "Khu phố 99", "Ấp 1", "Tổ dân phố 1")
    assert body["unknown"] == ["Khu phố 99", "Ấp 1"] and body["ambiguous"] == ["Tổ dân phố 1"]
    assert await snapshot(sessionmaker) == before
    # Named with its khu phố, it is clear again.
    taken = await admin.post(
        "/notices/cap", content=_upstream("Tổ dân phố 1, Khu phố 2"), params={"ward": "BT"}
    )
    assert taken.status_code == 201, taken.text
    assert await _targets(sessionmaker, taken.json()["id"]) == ["BT-KP2-T1"]


@pytest.mark.parametrize(
    ("data", "status", "fragment"),
    [
        (BILLION_LAUGHS, 422, "DTD"),
        (XXE, 422, "DTD"),
        (b"<alert>", 422, "well-formed"),
        (b"\xff\xfe not xml", 422, "well-formed"),
        (_upstream("Khu phố 1").replace(b"<scope>Public", b"<scope>Nowhere"), 422, "scope"),
        (_upstream("Khu phố 1", status="Exercise"), 422, "Actual"),
        (_upstream("Khu phố 1", kind="Cancel"), 422, "recall"),
        (_upstream("Khu phố 1", language="en-US"), 422, "Vietnamese"),
        (_upstream(), 422, "no area"),
        (_upstream("Khu phố 1").replace(b"</alert>", b"<x/>" * 80_000 + b"</alert>"), 413, "256"),
    ],
    ids=[
        "bomb",
        "xxe",
        "unclosed",
        "bytes",
        "schema",
        "exercise",
        "cancel",
        "no-vi",
        "no-area",
        "big",
    ],
)
async def test_bad_alerts_are_refused_and_change_nothing(
    admin: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    data: bytes,
    status: int,
    fragment: str,
) -> None:
    async with session_scope(sessionmaker) as session:
        await seed_tree(session)
    before = await snapshot(sessionmaker)
    response = await admin.post("/notices/cap", content=data, params={"ward": "BT"})
    assert_problem(response, status, fragment)
    assert await snapshot(sessionmaker) == before


async def test_the_ward_feed_lists_sent_notices_and_links_their_alerts(
    anon: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    sent = await _sent_notice(sessionmaker)
    newer = await _sent_notice(sessionmaker, dispatched_at=utcnow(), title="Cúp nước")
    recalled = await _sent_notice(sessionmaker, recalled_at=utcnow())
    draft = await _sent_notice(sessionmaker, status=NoticeStatus.draft, dispatched_at=None)
    scheduled = await _sent_notice(sessionmaker, status=NoticeStatus.scheduled, dispatched_at=None)
    other_ward = await _sent_notice(sessionmaker, ward="TD", targets=("TD-A1",))
    response = await anon.get("/wards/bt/notices.atom")  # no key
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "Thông báo của Phường Bến Thành"
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == f"{BASE_URL}/wards/BT/notices.atom"  # type: ignore[union-attr]
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Cúp nước", "Cảnh báo triều cường"]
    links = [e.find(f"{ATOM}link").get("href") for e in entries]  # type: ignore[union-attr]
    assert links == [f"{BASE_URL}/wards/BT/notices/{n}.cap.xml" for n in (newer, sent)]
    for link in links:
        await _valid_alert(await anon.get(link))
    for hidden in (recalled, draft, scheduled, other_ward):
        assert_problem(await anon.get(f"/wards/BT/notices/{hidden}.cap.xml"), 404)
    assert_problem(await anon.get("/wards/BT-KP1/notices.atom"), 422, "not a ward")
    assert_problem(await anon.get("/wards/NOPE/notices.atom"), 404)
    td = fromstring((await anon.get("/wards/TD/notices.atom")).content)
    assert [e.findtext(f"{ATOM}id") for e in td.findall(f"{ATOM}entry")] == [
        f"{BASE_URL}/wards/TD/notices/{other_ward}.cap.xml"
    ]


@pytest.fixture
async def closed_app(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=database_url,
        api=ApiSettings(bootstrap_key=SecretStr(ADMIN_KEY)),
        cap=CapSettings(public_feed=False, sender_domain="phuong.example.vn"),
    )
    app = create_app(sessionmaker=sessionmaker, settings=settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_feed_can_be_turned_off_and_the_sender_named(
    closed_app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    notice_id = await _sent_notice(sessionmaker)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=closed_app), base_url=BASE_URL
    ) as client:
        assert_problem(await client.get("/wards/BT/notices.atom"), 404, "turned off")
        assert_problem(await client.get(f"/wards/BT/notices/{notice_id}.cap.xml"), 404)
        keyed = await client.get(
            f"/notices/{notice_id}.cap.xml", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        root = await _valid_alert(keyed)
        assert _all(root, "c:sender") == ["bt@phuong.example.vn"]
        assert _all(root, "c:identifier") == [f"phuong.example.vn:notice:{notice_id}"]
