"""The reminder follow-up through the engine: a reply to the notice with the button, to
silent groups only, retried like the notice itself after a server error."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.acks import record_ack
from broadcasts.db import session_scope
from broadcasts.models import Delivery, DeliveryKind, DeliveryStatus
from broadcasts.reminders import remind_silent
from sandbox.telegram.client import SandboxClient
from tests.broadcasts.delivery.conftest import WorkerFactory, make_groups, new_token, sqlite_only
from tests.broadcasts.delivery.world import seed


@sqlite_only
async def test_reminders_reply_to_the_notice_and_are_retried_after_a_5xx(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 3)
    seeded = await seed(sessionmaker, groups={token: chats})
    assert await make_worker().run_until_idle()
    acked = seeded.channel_of(token, chats[0])
    async with session_scope(sessionmaker) as session:
        (notice_delivery,) = await session.scalars(
            select(Delivery).where(Delivery.channel_id == acked)  # type: ignore[arg-type]
        )
        await record_ack(
            session=session, delivery_id=notice_delivery.id or 0, person_ref="9", person_name="Ba"
        )
        assert await remind_silent(session=session, notice_id=seeded.notice_id) == 2
    await tg.add_fault("5xx", token=token, chat_id=chats[1], status=502, times=1)
    assert await make_worker(max_attempts=3).run_until_idle()

    async with sessionmaker() as session:
        reminders = {
            d.channel_id: d
            for d in await session.scalars(
                select(Delivery).where(Delivery.kind == DeliveryKind.reminder)  # type: ignore[arg-type]
            )
        }
    assert set(reminders) == {seeded.channel_of(token, c) for c in chats[1:]}
    assert {d.status for d in reminders.values()} == {DeliveryStatus.sent}
    assert reminders[seeded.channel_of(token, chats[1])].attempts == 2  # the 502, then sent
    assert len(await tg.messages(token, chats[0])) == 1  # acknowledged: no reminder
    for chat in chats[1:]:
        notice, reminder = await tg.messages(token, chat)
        assert reminder["reply_to_message_id"] == notice["message_id"]
        assert reminder["text"].startswith("🔔 Nhắc lại: Thông báo #")
        (button,) = reminder["reply_markup"]["inline_keyboard"][0]
        delivery = reminders[seeded.channel_of(token, chat)]
        assert button["callback_data"].endswith(str(delivery.id))
        assert delivery.provider_message_ref == str(reminder["message_id"])
    assert (await tg.stats(token))["duplicates"] == 0
