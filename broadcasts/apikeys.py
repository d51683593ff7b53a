"""API keys: `loa_<prefix>_<secret>`, shown once, stored as a salted SHA-256 hash.

The prefix is random, stored in clear (indexed) to find the row, and tells nothing about
the secret; the secret is compared in constant time. Scopes: `admin` may do everything,
`reports` may read notices and reports. A key may be tied to a ward (`ward_id`): it then
sees that ward's subtree only (see `broadcasts.tenancy`); a key without a ward is a city
key.

The first admin key comes from the `LOA_API__BOOTSTRAP_KEY` setting. It must be strong
(`bootstrap_key_weakness`), is stored like any other key (salted hash, random prefix),
and works only while no other city admin key exists: creating one retires it, and so
does starting without it (or with another one) in the settings.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import string
from collections import Counter
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import ConfigDict, StringConstraints, ValidationError, field_validator
from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from broadcasts.errors import Conflict, InvalidInput, NotAllowed, NotFound
from broadcasts.models import ApiKey, Area, utcnow
from broadcasts.tenancy import CITY, Tenant

log = logging.getLogger(__name__)

SCOPES = ("admin", "reports")
PREFIX_LENGTH = 8
MIN_BOOTSTRAP_LENGTH = 32
MIN_BOOTSTRAP_DISTINCT = 8
MIN_BOOTSTRAP_BITS = 90.0
BOOTSTRAP_SETTING = "LOA_API__BOOTSTRAP_KEY"
_KEY_SHAPE = re.compile(rf"^loa_([a-z0-9]{{{PREFIX_LENGTH}}})_(\S+)$")
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SALTED = "s1"
# Writing last_used_at on every request would turn reads into writes; once a while is enough.
_TOUCH_EVERY = timedelta(minutes=5)


class ApiKeyCreate(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {"name": "reporting dashboard", "scopes": ["reports"]},
                {"name": "Bến Thành admin", "scopes": ["admin"], "ward": "BT"},
            ]
        }
    )

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Annotated[str, StringConstraints(max_length=20)]] = Field(
        default_factory=lambda: ["admin"], min_length=1, max_length=2
    )
    ward: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="code of the ward the key is limited to; omitted: a city key (only a "
        "city admin key may make one)",
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
                    "ward_code": "BT",
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
    ward_code: str | None = Field(default=None, description="null for a city key")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def scopes_of(key: ApiKey) -> list[str]:
    return key.scopes.split()


def has_scope(key: ApiKey, scope: str) -> bool:
    granted = scopes_of(key)
    return "admin" in granted or scope in granted


def to_public(key: ApiKey, ward_code: str | None = None) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id or 0,
        name=key.name,
        prefix=key.prefix,
        scopes=scopes_of(key),
        ward_code=ward_code,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _digest(secret: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _hash(secret: str) -> str:
    """`s1$<salt>$<sha256(salt:secret)>`: every key is salted, whoever chose it."""
    salt = secrets.token_hex(16)
    return f"{_SALTED}${salt}${_digest(secret, salt)}"


def _matches(stored: str, secret: str) -> bool:
    """Constant-time check of a secret against a stored hash (salted, or an older plain
    SHA-256 from before salting)."""
    parts = stored.split("$")
    if len(parts) == 3 and parts[0] == _SALTED:
        return hmac.compare_digest(parts[2], _digest(secret, parts[1]))
    return hmac.compare_digest(stored, hashlib.sha256(secret.encode()).hexdigest())


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


async def _unused_prefix(session: AsyncSession) -> str:
    prefix = _new_prefix()
    while await session.scalar(select(col(ApiKey.id)).where(col(ApiKey.prefix) == prefix)):
        prefix = _new_prefix()
    return prefix


def _city_admins(*, exclude_id: int | None = None) -> ColumnElement[bool]:
    """Working city admin keys other than the bootstrap one (and `exclude_id`)."""
    condition = and_(
        col(ApiKey.revoked_at).is_(None),
        col(ApiKey.ward_id).is_(None),
        col(ApiKey.bootstrap).is_(False),
    )
    if exclude_id is not None:
        condition = and_(condition, col(ApiKey.id) != exclude_id)
    return condition


async def _has_city_admin(session: AsyncSession, *, exclude_id: int | None = None) -> bool:
    keys = await session.scalars(select(ApiKey).where(_city_admins(exclude_id=exclude_id)))
    return any("admin" in scopes_of(k) for k in keys)


async def _retire_bootstrap(session: AsyncSession, *, keep_id: int | None = None) -> int:
    """Revoke every working bootstrap key (but `keep_id`); how many were revoked."""
    query = update(ApiKey).where(col(ApiKey.bootstrap), col(ApiKey.revoked_at).is_(None))
    if keep_id is not None:
        query = query.where(col(ApiKey.id) != keep_id)
    result = await session.execute(
        query.values(revoked_at=utcnow()).execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def create_api_key(
    *, session: AsyncSession, name: str, scopes: list[str], ward_id: int | None = None
) -> tuple[ApiKey, str]:
    """A new key (a ward key with `ward_id`) and its plaintext, which is never stored and
    cannot be shown again. A new city admin key retires the bootstrap key."""
    try:
        data = ApiKeyCreate(name=name, scopes=scopes)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"invalid API key request: {problems}") from exc
    prefix = await _unused_prefix(session)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=data.name.strip(),
        prefix=prefix,
        key_hash=_hash(secret),
        scopes=" ".join(data.scopes),
        ward_id=ward_id,
    )
    session.add(key)
    await session.flush()
    if ward_id is None and "admin" in data.scopes:
        if await _retire_bootstrap(session):
            log.info("the bootstrap API key is retired: city admin key %s exists", key.id)
    return key, f"loa_{prefix}_{secret}"


async def verify_api_key(
    *, session: AsyncSession, presented: str, bootstrap_key: str | None = None
) -> ApiKey:
    """The key behind a presented plaintext; NotAllowed if it is unknown or revoked.

    A key of the `loa_<prefix>_<secret>` shape is found by its prefix; anything else can
    only be the bootstrap key. That one counts only while it is still the configured
    `bootstrap_key` (removed from the settings, it stops at once, in every process) and
    no other city admin key exists.
    """
    presented = presented.strip()
    match = _KEY_SHAPE.match(presented)
    key: ApiKey | None = None
    if match:
        candidates = await session.scalars(
            select(ApiKey).where(col(ApiKey.prefix) == match.group(1), ~col(ApiKey.bootstrap))
        )
        key = next((k for k in candidates if _matches(k.key_hash, match.group(2))), None)
    configured = (bootstrap_key or "").strip()
    if key is None and configured and hmac.compare_digest(presented, configured):
        bootstraps = await session.scalars(select(ApiKey).where(col(ApiKey.bootstrap)))
        key = next((k for k in bootstraps if _matches(k.key_hash, presented)), None)
    if key is None:
        raise NotAllowed("the API key is not valid")
    if key.revoked_at is not None:
        raise NotAllowed(f"the API key '{key.name}' has been revoked")
    if key.bootstrap and await _has_city_admin(session):
        raise NotAllowed("the bootstrap API key stopped working once a city admin key existed")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
        key.last_used_at = now
        session.add(key)
    return key


async def get_api_key(*, session: AsyncSession, key_id: int, within: Tenant = CITY) -> ApiKey:
    """The key, if `within` sees it: a ward sees its own ward's keys, never city keys."""
    key = await session.get(ApiKey, key_id)
    if key is None or not within.covers_ward_id(key.ward_id):
        raise NotFound(f"API key {key_id} does not exist", key_id=key_id)
    return key


