"""Wards as tenants: a ward key sees its ward's subtree and nothing else.

The probe test walks every operation of the app's OpenAPI document: each must have an
entry in `probes` (a new route without one fails), and each probe, sent with Bến Thành's
admin key and Thạnh Đông's identifiers, must answer 404 (or 422 for a body naming a foreign
row, as for one that does not exist), never a success carrying Thạnh Đông's data, and the
database must be exactly as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import BASE_URL, assert_problem
from tests.api.tenancy_world import World, build_world, foreign_markers_in, snapshot


@dataclass(frozen=True)
class Probe:
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    allowed: frozenset[int] = frozenset({404})
    # Answers without a key and may show any ward's public data (the CAP feed).
    public: bool = False


def _ok_without_foreign_data(path: str, **params: Any) -> Probe:
    """A list that may answer 200, but only with the caller's own rows."""
    return Probe(path, params=params, allowed=frozenset({200}))


def _cap_alert(area: str) -> str:
    """A CAP alert for `area` (a geocode when it is a code, else its name)."""
    where = (
        f"<geocode><valueName>loa-area</valueName><value>{area}</value></geocode>"
        if area.isascii()
        else ""
    )
    return (
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>t-1</identifier>'
        "<sender>pctt@example.vn</sender><sent>2026-12-03T15:00:00+07:00</sent>"
        "<status>Actual</status><msgType>Alert</msgType><scope>Public</scope><info>"
        "<language>vi</language><category>Met</category><event>Triều cường</event>"
        "<urgency>Expected</urgency><severity>Minor</severity><certainty>Likely</certainty>"
        f"<description>Triều cường.</description><area><areaDesc>{area}</areaDesc>{where}"
        "</area></info></alert>"
    )


