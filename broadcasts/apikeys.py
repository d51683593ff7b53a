"""API keys: `loa_<prefix>_<secret>`, shown once, stored as a SHA-256 hash of the secret.

The prefix is stored in clear (indexed) to find the row; the secret is compared in
constant time. Scopes: `admin` may do everything, `reports` may read notices and reports.
The first admin key comes from the `LOA_API__BOOTSTRAP_KEY` setting, whatever its shape.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import ConfigDict, StringConstraints, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from broadcasts.errors import Conflict, InvalidInput, NotAllowed, NotFound
from broadcasts.models import ApiKey, utcnow

SCOPES = ("admin", "reports")
PREFIX_LENGTH = 8
MIN_BOOTSTRAP_LENGTH = 16
_KEY_SHAPE = re.compile(rf"^loa_([a-z0-9]{{{PREFIX_LENGTH}}})_(\S+)$")
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# Writing last_used_at on every request would turn reads into writes; once a while is enough.
_TOUCH_EVERY = timedelta(minutes=5)


class ApiKeyCreate(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={"examples": [{"name": "reporting dashboard", "scopes": ["reports"]}]}
    )

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Annotated[str, StringConstraints(max_length=20)]] = Field(
        default_factory=lambda: ["admin"], min_length=1, max_length=10
    )

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s) {', '.join(unknown)}; use {', '.join(SCOPES)}")
        return sorted(set(value))


class ApiKeyPublic(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "name": "reporting dashboard",
                    "prefix": "k3x9q2ab",
                    "scopes": ["reports"],
                    "created_at": "2026-01-05T02:30:00Z",
                    "last_used_at": None,
                    "revoked_at": None,
                }
            ]
        }
    )

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def scopes_of(key: ApiKey) -> list[str]:
    return key.scopes.split()


def has_scope(key: ApiKey, scope: str) -> bool:
    granted = scopes_of(key)
    return "admin" in granted or scope in granted


def to_public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id or 0,
        name=key.name,
        prefix=key.prefix,
        scopes=scopes_of(key),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(presented: str) -> tuple[str, str]:
    """(prefix, secret) of a key; a key of another shape (a bootstrap key) gets a derived
    prefix, so both kinds are found the same way."""
    match = _KEY_SHAPE.match(presented)
    if match:
        return match.group(1), match.group(2)
    return "x" + _hash(presented)[: PREFIX_LENGTH - 1], presented


async def create_api_key(
    *, session: AsyncSession, name: str, scopes: list[str]
) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored and cannot be shown again."""
    try:
        data = ApiKeyCreate(name=name, scopes=scopes)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"invalid API key request: {problems}") from exc
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    while await session.scalar(select(col(ApiKey.id)).where(col(ApiKey.prefix) == prefix)):
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=data.name.strip(), prefix=prefix, key_hash=_hash(secret), scopes=" ".join(data.scopes)
    )
    session.add(key)
    await session.flush()
    return key, f"loa_{prefix}_{secret}"


async def verify_api_key(*, session: AsyncSession, presented: str) -> ApiKey:
    """The key behind a presented plaintext; NotAllowed if it is unknown or revoked."""
    prefix, secret = _split(presented.strip())
    digest = _hash(secret)
    candidates = await session.scalars(select(ApiKey).where(col(ApiKey.prefix) == prefix))
    key = next((k for k in candidates if hmac.compare_digest(k.key_hash, digest)), None)
    if key is None:
        raise NotAllowed("the API key is not valid")
    if key.revoked_at is not None:
        raise NotAllowed(f"the API key '{key.name}' has been revoked")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
        key.last_used_at = now
        session.add(key)
    return key


async def get_api_key(*, session: AsyncSession, key_id: int) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist", key_id=key_id)
    return key


async def revoke_api_key(*, session: AsyncSession, key_id: int) -> ApiKey:
    """Revoke a key (again is a no-op); the last working admin key cannot be revoked."""
    key = await get_api_key(session=session, key_id=key_id)
    if key.revoked_at is not None:
        return key
    if "admin" in scopes_of(key):
        admins = await session.scalars(
            select(ApiKey).where(col(ApiKey.revoked_at).is_(None), col(ApiKey.id) != key.id)
        )
        if not any("admin" in scopes_of(k) for k in admins):
            raise Conflict(
                f"API key {key_id} is the last admin key; create another first", key_id=key_id
            )
    key.revoked_at = utcnow()
    session.add(key)
    await session.flush()
    return key


async def list_api_keys(
    *, session: AsyncSession, include_revoked: bool = True, offset: int = 0, limit: int = 100
) -> tuple[list[ApiKey], int]:
    query = select(ApiKey)
    if not include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(col(ApiKey.id)).offset(offset).limit(limit))
    return list(rows), total or 0


async def ensure_bootstrap_key(*, session: AsyncSession, plaintext: str) -> ApiKey:
    """Make sure the configured bootstrap key exists as an admin key (idempotent).

    A bootstrap key an admin has revoked stays revoked: to start over, configure a new one.
    """
    plaintext = plaintext.strip()
    if len(plaintext) < MIN_BOOTSTRAP_LENGTH:
        raise InvalidInput(
            f"the bootstrap API key must be at least {MIN_BOOTSTRAP_LENGTH} characters long",
            field="LOA_API__BOOTSTRAP_KEY",
        )
    prefix, secret = _split(plaintext)
    digest = _hash(secret)
    for key in await session.scalars(select(ApiKey).where(col(ApiKey.prefix) == prefix)):
        if hmac.compare_digest(key.key_hash, digest):
            return key
    key = ApiKey(name="bootstrap", prefix=prefix, key_hash=digest, scopes="admin")
    session.add(key)
    await session.flush()
    return key
