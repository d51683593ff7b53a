"""Body caps before authentication, failed-authentication limits, security headers and the
docs pages served from this server."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.docs import ASSETS
from broadcasts.settings import ApiSettings, Settings
from tests.api.conftest import ADMIN_KEY, BASE_URL, assert_problem

MiB = 2**20


class CountingBody:
    """A request body of `total` bytes in 1 MiB chunks, counting the chunks pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"x" * MiB
        while self.pulled * MiB < self.total:
            self.pulled += 1
            yield chunk


async def test_a_300_mb_chunked_body_without_a_key_is_refused_after_the_first_chunk(
    anon: httpx.AsyncClient,
) -> None:
    body = CountingBody(300 * MiB)
    response = await anon.post("/areas", content=body, headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 413, "64 KiB")
    assert problem["limit_bytes"] == 64 * 1024
    # No Content-Length was sent: the cap counted while streaming, and stopped at once.
    assert "content-length" not in response.request.headers
    assert body.pulled == 1


async def test_a_declared_length_over_the_cap_is_refused_before_any_byte_is_read(
    anon: httpx.AsyncClient,
) -> None:
    body = CountingBody(300 * MiB)
    response = await anon.post(
        "/notices/prepare",
        content=body,
        headers={"Content-Type": "application/json", "Content-Length": str(300 * MiB)},
    )
    assert_problem(response, 413, "256 KiB")
    assert body.pulled == 0


async def test_the_cap_is_checked_before_the_key(admin: httpx.AsyncClient) -> None:
    too_big = b'{"code": "' + b"x" * (70 * 1024) + b'"}'
    keyless = await admin.post("/areas", content=too_big, headers={"Authorization": ""})
    assert_problem(keyless, 413)
    with_key = await admin.post("/areas", content=too_big)
    assert_problem(with_key, 413)


async def test_imports_take_larger_bodies_than_other_routes(admin: httpx.AsyncClient) -> None:
    rows = "".join(f"BT-K{i},Khu phố {i},neighbourhood,BT,khu phố\n" for i in range(3000))
    data = ("code,name,level,parent_code,kind\nBT,Bến Thành,ward,,phường\n" + rows).encode()
    assert len(data) > 100 * 1024
    response = await admin.post("/areas/import", content=data, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert (await admin.get("/areas/BT-K2999")).status_code == 200


async def test_a_body_within_the_cap_reaches_the_route(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/areas", json={"code": "BT", "name": "Phường Bến Thành", "level": "ward"}
    )
    assert response.status_code == 201, response.text


# --- failed authentication ---------------------------------------------------------------


@pytest.fixture
async def strict_app(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=database_url,
        api=ApiSettings(
            bootstrap_key=SecretStr(ADMIN_KEY),
            auth_failures_per_address=5,
            auth_failures_per_key=3,
            auth_failure_window_seconds=600,
        ),
    )
    app = create_app(sessionmaker=sessionmaker, settings=settings)
    async with app.router.lifespan_context(app):
        yield app


def _client(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


async def test_repeated_wrong_keys_from_one_address_get_429_even_with_the_right_key(
    strict_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    secret_part = "s3cr3tGuess"
    async with _client(strict_app, "203.0.113.7") as client:
        with caplog.at_level(logging.WARNING, logger="api.auth_limits"):
            for i in range(5):
                wrong = {"X-API-Key": f"wrong-key-{secret_part}-{i}"}
                assert_problem(await client.get("/areas", headers=wrong), 401)
            refused = await client.get("/areas", headers={"X-API-Key": "another-guess"})
            right = await client.get("/areas", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    body = assert_problem(refused, 429, "too many failed authentications")
    assert body["status"] == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert_problem(right, 429)
    failures = [r for r in caplog.records if "authentication failed from 203.0.113.7" in r.message]
    assert len(failures) == 5
    assert not any(secret_part in r.getMessage() for r in caplog.records)
    # Another address is not affected.
    async with _client(strict_app, "198.51.100.2") as other:
        ok = await other.get("/areas", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert ok.status_code == 200, ok.text


async def test_guesses_at_one_key_prefix_are_limited_across_addresses(
    strict_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="api.auth_limits"):
        for i in range(3):
            async with _client(strict_app, f"192.0.2.{i + 1}") as client:
                response = await client.get(
                    "/areas", headers={"X-API-Key": f"loa_abcdefgh_guess{i}secret"}
                )
                assert_problem(response, 401)
        async with _client(strict_app, "192.0.2.99") as client:
            refused = await client.get("/areas", headers={"X-API-Key": "loa_abcdefgh_onemore"})
    assert_problem(refused, 429)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "key prefix abcdefgh" in logged
    assert "guess0secret" not in logged and "onemore" not in logged


async def test_a_missing_key_is_not_counted_as_a_failure(strict_app: FastAPI) -> None:
    async with _client(strict_app, "203.0.113.9") as client:
        for _ in range(8):
            assert_problem(await client.get("/areas"), 401)
        ok = await client.get("/areas", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert ok.status_code == 200


@pytest.mark.redis
async def test_failures_are_shared_through_redis(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], redis_url: str
) -> None:
    def build() -> FastAPI:
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            api=ApiSettings(
                bootstrap_key=SecretStr(ADMIN_KEY),
                auth_failures_per_address=2,
                auth_failure_window_seconds=600,
            ),
        )
        return create_app(sessionmaker=sessionmaker, settings=settings)

    first, second = build(), build()  # two API processes, one Redis
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        async with _client(first, "203.0.113.50") as client:
            for _ in range(2):
                assert_problem(await client.get("/areas", headers={"X-API-Key": "nope"}), 401)
        async with _client(second, "203.0.113.50") as client:
            assert_problem(await client.get("/areas", headers={"X-API-Key": "nope"}), 429)


# --- headers and docs ----------------------------------------------------------------------


async def test_every_response_has_the_security_headers(
    admin: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    responses = [
        await admin.get("/areas"),
        await anon.get("/areas"),
        await anon.get("/health"),
        await anon.get("/no-such-path"),
        await anon.post("/areas", content=b"x" * (65 * 1024)),
        await anon.get("/docs"),
    ]
    for response in responses:
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in headers  # plain http
    assert responses[0].headers["content-security-policy"].startswith("default-src 'none'")


async def test_hsts_is_sent_over_tls(app: FastAPI) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://loa.test"
    ) as client:
        response = await client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_only_local_assets(anon: httpx.AsyncClient, page: str) -> None:
    response = await anon.get(page)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""(?:url|spec-url)[:=]\s*["']([^"']+)["']""", html)
    assert urls, html
    for url in urls:
        assert url.startswith("/"), url  # same origin, no CDN
        asset = await anon.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100
    assert "http://" not in html and "https://" not in html
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert "cdn" not in csp


async def test_every_packaged_asset_is_served(anon: httpx.AsyncClient) -> None:
    for name in ASSETS:
        response = await anon.get(f"/docs/static/{name}")
        assert response.status_code == 200, name
        assert (
            "cache-control" not in response.headers
            or "no-store" not in (response.headers["cache-control"])
        )


async def test_the_schema_documents_413_and_429(anon: httpx.AsyncClient) -> None:
    schema = (await anon.get("/openapi.json")).json()
    create = schema["paths"]["/areas"]["post"]["responses"]
    assert "413" in create and "429" in create
    assert "413" not in schema["paths"]["/areas"]["get"]["responses"]
    assert "429" not in schema["paths"]["/health"]["get"]["responses"]
