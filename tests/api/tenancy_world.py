"""Two wards in one city, with a row of every kind in each, and keys for each.

Bến Thành (BT) is the caller's ward; Thạnh Đông (TD) is the other ward. Every row of TD
carries a marker a response can be searched for (its codes start with "TD", its names
say "Thạnh Đông"), so a test can tell foreign data from its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from broadcasts import audit
from broadcasts.apikeys import create_api_key
from broadcasts.db import session_scope
from broadcasts.models import (
    Acknowledgement,
    ApiKey,
    Area,
    BotAccount,
    DeliveryStatus,
    NoticeStatus,
    Official,
    Rendition,
)
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree

FOREIGN_MARKERS = ("Thạnh Đông", '"TD"', "TD-A1", "/TD/", "td-secret-person")


@dataclass(frozen=True)
class Side:
    """One ward's ids and codes."""

    ward_id: int
    ward_code: str
    area_code: str  # an area below the ward
    channel_id: int
    official_id: int
    notice_id: int  # scheduled: cancellable, with a Vietnamese rendition
    sent_notice_id: int  # going out, one delivery sent and acknowledged
    key_id: int  # an admin key of this ward


@dataclass(frozen=True)
class World:
    own: Side  # BT
    other: Side  # TD
    bot_id: int
    other_bot_id: int  # a bot of TD's own
    city_key_id: int
    ward_admin: str  # plaintext keys
    ward_reports: str
    other_admin: str
    city_reports: str


async def _side(session: AsyncSession, areas: dict[str, Area], ward: str, area: str) -> Side:
    label = "Thạnh Đông" if ward == "TD" else "Bến Thành"
    (channel,) = await add_channels(session, await _bot(session), [areas[area]])
    channel.title = f"Nhóm {label}"
    official = Official(
        user_ref=f"{ward.lower()}-official",
        name=f"Cán bộ {label}",
        ward_id=areas[ward].id or 0,
    )
    session.add_all([channel, official])
    await session.flush()
    scheduled, _ = await add_notice(
        session, areas[ward], [channel], [DeliveryStatus.pending], status=NoticeStatus.scheduled
    )
    scheduled.title = f"Thông báo {label}"
    session.add(Rendition(notice_id=scheduled.id or 0, locale="vi", text=f"Cúp nước {label}."))
    sent, (delivery,) = await add_notice(
        session, areas[ward], [channel], [DeliveryStatus.sent], targets=[areas[area]]
    )
    sent.title = f"Đã gửi {label}"
    person = "td-secret-person" if ward == "TD" else "bt-person"
    session.add(
        Acknowledgement(
            notice_id=sent.id or 0,
            channel_id=channel.id or 0,
            delivery_id=delivery.id,
            person_ref=person,
            person_name=f"Cư dân {label}",
        )
    )
    key, _ = await create_api_key(
        session=session, name=f"khóa {label}", scopes=["admin"], ward_id=areas[ward].id
    )
    await audit.record(
        session=session,
        actor="test",
        action="area.update",
        subject=f"area:{area}",
        ward_id=areas[ward].id,
        name=label,
    )
    await session.flush()
    return Side(
        ward_id=areas[ward].id or 0,
        ward_code=ward,
        area_code=area,
        channel_id=channel.id or 0,
        official_id=official.id or 0,
        notice_id=scheduled.id or 0,
        sent_notice_id=sent.id or 0,
        key_id=key.id or 0,
    )


async def _bot(session: AsyncSession) -> BotAccount:
    bot = await session.scalar(select(BotAccount))
    return bot if bot is not None else await add_bot(session)


async def build_world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    """Seed both wards; the city's bootstrap key (conftest's ADMIN_KEY) exists already."""
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        own = await _side(session, areas, "BT", "BT-KP1")
        other = await _side(session, areas, "TD", "TD-A1")
        bot = await session.scalar(select(BotAccount))
        assert bot is not None
        td_bot = BotAccount(token="701:td-bot", username="loa_td_bot", ward_id=other.ward_id)
        session.add(td_bot)
        await session.flush()
        _, ward_admin = await create_api_key(
            session=session, name="bt admin", scopes=["admin"], ward_id=own.ward_id
        )
        _, ward_reports = await create_api_key(
            session=session, name="bt reports", scopes=["reports"], ward_id=own.ward_id
        )
        _, other_admin = await create_api_key(
            session=session, name="khóa 2 Thạnh Đông", scopes=["admin"], ward_id=other.ward_id
        )
        _, city_reports = await create_api_key(
            session=session, name="city reports", scopes=["reports"]
        )
        city = await session.scalar(select(ApiKey).where(ApiKey.bootstrap))
        assert city is not None
        return World(
            own=own,
            other=other,
            bot_id=bot.id or 0,
            other_bot_id=td_bot.id or 0,
            city_key_id=city.id or 0,
            ward_admin=ward_admin,
            ward_reports=ward_reports,
            other_admin=other_admin,
            city_reports=city_reports,
        )


async def snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    """Every row of every table, as text: equal snapshots mean nothing changed."""
    tables: dict[str, list[str]] = {}
    async with sessionmaker() as session:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    return tables


def foreign_markers_in(text: str) -> list[str]:
    return [m for m in FOREIGN_MARKERS if m in text]
