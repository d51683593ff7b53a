"""API keys: shown once, hashed, revocable; the bootstrap key is idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.apikeys import (
    create_api_key,
    ensure_bootstrap_key,
    has_scope,
    list_api_keys,
    revoke_api_key,
    verify_api_key,
)
from broadcasts.errors import Conflict, InvalidInput, NotAllowed


async def test_create_verify_revoke(session: AsyncSession) -> None:
    admin, admin_plain = await create_api_key(session=session, name="ops", scopes=["admin"])
    key, plaintext = await create_api_key(session=session, name="dash", scopes=["reports"])
    assert plaintext.startswith(f"loa_{key.prefix}_") and plaintext.split("_", 2)[2] not in (
        key.key_hash
    )
    found = await verify_api_key(session=session, presented=plaintext)
    assert found.id == key.id and found.last_used_at is not None
    assert has_scope(found, "reports") and not has_scope(found, "admin")
    assert has_scope(admin, "reports")
    with pytest.raises(NotAllowed):
        await verify_api_key(session=session, presented=plaintext[:-2] + "xx")
    with pytest.raises(NotAllowed):
        await verify_api_key(session=session, presented="nonsense")
    await revoke_api_key(session=session, key_id=key.id or 0)
    with pytest.raises(NotAllowed, match="revoked"):
        await verify_api_key(session=session, presented=plaintext)
    # The last admin key stays.
    with pytest.raises(Conflict, match="last admin"):
        await revoke_api_key(session=session, key_id=admin.id or 0)
    assert (await verify_api_key(session=session, presented=admin_plain)).id == admin.id
    _, count = await list_api_keys(session=session)
    assert count == 2


async def test_bad_requests(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput, match="unknown scope"):
        await create_api_key(session=session, name="x", scopes=["root"])
    with pytest.raises(InvalidInput):
        await create_api_key(session=session, name="", scopes=["admin"])


@pytest.mark.parametrize(
    "plaintext",
    ["Vq8rT2mXz4LpN7wK1cJ5hB9dF3gS6yQe", "loa_abcdefgh_Zr7Q2kT9mW4xN8pL3vB6cJ1hD5fG0sY"],
)
async def test_bootstrap_key_of_any_shape(session: AsyncSession, plaintext: str) -> None:
    first = await ensure_bootstrap_key(session=session, plaintext=plaintext)
    again = await ensure_bootstrap_key(session=session, plaintext=plaintext)
    assert first is not None and again is not None
    assert first.id == again.id and first.scopes == "admin" and first.bootstrap
    found = await verify_api_key(session=session, presented=plaintext, bootstrap_key=plaintext)
    assert found.id == first.id
    assert first.prefix not in plaintext and "abcdefgh" != first.prefix
    with pytest.raises(InvalidInput):
        await ensure_bootstrap_key(session=session, plaintext="short")
