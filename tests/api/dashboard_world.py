"""A ward for the dashboard tests: Bến Thành with five groups and a sent notice, and a
second ward (Thạnh Đông) with its own official and notice, over a fresh database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.models import Channel, DeliveryStatus, Official, utcnow
from tests.api.factories import add_ack, add_bot, add_channels, add_notice, seed_tree

SESSION_SECRET = "dashboard-test-secret-0123456789abcdef"


@dataclass
class DashWorld:
    notice_id: int
    other_notice_id: int
    official_id: int
    other_official_id: int
    ward_id: int


async def build_dash_world(sessionmaker: async_sessionmaker[AsyncSession]) -> DashWorld:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        bot = await add_bot(session)
        codes = ["BT-KP1", "BT-KP1-T1", "BT-KP1-T2", "BT-KP2", "BT-KP10"]
        channels = await add_channels(session, bot, [areas[c] for c in codes])
        channels[0].transport = "zalo"
        notice, deliveries = await add_notice(
            session,
            areas["BT"],
            channels,
            [DeliveryStatus.sent] * 3 + [DeliveryStatus.failed, DeliveryStatus.sent],
            targets=[areas["BT"]],
        )
        notice.title = "Cúp điện ngày 12/3"
        sent = utcnow() - timedelta(hours=2)
        for d in deliveries:
            if d.sent_at is not None:
                d.sent_at = sent
        first = await add_ack(session, deliveries[0], "lan")
        first.created_at = sent + timedelta(minutes=10)
        first.by_leader = True
        second = await add_ack(session, deliveries[1], "chin")
        second.created_at = sent + timedelta(minutes=40)
        gone: Channel = (await add_channels(session, bot, [areas["BT-KP2"]], active=False))[0]
        gone.inactive_reason = "forbidden: bot was kicked from the group chat"
        official = Official(user_ref="9001", name="Trần Hùng", ward_id=areas["BT"].id or 0)
        other = Official(user_ref="9002", name="Lê Mai", ward_id=areas["TD"].id or 0)
        session.add_all([official, other])
        other_channels = await add_channels(session, bot, [areas["TD-A1"]])
        other_notice, _ = await add_notice(
            session, areas["TD"], other_channels, [DeliveryStatus.sent]
        )
        other_notice.title = "Thông báo riêng của xã Thạnh Đông"
        await session.flush()
        return DashWorld(
            notice_id=notice.id or 0,
            other_notice_id=other_notice.id or 0,
            official_id=official.id or 0,
            other_official_id=other.id or 0,
            ward_id=areas["BT"].id or 0,
        )
