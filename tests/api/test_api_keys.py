"""API keys over HTTP: the plaintext once, never again; revoked keys stop working."""

from __future__ import annotations

import httpx

from tests.api.conftest import assert_problem


async def test_create_use_list_revoke(admin: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    created = await admin.post("/api-keys", json={"name": "báo cáo", "scopes": ["reports"]})
    assert created.status_code == 201, created.text
    plaintext = created.json()["key"]
    headers = {"X-API-Key": plaintext}
    assert (await anon.get("/notices", headers=headers)).status_code == 200

    listed = (await admin.get("/api-keys")).json()
    assert listed["count"] == 2
    assert all("key" not in k and "key_hash" not in k for k in listed["data"])
    assert plaintext not in str(listed)

    revoked = await admin.delete(f"/api-keys/{created.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_problem(await anon.get("/notices", headers=headers), 401, "revoked")
    assert_problem(await admin.delete("/api-keys/999999"), 404)


async def test_bad_key_requests(admin: httpx.AsyncClient) -> None:
    assert_problem(
        await admin.post("/api-keys", json={"name": "x", "scopes": ["root"]}), 422, "root"
    )
    assert_problem(await admin.post("/api-keys", json={"scopes": ["admin"]}), 422, "name")
    bootstrap = (await admin.get("/api-keys")).json()["data"][0]
    assert_problem(await admin.delete(f"/api-keys/{bootstrap['id']}"), 409, "last admin")


async def test_openapi_documents_examples_and_problems(anon: httpx.AsyncClient) -> None:
    spec = (await anon.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert "Problem" in schemas and schemas["AreaCreate"]["examples"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    errors = spec["paths"]["/areas/import"]["post"]["responses"]["422"]["content"]
    assert "application/problem+json" in errors
    assert "text/csv" in spec["paths"]["/areas/import"]["post"]["requestBody"]["content"]