def probes(w: World) -> dict[tuple[str, str], list[Probe]]:
    o = w.other
    csv = "code,name,level,parent_code,kind\nTD-A9,Ấp 9 Thạnh Đông,neighbourhood,TD,ấp\n"
    csv_headers = {"Content-Type": "text/csv"}
    unprocessable = frozenset({422})
    return {
        ("GET", "/health"): [_ok_without_foreign_data("/health")],  # public, no data
        ("POST", "/areas"): [
            Probe(
                "/areas",
                json={"code": "TD-A9", "name": "x", "level": "neighbourhood", "parent_code": "TD"},
                allowed=unprocessable,
            ),
            Probe(
                "/areas",
                json={"code": "NEWCITY", "name": "x", "level": "city"},
                allowed=unprocessable,
            ),
            Probe(
                "/areas",
                json={
                    "code": "TD-A8",
                    "name": "x",
                    "level": "neighbourhood",
                    "parent_id": o.ward_id,
                },
                allowed=unprocessable,
            ),
        ],
        ("GET", "/areas"): [
            _ok_without_foreign_data("/areas"),
            _ok_without_foreign_data("/areas", level="ward"),
            Probe("/areas", params={"root": "TD"}),
            Probe("/areas", params={"root": "HCM"}),
        ],
        ("GET", "/areas/tree"): [
            _ok_without_foreign_data("/areas/tree"),
            Probe("/areas/tree", params={"root": "TD"}),
            Probe("/areas/tree", params={"root": "HCM"}),
        ],
        ("POST", "/areas/import"): [
            Probe("/areas/import", params={"ward": "TD"}, content=csv, headers=csv_headers),
            Probe("/areas/import", content=csv, headers=csv_headers, allowed=unprocessable),
        ],
        ("GET", "/areas/{code}"): [
            Probe(f"/areas/{o.area_code}"),
            Probe("/areas/TD"),
            Probe("/areas/HCM"),
        ],
        ("PATCH", "/areas/{code}"): [
            Probe(f"/areas/{o.area_code}", json={"name": "Ấp đổi tên"}),
            Probe("/areas/HCM", json={"name": "Thành phố đổi tên"}),
            Probe("/areas/BT-KP1", json={"parent_code": "TD"}),
        ],
        ("GET", "/channels"): [
            _ok_without_foreign_data("/channels"),
            Probe("/channels", params={"area": o.area_code}),
        ],
        ("POST", "/channels/registration-codes"): [
            Probe("/channels/registration-codes", json={"area_code": o.area_code})
        ],
        ("GET", "/channels/{channel_id}"): [Probe(f"/channels/{o.channel_id}")],
        ("PATCH", "/channels/{channel_id}"): [
            Probe(f"/channels/{o.channel_id}", json={"locale": "en"})
        ],
        ("POST", "/channels/{channel_id}/deactivate"): [
            Probe(f"/channels/{o.channel_id}/deactivate", json={"reason": "đóng nhóm"})
        ],
        ("POST", "/channels/{channel_id}/activate"): [Probe(f"/channels/{o.channel_id}/activate")],
        ("GET", "/officials"): [
            _ok_without_foreign_data("/officials"),
            Probe("/officials", params={"ward": "TD"}),
            Probe("/officials", params={"ward": "HCM"}),
        ],
        ("POST", "/officials/invite-codes"): [
            Probe("/officials/invite-codes", json={"ward_code": "TD"})
        ],
        ("POST", "/officials/{official_id}/deactivate"): [
            Probe(f"/officials/{o.official_id}/deactivate")
        ],
        ("PATCH", "/officials/{official_id}"): [
            Probe(f"/officials/{o.official_id}", json={"role": "approver"})
        ],
        ("POST", "/notices/prepare"): [
            Probe("/notices/prepare", json={"ward_code": "TD", "text": "Cúp điện ngày 12/3."})
        ],
        ("GET", "/notices/{notice_id}/renditions"): [Probe(f"/notices/{o.notice_id}/renditions")],
        ("PUT", "/notices/{notice_id}/renditions/{locale}"): [
            Probe(f"/notices/{o.notice_id}/renditions/vi", json={"text": "Cúp điện."})
        ],
        ("GET", "/notices"): [
            _ok_without_foreign_data("/notices"),
            Probe("/notices", params={"ward": "TD"}),
        ],
        ("GET", "/notices/{notice_id}"): [
            Probe(f"/notices/{o.notice_id}"),
            Probe(f"/notices/{o.sent_notice_id}"),
        ],
        ("POST", "/notices/{notice_id}/cancel"): [Probe(f"/notices/{o.notice_id}/cancel")],
        ("POST", "/notices/{notice_id}/correct"): [
            Probe(f"/notices/{o.sent_notice_id}/correct", json={"text": "Cúp điện ngày 13/3."})
        ],
        ("POST", "/notices/{notice_id}/recall"): [Probe(f"/notices/{o.sent_notice_id}/recall")],
        ("GET", "/notices/{notice_id}/attachments"): [Probe(f"/notices/{o.notice_id}/attachments")],
        ("POST", "/notices/{notice_id}/attachments"): [
            Probe(
                f"/notices/{o.notice_id}/attachments",
                content=(
                    '--probe\r\nContent-Disposition: form-data; name="file"; '
                    'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
                    "%PDF-1.4 x\r\n--probe--\r\n"
                ),
                headers={"Content-Type": "multipart/form-data; boundary=probe"},
            )
        ],
        ("POST", "/notices"): [
            Probe("/notices", json={"text": "Cúp điện.", "targets": ["TD-A1"], "ward": "TD"}),
            Probe("/notices", json={"text": "Cúp điện.", "targets": ["TD"], "ward": "HCM"}),
            Probe(
                "/notices", json={"text": "Cúp điện.", "targets": ["TD-A1"]}, allowed=unprocessable
            ),
            Probe(
                "/notices",
                json={"text": "Cúp điện.", "targets": ["BT-KP1"], "official": o.official_id},
                allowed=unprocessable,
            ),
        ],
        ("POST", "/notices/{notice_id}/confirm"): [Probe(f"/notices/{o.notice_id}/confirm")],
        ("POST", "/notices/{notice_id}/reschedule"): [
            Probe(f"/notices/{o.notice_id}/reschedule", json={"at": "2030-01-01T07:00:00+07:00"})
        ],
        ("GET", "/notices/{notice_id}/report"): [Probe(f"/notices/{o.sent_notice_id}/report")],
        ("GET", "/notices/{notice_id}/report.csv"): [
            Probe(f"/notices/{o.sent_notice_id}/report.csv")
        ],
        ("GET", "/notices/{notice_id}/report.xlsx"): [
            Probe(f"/notices/{o.sent_notice_id}/report.xlsx")
        ],
        ("GET", "/notices/{notice_id}/acknowledgements.csv"): [
            Probe(f"/notices/{o.sent_notice_id}/acknowledgements.csv"),
            Probe(f"/notices/{o.sent_notice_id}/acknowledgements.csv", params={"occurrence": 0}),
        ],
        ("GET", "/notices/{notice_id}/acknowledgements.xlsx"): [
            Probe(f"/notices/{o.sent_notice_id}/acknowledgements.xlsx")
        ],
        ("GET", "/notices/{notice_id}.cap.xml"): [Probe(f"/notices/{o.sent_notice_id}.cap.xml")],
        ("POST", "/notices/cap"): [
            Probe("/notices/cap", params={"ward": "TD"}, content=_cap_alert("TD-A1")),
            Probe("/notices/cap", content=_cap_alert("TD-A1"), allowed=unprocessable),
            Probe("/notices/cap", content=_cap_alert("Ấp 1"), allowed=unprocessable),
        ],
        # Public: a ward's sent notices, for alert aggregators (TD's world notice has not
        # gone out, so it is in no feed).
        ("GET", "/wards/{code}/notices.atom"): [
            Probe(f"/wards/{o.ward_code}/notices.atom", allowed=frozenset({200}), public=True)
        ],
        ("GET", "/wards/{code}/notices/{notice_id}.cap.xml"): [
            Probe(f"/wards/{o.ward_code}/notices/{o.sent_notice_id}.cap.xml", public=True),
            Probe(f"/wards/BT/notices/{o.sent_notice_id}.cap.xml", public=True),
        ],
        ("GET", "/notices/{notice_id}/acknowledgements"): [
            Probe(f"/notices/{o.sent_notice_id}/acknowledgements")
        ],
        ("GET", "/notices/{notice_id}/pending"): [Probe(f"/notices/{o.sent_notice_id}/pending")],
        ("POST", "/notices/{notice_id}/remind"): [Probe(f"/notices/{o.sent_notice_id}/remind")],
        ("POST", "/acknowledgements"): [
            Probe(
                "/acknowledgements",
                json={
                    "notice_id": o.sent_notice_id,
                    "channel_id": o.channel_id,
                    "person_ref": "phone:0909",
                },
                allowed=unprocessable,
            ),
            Probe(
                "/acknowledgements",
                json={
                    "notice_id": w.own.sent_notice_id,
                    "channel_id": o.channel_id,
                    "person_ref": "phone:0909",
                },
                allowed=unprocessable,
            ),
        ],
        ("GET", "/api-keys"): [_ok_without_foreign_data("/api-keys")],
        ("POST", "/api-keys"): [
            Probe("/api-keys", json={"name": "x", "scopes": ["admin"], "ward": "TD"}),
            # A city key is not "another ward's row": it is refused outright.
            Probe("/api-keys", json={"name": "x", "scopes": ["admin"]}, allowed=frozenset({403})),
        ],
        ("DELETE", "/api-keys/{key_id}"): [
            Probe(f"/api-keys/{o.key_id}"),
            Probe(f"/api-keys/{w.city_key_id}"),
        ],
        ("GET", "/audit-events"): [
            _ok_without_foreign_data("/audit-events"),
            _ok_without_foreign_data("/audit-events", subject=f"area:{o.area_code}"),
        ],
        ("GET", "/bots"): [_ok_without_foreign_data("/bots")],
        ("POST", "/bots"): [
            Probe("/bots", json={"transport": "telegram", "token": "702:AAnew-bot", "ward": "TD"})
        ],
        ("GET", "/bots/{bot_id}"): [Probe(f"/bots/{w.other_bot_id}")],
        ("POST", "/bots/{bot_id}/token"): [
            Probe(f"/bots/{w.other_bot_id}/token", json={"token": "703:AArotated"})
        ],
        ("POST", "/bots/{bot_id}/disable"): [Probe(f"/bots/{w.other_bot_id}/disable")],
        ("POST", "/bots/{bot_id}/enable"): [Probe(f"/bots/{w.other_bot_id}/enable")],
        ("GET", "/wards/{code}/policy"): [
            Probe(f"/wards/{o.ward_code}/policy"),
            Probe("/wards/HCM/policy"),
        ],
        ("PUT", "/wards/{code}/policy"): [
            Probe(f"/wards/{o.ward_code}/policy", json={"needs_approval": True}),
            Probe("/wards/HCM/policy", json={"needs_approval": True}),
        ],
        # Authenticated by the bot's secret token, not by an API key: no bot receives here.
        ("POST", "/telegram/webhook/{bot_id}"): [
            Probe(f"/telegram/webhook/{w.bot_id}", json={"update_id": 1})
        ],
        ("POST", "/zalo/webhook/{bot_id}"): [
            Probe(f"/zalo/webhook/{w.bot_id}", json={"ok": True, "result": {}})
        ],
    }


