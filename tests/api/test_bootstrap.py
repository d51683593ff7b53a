"""The bootstrap key: strong or refused at start, stored like any key, and only a way in
until the city has a real admin key."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from broadcasts.apikeys import bootstrap_key_weakness, ensure_bootstrap_key, verify_api_key
from broadcasts.db import session_scope
from broadcasts.errors import InvalidInput, NotAllowed
from broadcasts.models import ApiKey
from broadcasts.settings import ApiSettings, Settings
from tests.api.conftest import ADMIN_KEY, BASE_URL, assert_problem

STRONG = "Vq8rT2mXz4LpN7wK1cJ5hB9dF3gS6yQe"
WEAK = [
    "a" * 16,
    "a" * 40,
    "ab" * 20,
    "abcdefghijabcdefghijabcdefghijab",  # a block repeated
    "passwordpassword1234567890123456",
    "abcdefghijklmnopqrstuvwxyz012345",  # one run
    "0101010101010101aaaaaaaaaaaaaaaa22",  # few distinct characters
]


@pytest.mark.parametrize("plaintext", WEAK)
def test_weak_bootstrap_keys_stop_the_settings(plaintext: str) -> None:
    assert bootstrap_key_weakness(plaintext) is not None
    with pytest.raises(ValidationError, match="bootstrap key is too weak"):
        ApiSettings(bootstrap_key=SecretStr(plaintext))


def test_a_weak_key_from_the_environment_is_a_clear_startup_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOA_API__BOOTSTRAP_KEY", "a" * 16)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = str(caught.value)
    assert "api.bootstrap_key" in message and "16 characters; at least 32" in message
    assert "a" * 16 not in message  # the secret is not echoed


@pytest.mark.parametrize(
    "plaintext", [STRONG, ADMIN_KEY, "5f0c9e2a7b1d4e8f3a6c0b9d2e7f1a4c", "loa_" + STRONG]
)
def test_strong_keys_pass(plaintext: str) -> None:
    assert bootstrap_key_weakness(plaintext) is None
    ApiSettings(bootstrap_key=SecretStr(plaintext))


async def test_the_domain_refuses_a_weak_key_too(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput, match="LOA_API__BOOTSTRAP_KEY is too weak"):
        await ensure_bootstrap_key(session=session, plaintext="a" * 40)
    assert list(await session.scalars(select(ApiKey))) == []


async def test_stored_salted_with_a_prefix_that_tells_nothing(session: AsyncSession) -> None:
    key = await ensure_bootstrap_key(session=session, plaintext=STRONG)
    assert key is not None and key.bootstrap and key.ward_id is None
    plain_sha = hashlib.sha256(STRONG.encode()).hexdigest()
    assert key.key_hash.startswith("s1$") and plain_sha not in key.key_hash
    assert key.prefix not in plain_sha and key.prefix not in STRONG
    assert STRONG not in key.key_hash
    found = await verify_api_key(session=session, presented=STRONG, bootstrap_key=STRONG)
    assert found.id == key.id
    # Not configured (any more): the stored key does not open anything.
    with pytest.raises(NotAllowed):
        await verify_api_key(session=session, presented=STRONG)


async def test_a_key_stored_before_salting_is_stored_again(session: AsyncSession) -> None:
    digest = hashlib.sha256(STRONG.encode()).hexdigest()
    legacy = ApiKey(
        name="bootstrap", prefix="x" + digest[:7], key_hash=digest, scopes="admin", bootstrap=True
    )
    session.add(legacy)
    await session.flush()
    assert (await verify_api_key(session=session, presented=STRONG, bootstrap_key=STRONG)).id
    key = await ensure_bootstrap_key(session=session, plaintext=STRONG)
    assert key is not None and key.id == legacy.id
    assert key.key_hash.startswith("s1$") and not key.prefix.startswith("x" + digest[:7])
    assert (await verify_api_key(session=session, presented=STRONG, bootstrap_key=STRONG)).id


@asynccontextmanager
async def _api(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str, bootstrap: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        api=ApiSettings(bootstrap_key=SecretStr(bootstrap) if bootstrap else None),
    )
    app = create_app(sessionmaker=sessionmaker, settings=settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield client


def _as(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


async def test_the_bootstrap_key_retires_once_a_city_admin_key_exists(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    async with _api(sessionmaker, database_url, STRONG) as api:
        assert (await api.get("/api-keys", headers=_as(STRONG))).status_code == 200
        # A ward admin key or a city reports key does not retire it...
        ward = await api.post(
            "/areas",
            headers=_as(STRONG),
            json={"code": "BT", "name": "Phường Bến Thành", "level": "ward"},
        )
        assert ward.status_code == 201, ward.text
        for body in (
            {"name": "dash", "scopes": ["reports"]},
            {"name": "bt", "scopes": ["admin"], "ward": "BT"},
        ):
            made = await api.post("/api-keys", headers=_as(STRONG), json=body)
            assert made.status_code == 201, made.text
        assert (await api.get("/areas", headers=_as(STRONG))).status_code == 200
        # ...a city admin key does, in the same transaction.
        real = await api.post("/api-keys", headers=_as(STRONG), json={"name": "ops"})
        assert real.status_code == 201, real.text
        real_key = real.json()["key"]
        assert_problem(await api.get("/areas", headers=_as(STRONG)), 401)
        assert (await api.get("/areas", headers=_as(real_key))).status_code == 200
        listed = (await api.get("/api-keys", headers=_as(real_key))).json()["data"]
        assert [k["revoked_at"] is not None for k in listed if k["name"] == "bootstrap"] == [True]
    # Restarting with the same key does not bring it back.
    async with _api(sessionmaker, database_url, STRONG) as api:
        assert_problem(await api.get("/areas", headers=_as(STRONG)), 401)
        assert (await api.get("/areas", headers=_as(real_key))).status_code == 200
    async with session_scope(sessionmaker) as session:
        stored = list(await session.scalars(select(ApiKey).where(ApiKey.bootstrap)))
    assert len(stored) == 1 and stored[0].revoked_at is not None


async def test_removed_from_the_settings_the_bootstrap_key_stops(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    async with _api(sessionmaker, database_url, STRONG) as api:
        assert (await api.get("/areas", headers=_as(STRONG))).status_code == 200
    async with _api(sessionmaker, database_url, None) as api:
        assert_problem(await api.get("/areas", headers=_as(STRONG)), 401)
    # Another configured key replaces it; the old one stays dead.
    other = "Zr7Q2kT9mW4xN8pL3vB6cJ1hD5fG0sYa"
    async with _api(sessionmaker, database_url, other) as api:
        assert (await api.get("/areas", headers=_as(other))).status_code == 200
        assert_problem(await api.get("/areas", headers=_as(STRONG)), 401)
    async with session_scope(sessionmaker) as session:
        rows = list(await session.scalars(select(ApiKey).where(ApiKey.bootstrap)))
    assert sorted(r.revoked_at is None for r in rows) == [False, True]


async def test_the_last_city_admin_key_cannot_be_revoked(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    async with _api(sessionmaker, database_url, STRONG) as api:
        ops = (await api.post("/api-keys", headers=_as(STRONG), json={"name": "ops"})).json()
        assert_problem(await api.delete(f"/api-keys/{ops['id']}", headers=_as(ops["key"])), 409)
