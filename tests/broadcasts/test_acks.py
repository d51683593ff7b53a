"""Acknowledgements count once per person, even when two presses race."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.acks import (
    PressVerdict,
    ack_count,
    record_ack,
    record_ack_for_channel,
    record_button_press,
)
from broadcasts.db import session_scope
from broadcasts.errors import InvalidInput, NotFound
from broadcasts.models import Acknowledgement, AuditEvent, DeliveryStatus
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree


async def test_pressing_twice_counts_once(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    channels = await add_channels(
        session, await add_bot(session), [areas["BT-KP1"], areas["BT-KP2"]]
    )
    notice, (d1, d2) = await add_notice(
        session, areas["BT"], channels, [DeliveryStatus.sent, DeliveryStatus.sent]
    )
    first, created = await record_ack(
        session=session, delivery_id=d1.id or 0, person_ref="11", person_name="Lan"
    )
    again, created_again = await record_ack(
        session=session, delivery_id=d1.id or 0, person_ref="11", person_name="Lan"
    )
    assert created and not created_again and again.id == first.id
    # Another person, and the same person in another group, count.
    await record_ack(session=session, delivery_id=d1.id or 0, person_ref="12", person_name="Hà")
    await record_ack(session=session, delivery_id=d2.id or 0, person_ref="11", person_name="Lan")
    assert await ack_count(session=session, notice_id=notice.id or 0) == 3
    assert (
        await ack_count(session=session, notice_id=notice.id or 0, channel_id=channels[0].id) == 2
    )
    with pytest.raises(NotFound):
        await record_ack(session=session, delivery_id=999_999, person_ref="1", person_name="")


async def test_api_acks_need_a_delivery(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    one, two = await add_channels(
        session, await add_bot(session), [areas["BT-KP1"], areas["BT-KP2"]]
    )
    notice, _ = await add_notice(session, areas["BT"], [one], [DeliveryStatus.sent])
    ack, created = await record_ack_for_channel(
        session=session,
        notice_id=notice.id or 0,
        channel_id=one.id or 0,
        person_ref="p1",
        person_name="Tư",
    )
    assert created and ack.method == "api"
    with pytest.raises(InvalidInput, match="no delivery"):
        await record_ack_for_channel(
            session=session,
            notice_id=notice.id or 0,
            channel_id=two.id or 0,
            person_ref="p1",
            person_name="",
        )
    with pytest.raises(InvalidInput, match="does not exist"):
        await record_ack_for_channel(
            session=session,
            notice_id=999_999,
            channel_id=one.id or 0,
            person_ref="p1",
            person_name="",
        )


async def test_two_presses_racing_count_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        channels = await add_channels(session, await add_bot(session), [areas["BT-KP1"]])
        _, [delivery] = await add_notice(session, areas["BT"], channels, [DeliveryStatus.sent])
    start = asyncio.Event()

    async def press() -> bool:
        async with session_scope(sessionmaker) as session:
            await start.wait()
            _, created = await record_ack(
                session=session, delivery_id=delivery.id or 0, person_ref="77", person_name="Bảy"
            )
            await asyncio.sleep(0.05)  # hold the transaction open while the other one inserts
            return created

    tasks = [asyncio.create_task(press()) for _ in range(2)]
    await asyncio.sleep(0.01)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sorted(results) == [False, True]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Acknowledgement)) == 1


async def test_a_button_press_counts_only_on_its_own_message(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    bot = await add_bot(session)
    channels = await add_channels(session, bot, [areas["BT-KP1"], areas["BT-KP2"]])
    _, (d1, d2) = await add_notice(
        session, areas["BT"], channels, [DeliveryStatus.sent, DeliveryStatus.sent]
    )
    d1.provider_message_ref = "41,42"  # a text in two parts: the button is on 42
    d2.provider_message_ref = "7"
    session.add_all([d1, d2])
    await session.flush()
    chat1, chat2 = channels[0].chat_ref, channels[1].chat_ref

    async def press(delivery_id: int, chat: str, message: str, bot_id: int = bot.id or 0) -> str:
        result = await record_button_press(
            session=session,
            delivery_id=delivery_id,
            bot_id=bot_id,
            chat_ref=chat,
            message_ref=message,
            person_ref="11",
            person_name="Lan",
        )
        return result.verdict.value

    assert await press(d1.id or 0, chat2, "7") == "refused"  # another group's data
    assert await press(d1.id or 0, chat1, "41") == "refused"  # the first part has no button
    assert await press(d1.id or 0, chat1, "42", bot_id=999) == "refused"  # another bot
    assert await press(999_999, chat1, "42") == "refused"  # no such delivery
    assert await ack_count(session=session, notice_id=d1.notice_id) == 0
    assert await press(d1.id or 0, chat1, "42") == "recorded"
    assert await press(d1.id or 0, chat1, "42") == "repeated"
    assert await ack_count(session=session, notice_id=d1.notice_id) == 1
    refused = list(
        await session.scalars(select(AuditEvent).where(col(AuditEvent.action) == "ack.refused"))
    )
    assert len(refused) == 4 and "pressed in chat" in refused[0].detail["reason"]


async def test_a_press_on_a_delivery_not_sent_is_not_counted(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    bot = await add_bot(session)
    channels = await add_channels(session, bot, [areas["BT-KP1"], areas["BT-KP2"]])
    _, (failed, sending) = await add_notice(
        session, areas["BT"], channels, [DeliveryStatus.failed, DeliveryStatus.sending]
    )
    for delivery, chat in ((failed, channels[0].chat_ref), (sending, channels[1].chat_ref)):
        result = await record_button_press(
            session=session,
            delivery_id=delivery.id or 0,
            bot_id=bot.id or 0,
            chat_ref=chat,
            message_ref="1",
            person_ref="11",
            person_name="Lan",
        )
        # A failed delivery never counts; one still being recorded asks to press again.
        expected = "refused" if delivery is failed else "early"
        assert result.verdict.value == expected
    assert not await session.scalar(select(func.count()).select_from(Acknowledgement))


def _acks_counted(method: str) -> float:
    return REGISTRY.get_sample_value("loa_acknowledgements_total", {"method": method}) or 0.0


async def test_an_acknowledgement_is_counted_only_once_its_transaction_commits(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        channels = await add_channels(session, await add_bot(session), [areas["BT-KP1"]])
        _, [delivery] = await add_notice(session, areas["BT"], channels, [DeliveryStatus.sent])
        delivery.provider_message_ref = "7"  # the message with the button
        session.add(delivery)
        bot_id, chat_ref = channels[0].bot_id, channels[0].chat_ref
    before = {m: _acks_counted(m) for m in ("link", "button")}

    async def acknowledge(session: AsyncSession) -> None:
        await record_ack(
            session=session,
            delivery_id=delivery.id or 0,
            person_ref="21",
            person_name="Lan",
            method="link",
        )
        verdict = await record_button_press(
            session=session,
            delivery_id=delivery.id or 0,
            bot_id=bot_id,
            chat_ref=chat_ref,
            message_ref="7",
            person_ref="22",
            person_name="Hà",
        )
        assert verdict.verdict is PressVerdict.recorded

    # The write fails after the rows went in (here: the caller's next step raises), so
    # the transaction is rolled back: nothing was recorded, nothing is counted.
    with pytest.raises(RuntimeError):
        async with session_scope(sessionmaker) as session:
            await acknowledge(session)
            raise RuntimeError("the request failed before its commit")
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Acknowledgement)) == 0
    assert {m: _acks_counted(m) for m in before} == before
    async with session_scope(sessionmaker) as session:
        await acknowledge(session)
    assert {m: _acks_counted(m) - before[m] for m in before} == {"link": 1.0, "button": 1.0}
