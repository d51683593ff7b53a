"""One-time codes: an admin hands one out, an official or a group leader types it in.

Codes are short and easy to read aloud or type on a phone: upper-case letters and digits
without the look-alikes (no 0/O, 1/I). Redeeming is one conditional UPDATE, so two people
typing the same code at once cannot both use it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from broadcasts.errors import CodeRejected, InvalidInput, NotFound
from broadcasts.models import Area, AreaLevel, Invite, InviteKind, utcnow
from broadcasts.tenancy import ward_of

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_TTL_HOURS = 24 * 30


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_invite_code(code: str) -> str:
    """What people type: any case, spaces or dashes ("abcd-efgh") are fine."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


async def create_invite(
    *,
    session: AsyncSession,
    kind: InviteKind,
    area_id: int,
    ttl_hours: float = 72,
    note: str = "",
) -> Invite:
    """A code for `area_id`: an official's code needs a ward, a channel's an area at or
    below ward level (a group belongs to exactly one ward)."""
    if not 0 < ttl_hours <= MAX_TTL_HOURS:
        raise InvalidInput(
            f"ttl_hours must be between 0 and {MAX_TTL_HOURS}, not {ttl_hours}", field="ttl_hours"
        )
    area = await session.get(Area, area_id)
    if area is None:
        raise NotFound(f"area {area_id} does not exist", area_id=area_id)
    if kind == InviteKind.official and area.level != AreaLevel.ward:
        raise InvalidInput(
            f"officials belong to a ward; '{area.code}' is a {area.level.value}", field="ward_code"
        )
    if kind == InviteKind.channel and await ward_of(session=session, area=area) is None:
        raise InvalidInput(
            f"'{area.code}' is above ward level; a group registers to a ward or an area in one",
            field="area_code",
        )
    code = new_code()
    # 32^8 codes: a clash is all but impossible, but cheap to rule out.
    while await session.scalar(select(col(Invite.id)).where(col(Invite.code) == code)):
        code = new_code()
    now = utcnow()
    invite = Invite(
        kind=kind,
        code=code,
        area_id=area_id,
        note=note[:200],
        created_at=now,
        expires_at=now + timedelta(hours=ttl_hours),
    )
    session.add(invite)
    await session.flush()
    return invite


def _rejected(code: str, reason: str, message: str) -> CodeRejected:
    return CodeRejected(message, reason=reason, code=code)


async def _in_ward(session: AsyncSession, area_id: int, ward_id: int) -> bool:
    area, ward = await session.get(Area, area_id), await session.get(Area, ward_id)
    return area is not None and ward is not None and area.path.startswith(ward.path)


async def redeem_invite(
    *,
    session: AsyncSession,
    code: str,
    kind: InviteKind,
    used_by: str,
    within_ward_id: int | None = None,
) -> Invite:
    """Use a code once. Raises CodeRejected with `detail["reason"]` unknown / used / expired,
    or other_ward when `within_ward_id` is given and the code's area lies outside it.

    A code of the other kind counts as unknown: an official's code sent as a group's
    registration tells the sender nothing about what it is.
    """
    normalized = normalize_invite_code(code)
    invite = await session.scalar(select(Invite).where(col(Invite.code) == normalized))
    if invite is None or invite.kind != kind:
        raise _rejected(normalized, "unknown", f"code '{normalized}' is unknown")
    now = utcnow()
    if invite.used_at is not None:
        raise _rejected(normalized, "used", f"code '{normalized}' has already been used")
    if invite.expires_at <= now:
        raise _rejected(normalized, "expired", f"code '{normalized}' has expired")
    if within_ward_id is not None and not await _in_ward(session, invite.area_id, within_ward_id):
        # Checked before the code is used: it stays good for its own ward's bot.
        raise _rejected(normalized, "other_ward", f"code '{normalized}' is for another ward")
    claimed = await session.execute(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by=used_by[:64])
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise _rejected(normalized, "used", f"code '{normalized}' has already been used")
    # Mirror the UPDATE on the loaded row without queueing a second one.
    set_committed_value(invite, "used_at", now)
    set_committed_value(invite, "used_by", used_by[:64])
    return invite


async def used_invite(*, session: AsyncSession, code: str, used_by: str) -> Invite | None:
    """The invite behind `code` if `used_by` is who already used it (a code sent twice)."""
    normalized = normalize_invite_code(code)
    invite = await session.scalar(select(Invite).where(col(Invite.code) == normalized))
    return invite if invite is not None and invite.used_by == used_by[:64] else None