async def revoke_api_key(*, session: AsyncSession, key_id: int, within: Tenant = CITY) -> ApiKey:
    """Revoke a key (again is a no-op); the last working city admin key cannot be revoked."""
    key = await get_api_key(session=session, key_id=key_id, within=within)
    if key.revoked_at is not None:
        return key
    if (
        key.ward_id is None
        and "admin" in scopes_of(key)
        and not await _has_city_admin(session, exclude_id=key.id)
    ):
        raise Conflict(
            f"API key {key_id} is the last admin key of the city; create another first",
            key_id=key_id,
        )
    key.revoked_at = utcnow()
    session.add(key)
    await session.flush()
    return key


async def list_api_keys(
    *,
    session: AsyncSession,
    include_revoked: bool = True,
    offset: int = 0,
    limit: int = 100,
    within: Tenant = CITY,
) -> tuple[list[tuple[ApiKey, str | None]], int]:
    """Keys `within` sees, each with the code of its ward (None: a city key)."""
    query = (
        select(ApiKey, col(Area.code))
        .outerjoin(Area, col(Area.id) == col(ApiKey.ward_id))
        .where(within.ward_condition(ApiKey.ward_id))
    )
    if not include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    total = await session.scalar(
        select(func.count()).select_from(query.with_only_columns(col(ApiKey.id)).subquery())
    )
    rows = await session.execute(query.order_by(col(ApiKey.id)).offset(offset).limit(limit))
    return [(k, code) for k, code in rows], total or 0


