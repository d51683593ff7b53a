"""The dashboard's ward figures: acknowledgement rate and median time per khu phố, groups
that keep failing or never acknowledge, over the window only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.dashboard import notice_view, ward_view
from broadcasts.db import session_scope
from broadcasts.failures import FailureKind
from broadcasts.models import DeliveryStatus, utcnow
from broadcasts.tenancy import tenant_for_ward
from tests.api.factories import add_ack, add_bot, add_channels, add_notice, seed_tree

SENT, FAILED = DeliveryStatus.sent, DeliveryStatus.failed


async def test_ward_figures_over_the_window(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    now = utcnow()
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        bot = await add_bot(session)
        t1, t2, kp2 = await add_channels(
            session, bot, [areas["BT-KP1-T1"], areas["BT-KP1-T2"], areas["BT-KP2"]]
        )
        for minutes, age in ((10, 3), (30, 2)):  # two notices: tổ 1 answers, tổ 2 never
            notice, (d1, _d2, _d3) = await add_notice(
                session, areas["BT"], [t1, t2, kp2], [SENT, SENT, FAILED]
            )
            notice.created_at = now - timedelta(days=age)
            ack = await add_ack(session, d1, f"lan{age}")
            ack.created_at = (d1.sent_at or now) + timedelta(minutes=minutes)
        old, (old_d,) = await add_notice(session, areas["BT"], [kp2], [SENT])
        old.created_at = now - timedelta(days=40)  # outside the window: not counted
        await add_ack(session, old_d, "old")
        (gone,) = await add_channels(session, bot, [areas["BT-KP10"]], active=False)
        gone.inactive_reason = "channel inactive: bot removed from the group by 42"
        ward_id = areas["BT"].id

    async with session_scope(sessionmaker) as session:
        tenant = await tenant_for_ward(session=session, ward_id=ward_id)
        view = await ward_view(session=session, within=tenant, now=now)
    assert len(view.notices) == 2
    (kp1,) = view.areas  # khu phố 2 had failures only: nothing sent to rate
    assert (kp1.area_code, kp1.sent, kp1.acknowledged) == ("BT-KP1", 4, 2)
    assert kp1.median_seconds == 20 * 60
    assert [(g.title, g.failed) for g in view.failing] == [("Nhóm Khu phố 2", 2)]
    assert view.failing[0].last_failure is not None
    assert view.failing[0].last_failure.kind is FailureKind.removed
    assert [(g.title, g.sent) for g in view.never_acknowledging] == [("Nhóm Tổ dân phố 2", 2)]
    (inactive,) = view.inactive
    assert inactive.title == "Nhóm Khu phố 10" and inactive.failure.kind is FailureKind.removed


async def test_notice_funnel_adds_up(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        bot = await add_bot(session)
        channels = await add_channels(
            session, bot, [areas[c] for c in ("BT-KP1", "BT-KP1-T1", "BT-KP2", "BT-KP10")]
        )
        channels[3].transport = "zalo"
        notice, deliveries = await add_notice(
            session, areas["BT"], channels, [SENT, SENT, FAILED, DeliveryStatus.pending]
        )
        await add_ack(session, deliveries[1], "lan")
        notice_id = notice.id or 0
    async with session_scope(sessionmaker) as session:
        view = await notice_view(session=session, notice_id=notice_id)
    f = view.funnel
    assert (f.targeted, f.sent, f.failed, f.waiting, f.acknowledged) == (4, 2, 1, 1, 1)
    assert view.to_remind == 1
    assert [(line.failure.kind, line.groups) for line in view.failures] == [
        (FailureKind.removed, ["Nhóm Khu phố 2"])
    ]
    assert [(t.transport, t.targeted, t.sent) for t in view.transports] == [
        ("telegram", 3, 2),
        ("zalo", 1, 0),
    ]
    assert len(view.ack_times) == 1