@pytest.fixture
async def world(app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as client:
        yield client


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _send(client: httpx.AsyncClient, method: str, probe: Probe, key: str) -> httpx.Response:
    return await client.request(
        method,
        probe.path,
        params=probe.params,
        json=probe.json,
        content=probe.content,
        headers={**_as(key), **probe.headers},
    )


async def test_every_route_hides_another_ward(
    app: FastAPI,
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    table = probes(world)
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented == set(table), (
        f"routes without probes: {sorted(documented - set(table))}; "
        f"probes without routes: {sorted(set(table) - documented)}"
    )
    for key in (world.ward_admin, world.ward_reports):
        await client.get("/health", headers=_as(key))
        await client.get("/notices", headers=_as(key))  # last_used_at is set before the snapshot
    spec = app.openapi()["paths"]
    before = await snapshot(sessionmaker)
    answered: list[tuple[str, str, int]] = []
    for (method, template), route_probes in sorted(table.items()):
        for probe in route_probes:
            response = await _send(client, method, probe, world.ward_admin)
            answered.append((method, probe.path, response.status_code))
            assert response.status_code in probe.allowed, (method, probe, response.text)
            documented_statuses = spec[template][method.lower()]["responses"]
            assert str(response.status_code) in documented_statuses, (method, template)
            if response.status_code < 400:
                if not probe.public:
                    assert not foreign_markers_in(response.text), (method, probe, response.text)
            else:
                assert_problem(response, response.status_code)
    assert await snapshot(sessionmaker) == before
    assert len(answered) == sum(len(p) for p in table.values())


async def test_a_ward_reports_key_writes_nothing_and_reads_only_its_ward(
    app: FastAPI,
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await client.get("/notices", headers=_as(world.ward_reports))
    before = await snapshot(sessionmaker)
    for (method, _), route_probes in sorted(probes(world).items()):
        for probe in route_probes:
            response = await _send(client, method, probe, world.ward_reports)
            if method == "GET":
                assert response.status_code in {200, 403, 404}, (probe, response.text)
            elif "/webhook/" not in probe.path:  # a bot secret, not a key, guards these
                assert_problem(response, 403)
            if response.status_code == 200 and not probe.public:
                assert not foreign_markers_in(response.text), (probe, response.text)
    own = world.own
    for path in (
        f"/notices/{own.sent_notice_id}",
        f"/notices/{own.sent_notice_id}/report",
        f"/notices/{own.sent_notice_id}/report.csv",
        f"/notices/{own.sent_notice_id}/report.xlsx",
        f"/notices/{own.sent_notice_id}/acknowledgements.csv",
        f"/notices/{own.sent_notice_id}/acknowledgements.xlsx",
    ):
        assert (await client.get(path, headers=_as(world.ward_reports))).status_code == 200
    assert await snapshot(sessionmaker) == before


async def test_the_city_sees_both_wards(
    admin: httpx.AsyncClient, world: World, client: httpx.AsyncClient
) -> None:
    areas = (await admin.get("/areas")).json()
    assert {"BT", "TD", "TD-A1", "HCM"} <= {a["code"] for a in areas["data"]}
    assert {c["id"] for c in (await admin.get("/channels")).json()["data"]} == {
        world.own.channel_id,
        world.other.channel_id,
    }
    assert (await admin.get("/officials")).json()["count"] == 2
    assert (await admin.get("/notices")).json()["count"] == 4
    keys = (await admin.get("/api-keys")).json()["data"]
    assert {k["ward_code"] for k in keys} == {None, "BT", "TD"}
    events = (await admin.get("/audit-events")).json()["data"]
    assert {e["subject"] for e in events} >= {"area:BT-KP1", "area:TD-A1"}
    other = await admin.get(f"/notices/{world.other.sent_notice_id}")
    assert other.status_code == 200 and "td-secret-person" in other.text
    # A group belongs to exactly one ward: no registration code above ward level.
    assert_problem(
        await admin.post("/channels/registration-codes", json={"area_code": "HCM"}),
        422,
        "above ward level",
    )
    # A city reports key reads every ward too.
    city_reports = await client.get("/notices", headers=_as(world.city_reports))
    assert city_reports.json()["count"] == 4


async def test_a_ward_key_works_in_its_own_subtree(world: World, client: httpx.AsyncClient) -> None:
    headers = _as(world.ward_admin)
    tree = (await client.get("/areas/tree", headers=headers)).json()
    assert [n["code"] for n in tree["data"]] == ["BT"]
    codes = {a["code"] for a in (await client.get("/areas", headers=headers)).json()["data"]}
    assert codes == {"BT", "BT-KP1", "BT-KP1-T1", "BT-KP1-T2", "BT-KP2", "BT-KP10"}
    created = await client.post(
        "/areas",
        headers=headers,
        json={
            "code": "BT-KP11",
            "name": "Khu phố 11",
            "level": "neighbourhood",
            "parent_code": "BT",
        },
    )
    assert created.status_code == 201, created.text
    renamed = await client.patch("/areas/BT", headers=headers, json={"name": "Phường Bến Thành"})
    assert renamed.status_code == 200, renamed.text
    assert_problem(
        await client.patch("/areas/BT", headers=headers, json={"level": "neighbourhood"}), 422
    )
    imported = await client.post(
        "/areas/import",
        headers={**headers, "Content-Type": "text/csv"},
        content="code,name,level,parent_code,kind\nBT-KP12,Khu phố 12,neighbourhood,,khu phố\n",
    )
    assert imported.status_code == 200 and imported.json()["created"] == 1, imported.text
    code = await client.post(
        "/channels/registration-codes", headers=headers, json={"area_code": "BT-KP2"}
    )
    assert code.status_code == 201, code.text
    invite = await client.post("/officials/invite-codes", headers=headers, json={"ward_code": "BT"})
    assert invite.status_code == 201, invite.text
    role = await client.patch(
        f"/officials/{world.own.official_id}", headers=headers, json={"role": "approver"}
    )
    assert role.status_code == 200 and role.json()["role"] == "approver"
    assert_problem(
        await client.patch(
            f"/officials/{world.own.official_id}", headers=headers, json={"role": "boss"}
        ),
        422,
    )
    ack = await client.post(
        "/acknowledgements",
        headers=headers,
        json={
            "notice_id": world.own.sent_notice_id,
            "channel_id": world.own.channel_id,
            "person_ref": "phone:0909",
        },
    )
    assert ack.status_code == 201, ack.text
    cancelled = await client.post(f"/notices/{world.own.notice_id}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # Its own actions are in its audit log; the other ward's are not.
    events = (await client.get("/audit-events", headers=headers)).json()
    actions = {e["action"] for e in events["data"]}
    assert {"area.create", "area.import", "channel.code", "official.code", "notice.cancel"} <= (
        actions
    )
    assert {"official.update", "ack.record"} <= actions
    assert not foreign_markers_in(str(events))


async def test_city_admin_areas_in_a_ward_show_in_its_audit_log(
    admin: httpx.AsyncClient, world: World, client: httpx.AsyncClient
) -> None:
    await admin.patch("/areas/TD-A1", json={"name": "Ấp 1 mới"})
    await admin.patch("/areas/BT-KP2", json={"name": "Khu phố 2 mới"})
    ward_events = (await client.get("/audit-events", headers=_as(world.ward_admin))).json()
    subjects = [e["subject"] for e in ward_events["data"]]
    assert "area:BT-KP2" in subjects and "area:TD-A1" not in subjects
    other_events = (await client.get("/audit-events", headers=_as(world.other_admin))).json()
    assert "area:TD-A1" in [e["subject"] for e in other_events["data"]]


async def test_key_creation_and_revocation_rules(
    admin: httpx.AsyncClient,
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ward = _as(world.ward_admin)
    made = await client.post(
        "/api-keys", headers=ward, json={"name": "bt dash", "scopes": ["reports"], "ward": "bt"}
    )
    assert made.status_code == 201 and made.json()["ward_code"] == "BT", made.text
    new_key = made.json()["key"]
    assert (await client.get("/notices", headers=_as(new_key))).json()["count"] == 2
    assert_problem(
        await client.post("/api-keys", headers=ward, json={"name": "x", "ward": "BT-KP1"}), 422
    )
    before = await snapshot(sessionmaker)
    assert_problem(await client.post("/api-keys", headers=ward, json={"name": "x"}), 403, "city")
    assert_problem(
        await client.post("/api-keys", headers=ward, json={"name": "x", "ward": "TD"}), 404
    )
    assert_problem(
        await client.post(
            "/api-keys", headers=_as(world.ward_reports), json={"name": "x", "ward": "BT"}
        ),
        403,
    )
    assert_problem(await client.delete(f"/api-keys/{world.other.key_id}", headers=ward), 404)
    assert_problem(await client.delete(f"/api-keys/{world.city_key_id}", headers=ward), 404)
    assert await snapshot(sessionmaker) == before
    listed = (await client.get("/api-keys", headers=ward)).json()["data"]
    assert {k["ward_code"] for k in listed} == {"BT"}
    revoked = await client.delete(f"/api-keys/{made.json()['id']}", headers=ward)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_problem(await client.get("/notices", headers=_as(new_key)), 401, "revoked")
    # The city creates and revokes keys of any ward.
    td = await admin.post("/api-keys", json={"name": "td", "scopes": ["admin"], "ward": "TD"})
    assert td.status_code == 201 and td.json()["ward_code"] == "TD"
    assert (await admin.delete(f"/api-keys/{world.own.key_id}")).status_code == 200
    assert_problem(await admin.post("/api-keys", json={"name": "x", "ward": "NOPE"}), 404)
