"""Rows for tests, made directly with the models (or the domain calls that own them)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.area_import import import_areas_csv
from broadcasts.models import (
    Acknowledgement,
    Area,
    BotAccount,
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    NoticeTarget,
    utcnow,
)

TREE_CSV = """\
code,name,level,parent_code,kind
HCM,Thành phố Hồ Chí Minh,city,,thành phố
BT,Phường Bến Thành,ward,HCM,phường
BT-KP1,Khu phố 1,neighbourhood,BT,khu phố
BT-KP1-T1,Tổ dân phố 1,group,BT-KP1,tổ dân phố
BT-KP1-T2,Tổ dân phố 2,group,BT-KP1,tổ dân phố
BT-KP2,Khu phố 2,neighbourhood,BT,khu phố
BT-KP10,Khu phố 10,neighbourhood,BT,khu phố
TD,Xã Thạnh Đông,ward,HCM,xã
TD-A1,Ấp 1,neighbourhood,TD,ấp
"""
_chat_ids = itertools.count(1)


async def seed_tree(session: AsyncSession) -> dict[str, Area]:
    await import_areas_csv(session=session, ward_code=None, data=TREE_CSV)
    return {a.code: a for a in await session.scalars(select(Area))}


async def add_bot(session: AsyncSession, token: str = "700:test") -> BotAccount:
    bot = BotAccount(token=token, username="loa_test_bot")
    session.add(bot)
    await session.flush()
    return bot


async def add_channels(
    session: AsyncSession, bot: BotAccount, areas: Sequence[Area], *, active: bool = True
) -> list[Channel]:
    channels = [
        Channel(
            area_id=a.id or 0,
            bot_id=bot.id or 0,
            chat_ref=f"-100{next(_chat_ids)}",
            title=f"Nhóm {a.name}",
            active=active,
        )
        for a in areas
    ]
    session.add_all(channels)
    await session.flush()
    return channels


async def add_notice(
    session: AsyncSession,
    ward: Area,
    channels: Sequence[Channel],
    statuses: Sequence[DeliveryStatus],
    *,
    targets: Sequence[Area] = (),
    status: NoticeStatus = NoticeStatus.dispatching,
) -> tuple[Notice, list[Delivery]]:
    notice = Notice(
        ward_id=ward.id or 0, title="Cúp điện", text="Thông báo cúp điện ngày 12/3.", status=status
    )
    session.add(notice)
    await session.flush()
    session.add_all(NoticeTarget(notice_id=notice.id or 0, area_id=a.id or 0) for a in targets)
    deliveries = [
        Delivery(
            notice_id=notice.id or 0,
            channel_id=c.id or 0,
            bot_id=c.bot_id,
            status=s,
            attempts=1 if s != DeliveryStatus.pending else 0,
            sent_at=utcnow() if s == DeliveryStatus.sent else None,
            error="Forbidden: bot was kicked" if s == DeliveryStatus.failed else None,
        )
        for c, s in zip(channels, statuses, strict=True)
    ]
    session.add_all(deliveries)
    await session.flush()
    return notice, deliveries


async def add_ack(session: AsyncSession, delivery: Delivery, person: str) -> Acknowledgement:
    ack = Acknowledgement(
        notice_id=delivery.notice_id,
        channel_id=delivery.channel_id,
        delivery_id=delivery.id,
        person_ref=person,
        person_name=person.title(),
    )
    session.add(ack)
    await session.flush()
    return ack
