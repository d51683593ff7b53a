"""Đã nhận presses written many to a transaction: each person counts once, whatever the
batch holds, and a press the database did not take is never reported as recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.ack_batch import PressBatch
from broadcasts.acks import PressIn, PressVerdict, record_button_presses
from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.models import Acknowledgement, AuditEvent, Delivery, DeliveryStatus
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree


async def _two_groups(session: AsyncSession) -> tuple[list[Delivery], list[str], int]:
    """Two groups that got the notice (the button on message 7 in each)."""
    areas = await seed_tree(session)
    bot = await add_bot(session)
    channels = await add_channels(session, bot, [areas["BT-KP1"], areas["BT-KP2"]])
    _, deliveries = await add_notice(
        session, areas["BT"], channels, [DeliveryStatus.sent, DeliveryStatus.sent]
    )
    for delivery in deliveries:
        delivery.provider_message_ref = "7"
    session.add_all(deliveries)
    await session.flush()
    return deliveries, [c.chat_ref for c in channels], bot.id or 0


def _press(delivery: Delivery, chat: str, bot_id: int, person: str, message: str = "7") -> PressIn:
    return PressIn(delivery.id or 0, bot_id, chat, message, person, f"Hộ {person}")


async def test_a_batch_with_repeats_counts_each_person_once(session: AsyncSession) -> None:
    (d1, d2), (chat1, chat2), bot_id = await _two_groups(session)
    # Lan pressed before this batch; in the batch she presses again, Minh twice, and a
    # forged press (group 1's data, in group 2) comes along.
    [earlier] = await record_button_presses(
        session=session, presses=[_press(d1, chat1, bot_id, "11")]
    )
    assert earlier.verdict is PressVerdict.recorded
    batch = [
        _press(d1, chat1, bot_id, "12"),  # Minh
        _press(d1, chat1, bot_id, "11"),  # Lan again
        _press(d1, chat1, bot_id, "12"),  # Minh again, in the same batch
        _press(d2, chat2, bot_id, "12"),  # Minh in the other group: counts there
        _press(d1, chat2, bot_id, "13"),  # forged
        _press(d1, chat1, bot_id, "14", message="6"),  # not the button's message
    ]
    verdicts = await record_button_presses(session=session, presses=batch)
    assert [v.verdict.value for v in verdicts] == [
        "recorded",
        "repeated",
        "repeated",
        "recorded",
        "refused",
        "refused",
    ]
    assert [v.notice_id for v in verdicts[:4]] == [d1.notice_id] * 4
    assert [v.shown_delivery_id for v in verdicts[:4]] == [d1.id, d1.id, d1.id, d2.id]
    rows = (
        await session.execute(
            select(col(Acknowledgement.channel_id), col(Acknowledgement.person_ref)).order_by(
                col(Acknowledgement.id)
            )
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        (d1.channel_id, "11"),
        (d1.channel_id, "12"),
        (d2.channel_id, "12"),
    ]
    actions = list(await session.scalars(select(col(AuditEvent.action))))
    assert sorted(actions) == ["ack.button"] * 3 + ["ack.refused"] * 2


async def test_concurrent_presses_share_one_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(sessionmaker) as session:
        (d1, d2), (chat1, chat2), bot_id = await _two_groups(session)
    batch = PressBatch(sessionmaker)
    presses = [_press(d1, chat1, bot_id, str(100 + i % 30)) for i in range(60)]
    presses += [_press(d2, chat2, bot_id, str(100 + i)) for i in range(20)]
    verdicts = await asyncio.gather(*(batch.record(p) for p in presses))
    # Every press was queued before the writer ran: one transaction for all of them.
    assert batch.batches == 1
    counted = [v.verdict for v in verdicts]
    assert counted.count(PressVerdict.recorded) == 50
    assert counted.count(PressVerdict.repeated) == 30
    # The first press of each person is the one reported as recorded.
    assert all(v.verdict is PressVerdict.recorded for v in verdicts[:30])
    await batch.close()
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Acknowledgement)) == 50
    # Later presses make batches of their own; repeats still count once.
    again = await batch.record(_press(d2, chat2, bot_id, "100"))
    assert again.verdict is PressVerdict.repeated and batch.batches == 2


async def test_a_press_during_a_database_outage_is_not_recorded(tmp_path: Path) -> None:
    # A database that cannot be opened (its directory does not exist): every write fails.
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'loa.db'}")
    batch = PressBatch(make_sessionmaker(engine))
    press = PressIn(1, 1, "-1001", "7", "11", "Lan")
    try:
        results = await asyncio.gather(
            batch.record(press), batch.record(press), return_exceptions=True
        )
        assert all(isinstance(r, OperationalError) for r in results), results
        assert batch.batches == 0
        with pytest.raises(OperationalError):  # and the next press learns it too
            await batch.record(press)
    finally:
        await batch.close()
        await engine.dispose()
