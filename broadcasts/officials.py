"""Ward officials: who may compose notices, bound to one ward by an invite code."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from broadcasts import audit
from broadcasts.areas import subtree_condition
from broadcasts.errors import InvalidInput, NotFound
from broadcasts.invites import redeem_invite
from broadcasts.models import Area, AreaLevel, InviteKind, Official
from broadcasts.tenancy import CITY, Tenant

LOCALES = ("vi", "en")
# An official's role in their ward: `official` composes and sends, `approver` also
# approves other officials' notices.
ROLES = ("official", "approver")


class OfficialPublic(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "transport": "telegram",
                    "user_ref": "123456789",
                    "name": "Trần Văn Hùng",
                    "ward_id": 2,
                    "ward_code": "BT",
                    "ward_name": "Phường Bến Thành",
                    "role": "official",
                    "locale": "vi",
                    "active": True,
                    "created_at": "2026-01-05T02:30:00Z",
                }
            ]
        }
    )

    id: int
    transport: str
    user_ref: str
    name: str
    ward_id: int
    ward_code: str
    ward_name: str
    role: str
    locale: str
    active: bool
    created_at: datetime


def to_public(official: Official, ward: Area) -> OfficialPublic:
    return OfficialPublic(
        id=official.id or 0,
        transport=official.transport,
        user_ref=official.user_ref,
        name=official.name,
        ward_id=official.ward_id,
        ward_code=ward.code,
        ward_name=ward.name,
        role=official.role,
        locale=official.locale,
        active=official.active,
        created_at=official.created_at,
    )


async def register_official(
    *,
    session: AsyncSession,
    code: str,
    transport: str = "telegram",
    user_ref: str,
    name: str,
    ward_id: int | None = None,
) -> Official:
    """Redeem an official's invite; someone already known moves to the code's ward.

    `ward_id` is the ward of the bot the code was sent to (None: a city-wide bot): a code
    of another ward is refused (`CodeRejected`, reason other_ward) and stays unused.
    """
    invite = await redeem_invite(
        session=session,
        code=code,
        kind=InviteKind.official,
        used_by=f"{transport}:{user_ref}",
        within_ward_id=ward_id,
    )
    ward = await session.get(Area, invite.area_id)
    if ward is None or ward.level != AreaLevel.ward:  # checked when the code was made
        raise InvalidInput("this code is not for a ward", code=invite.code)
    official = await session.scalar(
        select(Official).where(
            col(Official.transport) == transport, col(Official.user_ref) == user_ref
        )
    )
    if official is None:
        official = Official(transport=transport, user_ref=user_ref, ward_id=invite.area_id)
    official.ward_id = invite.area_id
    official.name = name.strip()[:200] or official.name
    official.active = True
    session.add(official)
    await session.flush()
    await audit.record(
        session=session,
        actor=f"{transport}:{user_ref}",
        action="official.register",
        subject=f"official:{official.id}",
        ward_id=invite.area_id,
        name=official.name,
    )
    return official


async def get_official_by_user(
    *, session: AsyncSession, transport: str, user_ref: str
) -> Official | None:
    """The active official behind a chat user, if any."""
    return await session.scalar(
        select(Official).where(
            col(Official.transport) == transport,
            col(Official.user_ref) == user_ref,
            col(Official.active),
        )
    )


async def get_official(
    *, session: AsyncSession, official_id: int, within: Tenant = CITY
) -> Official:
    """The official; one of a ward outside `within` is not found."""
    official = await session.get(Official, official_id)
    if official is None or not within.covers_ward_id(official.ward_id):
        raise NotFound(f"official {official_id} does not exist", official_id=official_id)
    return official


async def set_official_locale(*, session: AsyncSession, official_id: int, locale: str) -> Official:
    if locale not in LOCALES:
        raise InvalidInput(
            f"locale must be one of {', '.join(LOCALES)}, not '{locale}'", field="locale"
        )
    official = await get_official(session=session, official_id=official_id)
    official.locale = locale
    session.add(official)
    await session.flush()
    return official


async def deactivate_official(
    *, session: AsyncSession, official_id: int, within: Tenant = CITY
) -> Official:
    """The person can no longer compose; a new invite code brings them back."""
    official = await get_official(session=session, official_id=official_id, within=within)
    official.active = False
    session.add(official)
    await session.flush()
    return official


async def set_official_role(
    *, session: AsyncSession, official_id: int, role: str, within: Tenant = CITY
) -> Official:
    """The official's role in their ward (one of `ROLES`)."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not '{role}'", field="role")
    official = await get_official(session=session, official_id=official_id, within=within)
    official.role = role
    session.add(official)
    await session.flush()
    return official


async def list_officials(
    *,
    session: AsyncSession,
    ward_code: str | None = None,
    active: bool | None = None,
    offset: int = 0,
    limit: int = 100,
    within: Tenant = CITY,
) -> tuple[list[tuple[Official, Area]], int]:
    """Officials with their ward; `ward_code` may also name the city (all its wards)."""
    query = (
        select(Official, Area)
        .join(Area, col(Area.id) == col(Official.ward_id))
        .where(within.ward_condition(Official.ward_id))
    )
    if ward_code:
        root = await session.scalar(select(Area).where(col(Area.code) == ward_code.upper()))
        if root is None or not within.covers_area(root):
            raise NotFound(f"area '{ward_code}' does not exist", code=ward_code)
        query = query.where(subtree_condition(root.path))
    if active is not None:
        query = query.where(col(Official.active) == active)
    total = await session.scalar(
        select(func.count()).select_from(query.with_only_columns(col(Official.id)).subquery())
    )
    rows = await session.execute(
        query.order_by(col(Area.path), col(Official.name), col(Official.id))
        .offset(offset)
        .limit(limit)
    )
    return [(o, a) for o, a in rows], total or 0
