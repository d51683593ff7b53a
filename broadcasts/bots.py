"""Bot accounts: one bot per ward (or a city-wide one), added, listed, rotated, disabled.

A bot is added with its token once the platform has said whom the token belongs to (the
caller asks it: Telegram's or Zalo's getMe), and is tied to a ward: groups registered with it and
officials writing to it belong to that ward. The token is stored encrypted
(`broadcasts.tokens`) and never leaves this module's callers in an answer.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from broadcasts.areas import get_area_by_code
from broadcasts.errors import Conflict, InvalidInput, NotFound
from broadcasts.models import Area, AreaLevel, BotAccount, utcnow
from broadcasts.tenancy import CITY, Tenant
from broadcasts.tokens import token_hash
from broadcasts.transports.base import TRANSPORTS, BotIdentity


class BotPublic(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "transport": "telegram",
                    "username": "loa_benthanh_bot",
                    "ward_code": "BT",
                    "ward_name": "Phường Bến Thành",
                    "active": True,
                    "created_at": "2026-01-05T02:30:00Z",
                    "updated_at": "2026-01-05T02:30:00Z",
                }
            ]
        }
    )

    id: int
    transport: str
    username: str | None
    ward_code: str | None
    ward_name: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


def to_public(bot: BotAccount, ward: Area | None) -> BotPublic:
    return BotPublic(
        id=bot.id or 0,
        transport=bot.transport,
        username=bot.username,
        ward_code=ward.code if ward else None,
        ward_name=ward.name if ward else None,
        active=bot.active,
        created_at=bot.created_at,
        updated_at=bot.updated_at,
    )


async def bot_ward(
    *, session: AsyncSession, ward_code: str | None, within: Tenant = CITY
) -> Area | None:
    """The ward a new bot serves: `ward_code`'s, or the caller's own ward when a ward's
    caller names none (None: a city-wide bot, for the city only). A ward outside `within`
    is not found, like an unknown code."""
    if ward_code is None:
        if within.is_city:
            return None
        ward_code = within.ward_code
    ward = await get_area_by_code(session=session, code=ward_code or "")
    if not within.covers_ward_id(ward.id):
        raise NotFound(f"area '{ward_code}' does not exist", code=ward_code)
    if ward.level != AreaLevel.ward:
        raise InvalidInput(
            f"a bot serves a ward; '{ward.code}' is a {ward.level.value}", field="ward"
        )
    return ward


async def _by_token(session: AsyncSession, token: str) -> BotAccount | None:
    return await session.scalar(
        select(BotAccount).where(col(BotAccount.token_hash) == token_hash(token))
    )


async def add_bot(
    *,
    session: AsyncSession,
    transport: str,
    token: str,
    identity: BotIdentity,
    ward: Area | None,
) -> BotAccount:
    """Store a new bot for `ward` (None: city-wide; see `bot_ward`); a token already stored
    is a Conflict."""
    if transport not in TRANSPORTS:
        raise InvalidInput(f"transport must be one of {', '.join(TRANSPORTS)}", field="transport")
    if await _by_token(session, token) is not None:
        raise Conflict("this bot is already stored", username=identity.username)
    same = await session.scalar(
        select(BotAccount).where(
            col(BotAccount.transport) == transport, col(BotAccount.username) == identity.username
        )
    )
    if same is not None:
        raise Conflict(
            f"bot @{identity.username} is already stored as bot {same.id}: rotate its token",
            bot_id=same.id,
        )
    account = BotAccount(
        transport=transport,
        token=token,
        username=identity.username,
        ward_id=ward.id if ward else None,
    )
    session.add(account)
    await session.flush()
    return account


async def get_bot(*, session: AsyncSession, bot_id: int, within: Tenant = CITY) -> BotAccount:
    account = await session.get(BotAccount, bot_id)
    if account is None or not within.covers_ward_id(account.ward_id):
        raise NotFound(f"bot {bot_id} does not exist", bot_id=bot_id)
    return account


async def rotate_token(
    *,
    session: AsyncSession,
    bot_id: int,
    token: str,
    identity: BotIdentity,
    within: Tenant = CITY,
) -> BotAccount:
    """The bot's new token (after @BotFather's /revoke): it must belong to the same bot."""
    account = await get_bot(session=session, bot_id=bot_id, within=within)
    if account.username and account.username != identity.username:
        raise InvalidInput(
            f"this token belongs to @{identity.username}, not to @{account.username}",
            field="token",
        )
    other = await _by_token(session, token)
    if other is not None and other.id != account.id:
        raise Conflict(f"this token is already stored as bot {other.id}", bot_id=other.id)
    account.token = token
    account.username = identity.username
    account.updated_at = utcnow()
    session.add(account)
    await session.flush()
    return account


async def set_bot_active(
    *, session: AsyncSession, bot_id: int, active: bool, within: Tenant = CITY
) -> BotAccount:
    """Disable a bot (not served, sends nothing) or enable it again."""
    account = await get_bot(session=session, bot_id=bot_id, within=within)
    account.active = active
    account.updated_at = utcnow()
    session.add(account)
    await session.flush()
    return account


async def list_bots(
    *, session: AsyncSession, offset: int = 0, limit: int = 100, within: Tenant = CITY
) -> tuple[list[tuple[BotAccount, Area | None]], int]:
    seen = within.ward_condition(BotAccount.ward_id)
    query = (
        select(BotAccount, Area)
        .outerjoin(Area, col(Area.id) == col(BotAccount.ward_id))
        .where(seen)
    )
    total = await session.scalar(select(func.count()).select_from(BotAccount).where(seen))
    rows = await session.execute(query.order_by(col(BotAccount.id)).offset(offset).limit(limit))
    return [(b, a) for b, a in rows], total or 0


async def active_bots(*, session: AsyncSession, transport: str = "telegram") -> list[BotAccount]:
    """The bots a process serves, in the order they were added."""
    rows = await session.scalars(
        select(BotAccount)
        .where(col(BotAccount.transport) == transport, col(BotAccount.active))
        .order_by(col(BotAccount.id))
    )
    return list(rows)


async def count_bots(*, session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(BotAccount)) or 0


async def reseal_tokens(*, session: AsyncSession) -> int:
    """Write every bot token again, sealed with the first key of the installed
    LOA_SECRET_KEY list (`broadcasts.tokens`): after a rotation to «new,old», this is what
    lets the old key be dropped. Each token is read with whichever key decrypts it."""
    rows = (await session.execute(select(col(BotAccount.id), col(BotAccount.token)))).all()
    for account_id, token in rows:
        await session.execute(
            update(BotAccount).where(col(BotAccount.id) == account_id).values(token=token)
        )
    await session.flush()
    return len(rows)
