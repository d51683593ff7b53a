"""Input the database cannot store is refused as invalid (422), before any query: ids past
PostgreSQL's 32-bit integers, integers past 64 bits, NUL characters, long lists."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import assert_problem


@pytest.mark.parametrize(
    "path",
    [
        "/notices/2147483648",
        "/notices/99999999999999999999999",
        "/notices/2147483648/report",
        "/channels/0",
        "/areas?offset=9223372036854775808",
        "/api-keys?offset=2147483648",
    ],
)
async def test_integers_beyond_the_database_are_422(admin: httpx.AsyncClient, path: str) -> None:
    assert_problem(await admin.get(path), 422)


async def test_body_ids_beyond_the_database_are_422(admin: httpx.AsyncClient) -> None:
    body = {"notice_id": 2**63, "channel_id": 2**31, "person_ref": "phone:0909"}
    problem = assert_problem(await admin.post("/acknowledgements", json=body), 422)
    fields = {e["field"] for e in problem["errors"]}  # type: ignore[union-attr]
    assert fields == {"notice_id", "channel_id"}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/areas", '{"code": "BT", "name": "B\\u0000T", "level": "ward"}'),
        ("POST", "/areas", '{"code": "BT", "name": "BT", "level": "ward", "x\\u0000": 1}'),
        ("GET", "/areas/BT%00", None),
        ("GET", "/areas?root=B%00", None),
        ("GET", "/audit-events?subject=%00", None),
    ],
)
async def test_nul_characters_are_refused_everywhere(
    admin: httpx.AsyncClient, method: str, url: str, body: str | None
) -> None:
    response = await admin.request(
        method, url, content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422, "NUL")
    assert (await admin.get("/areas")).json()["count"] == 0


async def test_an_escaped_backslash_before_u0000_is_plain_text(admin: httpx.AsyncClient) -> None:
    body = '{"code": "BT", "name": "B\\\\u0000T", "level": "ward"}'
    response = await admin.post(
        "/areas", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "B\\u0000T"


async def test_locale_lists_and_locales_are_bounded(admin: httpx.AsyncClient) -> None:
    many = {"ward_code": "BT", "text": "Cúp điện", "locales": ["vi"] * 11}
    assert_problem(await admin.post("/notices/prepare", json=many), 422, "locales")
    long = {"ward_code": "BT", "text": "Cúp điện", "locales": ["aa-00000000"]}
    assert_problem(await admin.post("/notices/prepare", json=long), 422, "locales")
    assert_problem(await admin.put("/notices/1/renditions/aa-00000000", json={"text": "x"}), 422)


async def test_api_key_scopes_are_bounded(admin: httpx.AsyncClient) -> None:
    body = {"name": "many", "scopes": ["admin"] * 11}
    assert_problem(await admin.post("/api-keys", json=body), 422, "scopes")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api-keys", "GET, HEAD, POST"),
        ("OPTIONS", "/areas/BT", "GET, HEAD, PATCH"),
        ("DELETE", "/areas/tree", "GET, HEAD"),
        ("GET", "/notices/prepare", "POST"),
        ("PATCH", "/channels/registration-codes", "POST"),
    ],
)
async def test_405_lists_the_methods_of_the_path(
    admin: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await admin.request(method, path)
    assert_problem(response, 405)
    assert response.headers["allow"] == allow


async def test_a_csv_with_a_nul_character_is_rejected_with_its_line(
    admin: httpx.AsyncClient,
) -> None:
    data = "code,name,level,parent_code,kind\nBT,Bến\x00Thành,ward,,phường\n".encode()
    response = await admin.post("/areas/import", content=data, headers={"Content-Type": "text/csv"})
    problem = assert_problem(response, 422, "NUL")
    assert problem["errors"] == [{"line": 2, "error": "NUL character"}]
    assert (await admin.get("/areas")).json()["count"] == 0
