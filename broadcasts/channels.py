"""Channels: the group chats that receive notices, each bound to one area.

A group leader adds the bot and sends `/dangky@<bot> CODE` (see `registration_command`);
the code decides the area, and the forum topic it was sent from (if any) is where notices
go. A chat registered again (new code) moves to the new area and becomes active again.
Chat ids are strings, whatever the transport.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import ConfigDict
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from broadcasts import audit
from broadcasts.areas import get_area_by_code, subtree_condition, subtree_paths
from broadcasts.errors import InvalidInput, NotFound
from broadcasts.invites import redeem_invite
from broadcasts.models import Area, BotAccount, Channel, InviteKind, utcnow
from broadcasts.tenancy import CITY, Tenant
from broadcasts.tokens import token_hash

LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
# The command a leader sends in the group, Vietnamese first; the English one is an alias.
REGISTER_COMMANDS = ("dangky", "register")


def registration_command(*, username: str | None, code: str) -> str:
    """What a leader types in the group. With privacy mode on (Telegram's default) a bot
    is sure to see a command only when it names the bot: `/dangky@loa_bt_bot CODE`."""
    mention = f"@{username}" if username else ""
    return f"/{REGISTER_COMMANDS[0]}{mention} {code}"


class ChannelPublic(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "area_id": 5,
                    "area_code": "BT-KP3",
                    "area_name": "Khu phố 3",
                    "bot_id": 1,
                    "transport": "telegram",
                    "chat_ref": "-1001234567890",
                    "topic_ref": None,
                    "title": "Khu phố 3 - Bến Thành",
                    "locale": "vi",
                    "active": True,
                    "inactive_reason": None,
                    "created_at": "2026-01-05T02:30:00Z",
                    "updated_at": "2026-01-05T02:30:00Z",
                }
            ]
        }
    )

    id: int
    area_id: int
    area_code: str
    area_name: str
    bot_id: int
    transport: str
    chat_ref: str
    topic_ref: str | None
    title: str
    locale: str
    active: bool
    inactive_reason: str | None
    created_at: datetime
    updated_at: datetime


def to_public(channel: Channel, area: Area) -> ChannelPublic:
    return ChannelPublic(
        id=channel.id or 0,
        area_id=channel.area_id,
        area_code=area.code,
        area_name=area.name,
        bot_id=channel.bot_id,
        transport=channel.transport,
        chat_ref=channel.chat_ref,
        topic_ref=channel.topic_ref,
        title=channel.title,
        locale=channel.locale,
        active=channel.active,
        inactive_reason=channel.inactive_reason,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


async def get_or_create_bot_account(
    *,
    session: AsyncSession,
    token: str,
    username: str | None = None,
    ward_id: int | None = None,
    transport: str = "telegram",
) -> BotAccount:
    """The account row for a token, made on first start; keeps the username current."""
    account = await session.scalar(
        select(BotAccount).where(col(BotAccount.token_hash) == token_hash(token))
    )
    if account is None:
        account = BotAccount(token=token, transport=transport)
    if username is not None:
        account.username = username
    if ward_id is not None:
        account.ward_id = ward_id
    session.add(account)
    await session.flush()
    return account


async def bot_for_area(
    *, session: AsyncSession, area: Area, transport: str = "telegram"
) -> BotAccount | None:
    """The bot a group of this area registers with: its ward's bot, else a city-wide one
    (of `transport`: a ward may have a Telegram bot and a Zalo bot)."""
    rows = await session.execute(
        select(BotAccount, col(Area.path))
        .outerjoin(Area, col(Area.id) == col(BotAccount.ward_id))
        .where(col(BotAccount.transport) == transport)
        .order_by(col(BotAccount.id))
    )
    city: BotAccount | None = None
    for bot, ward_path in rows:
        if ward_path is not None and area.path.startswith(ward_path):
            return bot
        if bot.ward_id is None and city is None:
            city = bot
    return city


async def get_channel(*, session: AsyncSession, channel_id: int, within: Tenant = CITY) -> Channel:
    """The channel; one whose area lies outside `within` is not found."""
    channel = await session.get(Channel, channel_id)
    if channel is None or not within.covers_area_id(channel.area_id):
        raise NotFound(f"channel {channel_id} does not exist", channel_id=channel_id)
    return channel


async def _by_chat(session: AsyncSession, bot_id: int, chat_ref: str) -> Channel | None:
    return await session.scalar(
        select(Channel).where(col(Channel.bot_id) == bot_id, col(Channel.chat_ref) == chat_ref)
    )


async def register_channel(
    *,
    session: AsyncSession,
    code: str,
    bot_id: int,
    chat_ref: str,
    title: str,
    topic_ref: str | None = None,
    transport: str = "telegram",
    actor: str = "",
    leader_ref: str | None = None,
    leader_name: str = "",
) -> Channel:
    """Redeem a channel code for this chat; a known chat moves to the code's area.

    The person who sent the code (`leader_ref`, their user id on the transport) becomes
    the group's leader: their «Đã nhận» counts as the tổ trưởng's. A registration by
    someone else (another administrator, with a new code) makes them the leader.

    A code outside the bot's ward is refused (`CodeRejected`, reason other_ward) and
    stays unused. The registration is audited, naming `actor` (who sent the code).

    `topic_ref` is the forum topic the code was sent from (None: the main thread); the
    latest registration decides where notices go.
    """
    bot = await session.get(BotAccount, bot_id)
    if bot is None:
        raise NotFound(f"bot account {bot_id} does not exist", bot_id=bot_id)
    invite = await redeem_invite(
        session=session,
        code=code,
        kind=InviteKind.channel,
        used_by=f"{transport}:{chat_ref}",
        within_ward_id=bot.ward_id,
    )
    area = await session.get(Area, invite.area_id)
    assert area is not None  # invite.area_id is a foreign key
    now = utcnow()
    channel = await _by_chat(session, bot_id, chat_ref)
    before = channel.area_id if channel is not None else None
    if channel is None:
        channel = Channel(
            area_id=invite.area_id,
            bot_id=bot_id,
            chat_ref=chat_ref,
            transport=transport,
            created_at=now,
        )
    channel.area_id = invite.area_id
    channel.topic_ref = topic_ref
    channel.title = title[:255]
    channel.active = True
    channel.inactive_reason = None
    channel.updated_at = now
    if leader_ref is not None:
        channel.leader_ref = leader_ref[:64]
        channel.leader_name = leader_name.strip()[:200]
    session.add(channel)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor or f"{transport}:{chat_ref}",
        action="channel.register",
        subject=f"channel:{channel.id}",
        chat_ref=chat_ref,
        area=area.code,
        bot_id=bot_id,
        previous_area_id=before,
        leader_ref=channel.leader_ref,
    )
    return channel


async def registered_channel(
    *, session: AsyncSession, bot_id: int, chat_ref: str
) -> tuple[Channel, Area] | None:
    """The chat's registration with this bot (active or not), and its area; None if the
    chat was never registered."""
    channel = await _by_chat(session, bot_id, chat_ref)
    if channel is None:
        return None
    area = await session.get(Area, channel.area_id)
    assert area is not None
    return channel, area


def _deactivate(channel: Channel, reason: str) -> None:
    channel.active = False
    channel.inactive_reason = reason[:500]
    channel.updated_at = utcnow()


async def deactivate_channel(*, session: AsyncSession, channel_id: int, reason: str) -> Channel:
    """Stop sending to this chat; the reason is shown to admins."""
    channel = await get_channel(session=session, channel_id=channel_id)
    _deactivate(channel, reason)
    session.add(channel)
    await session.flush()
    return channel


async def deactivate_channel_by_chat(
    *, session: AsyncSession, bot_id: int, chat_ref: str, reason: str
) -> Channel | None:
    """Like `deactivate_channel`, for a chat the transport reports; None if unknown."""
    channel = await _by_chat(session, bot_id, chat_ref)
    if channel is None:
        return None
    _deactivate(channel, reason)
    session.add(channel)
    await session.flush()
    return channel


async def reactivate_channel(*, session: AsyncSession, channel_id: int) -> Channel:
    """Send to this chat again, for example after the bot was given back its rights."""
    channel = await get_channel(session=session, channel_id=channel_id)
    channel.active = True
    channel.inactive_reason = None
    channel.updated_at = utcnow()
    session.add(channel)
    await session.flush()
    return channel


async def move_channel_chat(
    *, session: AsyncSession, channel_id: int, new_chat_ref: str, now: datetime | None = None
) -> Channel:
    """The chat got a new id (a Telegram group became a supergroup): keep area and settings.

    This is the one migration rule; the delivery engine applies it when a send answers
    with the chat's new id. If the new chat id is already registered as another channel,
    that channel is the one to keep sending to; this one is deactivated (its old chat no
    longer exists) and the other one returned.
    """
    channel = await get_channel(session=session, channel_id=channel_id)
    if channel.chat_ref == new_chat_ref:
        return channel
    other = await _by_chat(session, channel.bot_id, new_chat_ref)
    if other is not None:
        _deactivate(channel, f"moved to chat {new_chat_ref}, registered as channel {other.id}")
        session.add(channel)
        await session.flush()
        return other
    channel.chat_ref = new_chat_ref
    channel.updated_at = now or utcnow()
    session.add(channel)
    await session.flush()
    return channel


async def set_channel_locale(*, session: AsyncSession, channel_id: int, locale: str) -> Channel:
    """The language the chat reads; notices go out in it when a rendition exists."""
    locale = locale.strip()
    if not LOCALE_PATTERN.match(locale):
        raise InvalidInput(
            f"locale '{locale}' is not a language code like 'vi' or 'en'", field="locale"
        )
    channel = await get_channel(session=session, channel_id=channel_id)
    channel.locale = locale
    channel.updated_at = utcnow()
    session.add(channel)
    await session.flush()
    return channel


async def list_channels(
    *,
    session: AsyncSession,
    area_code: str | None = None,
    active: bool | None = None,
    offset: int = 0,
    limit: int = 100,
    within: Tenant = CITY,
) -> tuple[list[tuple[Channel, Area]], int]:
    """Channels with their area, in tree order; `area_code` includes the whole subtree."""
    query = (
        select(Channel, Area)
        .join(Area, col(Area.id) == col(Channel.area_id))
        .where(within.area_condition())
    )
    if area_code:
        root = await get_area_by_code(session=session, code=area_code, within=within)
        query = query.where(subtree_condition(root.path))
    if active is not None:
        query = query.where(col(Channel.active) == active)
    total = await session.scalar(
        select(func.count()).select_from(query.with_only_columns(col(Channel.id)).subquery())
    )
    rows = await session.execute(
        query.order_by(col(Area.path), col(Channel.id)).offset(offset).limit(limit)
    )
    return [(c, a) for c, a in rows], total or 0


async def channels_for_areas(
    *, session: AsyncSession, area_ids: list[int], active_only: bool = True
) -> list[Channel]:
    """Every channel in the subtrees of `area_ids` (each once), ordered by id."""
    paths = await subtree_paths(session=session, area_ids=area_ids)
    if not paths:
        return []
    query = (
        select(Channel)
        .join(Area, col(Area.id) == col(Channel.area_id))
        .where(or_(*(subtree_condition(p) for p in paths)))
        .order_by(col(Channel.id))
    )
    if active_only:
        query = query.where(col(Channel.active))
    return list(await session.scalars(query))


async def note_refused_registration(
    *,
    session: AsyncSession,
    chat_ref: str,
    title: str,
    reason: str,
    transport: str = "telegram",
    actor: str | None = None,
    action: str = "channel.refused",
) -> None:
    """A group tried to register but may not (the bot may not post there; a member who
    is not an administrator tried to move a registered group): nothing is registered and
    the code stays unused; the audit log keeps it for the admins."""
    await audit.record(
        session=session,
        actor=actor or f"{transport}:{chat_ref}",
        action=action,
        subject=f"chat:{chat_ref}",
        title=title,
        reason=reason,
    )