def bootstrap_key_weakness(plaintext: str) -> str | None:
    """Why a bootstrap key is too weak to guard the whole city, or None if it will do.

    Heuristics for "reasonable entropy": at least 32 characters, at least 8 distinct
    ones, an estimated 90 bits or more (length × Shannon entropy of its characters), no
    block of 6 characters repeated, and at most half of it in runs like "abcd" / "4321".
    `openssl rand -hex 32` or `python -c "import secrets; print(secrets.token_urlsafe(32))"`
    give good ones.
    """
    key = plaintext.strip()
    if len(key) < MIN_BOOTSTRAP_LENGTH:
        return f"it has {len(key)} characters; at least {MIN_BOOTSTRAP_LENGTH} are needed"
    counts = Counter(key)
    if len(counts) < MIN_BOOTSTRAP_DISTINCT:
        return f"it uses only {len(counts)} distinct characters"
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    if bits < MIN_BOOTSTRAP_BITS:
        return f"it carries about {bits:.0f} bits; at least {MIN_BOOTSTRAP_BITS:.0f} are needed"
    blocks = [key[i : i + 6] for i in range(len(key) - 5)]
    if len(set(blocks)) < len(blocks):
        return "it repeats a block of characters"
    in_runs, run = 0, 1
    for before, after in zip(key, key[1:], strict=False):
        step = ord(after) - ord(before)
        run = run + 1 if step in (1, -1) else 1
        in_runs += 1 if run >= 4 else 0
    if in_runs * 2 > len(key):
        return "most of it is a run of consecutive characters"
    return None


async def ensure_bootstrap_key(*, session: AsyncSession, plaintext: str | None) -> ApiKey | None:
    """Bring the stored bootstrap key in line with the setting, at start.

    - No setting: every bootstrap key is retired (removing it from the environment ends
      it).
    - A setting while a city admin key exists: nothing is created, the key is retired.
    - Otherwise the key is stored (salted hash, random prefix) if it is not already;
      a key stored before salting is stored again the new way. A revoked bootstrap key
      stays revoked: to start over, configure a new one.

    Returns the working bootstrap key, or None. A weak key raises InvalidInput.
    """
    if plaintext is None or not plaintext.strip():
        if retired := await _retire_bootstrap(session):
            log.info("%s is not set: %d bootstrap API key(s) retired", BOOTSTRAP_SETTING, retired)
        return None
    plaintext = plaintext.strip()
    weakness = bootstrap_key_weakness(plaintext)
    if weakness is not None:
        raise InvalidInput(f"{BOOTSTRAP_SETTING} is too weak: {weakness}", field=BOOTSTRAP_SETTING)
    stored = await session.scalars(select(ApiKey).where(col(ApiKey.bootstrap)))
    key = next((k for k in stored if _matches(k.key_hash, plaintext)), None)
    if key is None:
        key = await _legacy_bootstrap(session, plaintext)
    await _retire_bootstrap(session, keep_id=key.id if key is not None else None)
    if await _has_city_admin(session):
        if key is not None and key.revoked_at is None:
            key.revoked_at = utcnow()
            session.add(key)
            await session.flush()
        log.info("%s is ignored: a city admin key exists", BOOTSTRAP_SETTING)
        return None
    if key is None:
        key = ApiKey(name="bootstrap", prefix="", key_hash="", scopes="admin", bootstrap=True)
    elif key.revoked_at is not None:
        return None
    if not key.key_hash.startswith(_SALTED + "$") or not key.prefix:
        key.prefix = await _unused_prefix(session)
        key.key_hash = _hash(plaintext)
    key.bootstrap, key.ward_id, key.scopes = True, None, "admin"
    session.add(key)
    await session.flush()
    return key


async def _legacy_bootstrap(session: AsyncSession, plaintext: str) -> ApiKey | None:
    """A bootstrap key of the `loa_<prefix>_<secret>` shape stored before this revision
    (under its own prefix, unsalted); other shapes were marked by the migration."""
    match = _KEY_SHAPE.match(plaintext)
    if not match:
        return None
    rows = await session.scalars(
        select(ApiKey).where(col(ApiKey.prefix) == match.group(1), col(ApiKey.name) == "bootstrap")
    )
    return next((k for k in rows if _matches(k.key_hash, match.group(2))), None)
