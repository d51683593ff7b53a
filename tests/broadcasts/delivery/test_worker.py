"""The worker end to end against the sandbox: every channel gets its notice exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.errors import TemporaryFailure
from broadcasts.message import render_group_message
from broadcasts.models import Channel, Delivery, DeliveryStatus, Notice, NoticeStatus, utcnow
from broadcasts.notices import notice_progress
from broadcasts.transports.base import OutgoingMessage, SentMessage, Transport, TransportRegistry
from broadcasts.transports.registry import Account, AccountTransports, TransportOptions
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES, parse_ack_data
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.broadcasts.delivery.conftest import (
    HANG_GUARD_SECONDS,
    WorkerFactory,
    make_groups,
    new_token,
    sqlite_only,
)
from tests.broadcasts.delivery.world import Seeded, second_notice, seed


async def test_every_channel_gets_the_notice_once(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 12)
    seeded = await seed(sessionmaker, groups={token: chats})
    changed: list[set[int]] = []

    async def on_progress(ids: set[int]) -> None:
        changed.append(ids)

    worker = make_worker(on_progress=on_progress)
    assert await worker.run_until_idle()

    for chat in chats:
        messages = await tg.messages(token, chat)
        assert len(messages) == 1
        message = messages[0]
        assert message["parse_mode"] == "HTML"
        assert "\nThông báo: cúp điện" in message["plain_text"]
        button = message["reply_markup"]["inline_keyboard"][0][0]
        assert button["text"] == "✅ Đã nhận"
        assert parse_ack_data(button["callback_data"]) in seeded.deliveries
    stats = await tg.stats(token)
    assert stats["sent"] == 12 and stats["duplicates"] == 0

    async with sessionmaker() as session:
        rows = (
            await session.scalars(
                select(Delivery).where(col(Delivery.notice_id) == seeded.notice_id)
            )
        ).all()
        assert {r.status for r in rows} == {DeliveryStatus.sent}
        assert all(r.attempts == 1 and r.lease_owner is None and r.sent_at for r in rows)
        notice = await session.get(Notice, seeded.notice_id)
        assert notice is not None and notice.status is NoticeStatus.done
        assert notice.completed_at is not None
        progress = await notice_progress(session=session, notice_id=seeded.notice_id)
    assert (progress.total, progress.sent, progress.failed, progress.pending) == (12, 12, 0, 0)
    assert (progress.cancelled, progress.failures) == (0, [])
    assert any(seeded.notice_id in ids for ids in changed)


async def _rows(sessionmaker: async_sessionmaker[AsyncSession], notice_id: int) -> list[Delivery]:
    async with sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(Delivery)
                    .where(col(Delivery.notice_id) == notice_id)
                    .order_by(col(Delivery.id))
                )
            ).all()
        )


async def _wait_sent(tg: SandboxClient, token: str, count: int) -> None:
    """Wait until the sandbox has `count` messages of `token` (the guard only stops a hang)."""
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while (await tg.stats(token))["sent"] < count:
            await asyncio.sleep(0.02)


TELEGRAM = TELEGRAM_CAPABILITIES.max_text


def _group_parts(seeded: Seeded, text: str) -> list[str]:
    """The HTML messages a group of `seeded`'s ward receives for `text`."""
    assert seeded.dispatched_at is not None
    return render_group_message(
        text=text,
        sender=seeded.ward_name,
        sent_at=seeded.dispatched_at,
        urgent=False,
        limit=TELEGRAM,
    )


LONG = "\n\n".join(
    f"Phần {i}. "
    + " ".join(f"Câu {i}.{j}: nhắc lịch phun thuốc diệt muỗi tại khu phố." for j in range(70))
    for i in range(1, 4)
)


@sqlite_only
async def test_long_text_goes_in_order_with_the_button_on_the_last_part(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 2)
    assert len(LONG) > 2 * TELEGRAM
    seeded = await seed(sessionmaker, groups={token: chats}, text=LONG)
    assert await make_worker().run_until_idle()

    parts = _group_parts(seeded, LONG)
    assert len(parts) == 3
    for chat in chats:
        messages = await tg.messages(token, chat)
        assert [m["text"] for m in messages] == parts
        assert [m.get("reply_markup") is not None for m in messages] == [False, False, True]
    rows = await _rows(sessionmaker, seeded.notice_id)
    assert all(r.status is DeliveryStatus.sent and r.attempts == 1 for r in rows)
    assert all(r.provider_message_ref == "1,2,3" for r in rows)


class _FailOnce:
    """Wraps the real registry; the n-th send of all fails once with a 5xx-like error."""

    def __init__(self, inner: TransportRegistry, fail_at: int) -> None:
        self.inner, self.fail_at, self.calls = inner, fail_at, 0

    async def transport_for(self, account_id: int) -> Transport:
        real = await self.inner.transport_for(account_id)
        outer = self

        class Flaky:
            name = real.name
            capabilities = real.capabilities

            async def send(self, message: OutgoingMessage) -> SentMessage:
                outer.calls += 1
                if outer.calls == outer.fail_at:
                    raise TemporaryFailure("server error: Bad Gateway")
                return await real.send(message)

            async def close(self) -> None:
                await real.close()

        return Flaky()

    async def close(self) -> None:
        await self.inner.close()


@sqlite_only
async def test_a_retry_resumes_after_the_parts_already_sent(
    tg: SandboxClient,
    sandbox: SandboxServer,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    (chat,) = await make_groups(tg, token, 1)
    seeded = await seed(sessionmaker, groups={token: [chat]}, text=LONG)

    async def lookup(account_id: int) -> Account:
        return Account(id=account_id, transport="telegram", token=token)

    inner = AccountTransports(
        accounts=lookup, options=TransportOptions(telegram_api_base=sandbox.url)
    )
    registry = _FailOnce(inner, 2)
    try:
        assert await make_worker(transports=registry).run_until_idle()
    finally:
        await registry.close()
    messages = await tg.messages(token, chat)
    assert [m["text"] for m in messages] == _group_parts(seeded, LONG)  # part 1 not sent again
    (row,) = await _rows(sessionmaker, seeded.notice_id)
    assert row.status is DeliveryStatus.sent and row.attempts == 2
    assert row.provider_message_ref == "1,2,3"


async def test_urgent_goes_ahead_of_routine_queued_before_it(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 30)
    routine = await seed(sessionmaker, groups={token: chats[:25]})
    urgent = await seed(sessionmaker, groups={token: chats[25:]}, text="KHẨN: cháy!", urgent=True)
    assert await make_worker(per_bot_per_second=10).run_until_idle()

    routine_rows = await _rows(sessionmaker, routine.notice_id)
    urgent_rows = await _rows(sessionmaker, urgent.notice_id)
    first_routine = min(r.sent_at for r in routine_rows if r.sent_at)
    assert all(r.sent_at and r.sent_at < first_routine for r in urgent_rows)


@sqlite_only
async def test_urgent_arriving_mid_notice_overtakes_the_rest(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 45)
    routine = await seed(sessionmaker, groups={token: chats[:40]})
    worker = make_worker(per_bot_per_second=15)
    running = asyncio.create_task(worker.run())
    await _wait_sent(tg, token, 5)
    urgent = await seed(sessionmaker, groups={token: chats[40:]}, text="KHẨN", urgent=True)
    worker.wake()
    await _wait_sent(tg, token, 45)
    await worker.stop()
    await running

    last_urgent = max(r.sent_at for r in await _rows(sessionmaker, urgent.notice_id) if r.sent_at)
    after = [
        r
        for r in await _rows(sessionmaker, routine.notice_id)
        if r.sent_at and r.sent_at > last_urgent
    ]
    assert len(after) >= 10  # routine ones still queued waited for the urgent ones


@sqlite_only
async def test_limits_keep_the_bot_clear_of_429(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await tg.set_limits(
        True, per_bot_per_second=30, per_group_per_minute=20, per_chat_per_second=1, chat_burst=1
    )
    token = new_token()
    chats = await make_groups(tg, token, 60)
    first = await seed(sessionmaker, groups={token: chats})
    # Two more notices to five of the chats: the per-chat limit spaces those out.
    second = await second_notice(
        sessionmaker,
        first,
        text="Nhắc lại lần 2",
        urgent=False,
        channel_ids=list(first.channels)[:5],
    )
    third = await second_notice(
        sessionmaker,
        first,
        text="Nhắc lại lần 3",
        urgent=False,
        channel_ids=list(first.channels)[:5],
    )
    started = time.monotonic()
    assert await make_worker().run_until_idle()
    elapsed = time.monotonic() - started

    stats = await tg.stats(token)
    assert stats["rejected_429"] == 0
    assert stats["sent"] == 70 and stats["duplicates"] == 0
    assert elapsed >= 69 / 30 - 0.1  # 30/s at most
    for notice_id in (first.notice_id, second, third):
        assert {r.status for r in await _rows(sessionmaker, notice_id)} == {DeliveryStatus.sent}


async def test_graceful_stop_releases_the_rest_and_a_restart_completes(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 90)
    seeded = await seed(sessionmaker, groups={token: chats})
    worker = make_worker(per_bot_per_second=60)
    running = asyncio.create_task(worker.run())
    await _wait_sent(tg, token, 25)
    await worker.stop()
    await running

    rows = await _rows(sessionmaker, seeded.notice_id)
    statuses = Counter(r.status for r in rows)
    assert DeliveryStatus.sending not in statuses  # nothing left claimed
    assert all(r.lease_owner is None for r in rows)
    assert statuses[DeliveryStatus.sent] == (await tg.stats(token))["sent"]  # all recorded
    assert 0 < statuses[DeliveryStatus.pending] < 90
    assert all(r.attempts == 0 for r in rows if r.status is DeliveryStatus.pending)

    assert await make_worker(per_bot_per_second=60).run_until_idle()
    stats = await tg.stats(token)
    assert stats["sent"] == 90 and stats["duplicates"] == 0
    assert all(n == 1 for n in stats["per_chat"].values())
    assert {r.status for r in await _rows(sessionmaker, seeded.notice_id)} == {DeliveryStatus.sent}


async def test_expired_leases_are_taken_over_and_live_ones_left_alone(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 6)
    seeded = await seed(sessionmaker, groups={token: chats})
    now = utcnow()
    async with session_scope(sessionmaker) as session:
        for i, delivery_id in enumerate(seeded.deliveries):
            live = i == 0
            await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)  # type: ignore[arg-type]
                .values(
                    status=DeliveryStatus.sending,
                    lease_owner="crashed" if not live else "alive",
                    lease_expires_at=now + timedelta(seconds=600 if live else -1),
                )
            )
    taken_over = REGISTRY.get_sample_value("loa_leases_taken_over_total") or 0.0
    assert await make_worker().run_until_idle()

    rows = await _rows(sessionmaker, seeded.notice_id)
    assert [r.status for r in rows] == [DeliveryStatus.sending] + [DeliveryStatus.sent] * 5
    assert rows[0].lease_owner == "alive"
    assert (await tg.stats(token))["sent"] == 5
    assert [r.lease_taken_over for r in rows] == [False] + [True] * 5
    assert REGISTRY.get_sample_value("loa_leases_taken_over_total") == taken_over + 5


async def test_two_workers_share_a_notice_without_duplicates(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """At 10/s a worker holds at most 20 per bot (two seconds of sending): the first claim
    of either worker leaves 20 of each bot's 40 for the other, which claims at once."""
    tokens = [new_token(), new_token(), new_token()]
    groups = {token: await make_groups(tg, token, 40) for token in tokens}
    seeded = await seed(sessionmaker, groups=groups)
    first = make_worker(worker_id="one", per_bot_per_second=10)
    second = make_worker(worker_id="two", per_bot_per_second=10)
    results = await asyncio.gather(first.run_until_idle(), second.run_until_idle())
    assert list(results) == [True, True]

    assert first.sent_count + second.sent_count == 120
    assert min(first.sent_count, second.sent_count) >= 20, (first.sent_count, second.sent_count)
    stats = await tg.stats()
    assert stats["sent"] == 120 and stats["duplicates"] == 0
    assert {r.status for r in await _rows(sessionmaker, seeded.notice_id)} == {DeliveryStatus.sent}


@sqlite_only
async def test_one_worker_holds_at_most_its_bound_per_bot(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Whatever the timing, a worker never holds more than one and a half times its bound
    of one bot's deliveries (here 20 at 10/s): the rest stays claimable by other workers."""
    token = new_token()
    chats = await make_groups(tg, token, 40)
    seeded = await seed(sessionmaker, groups={token: chats})
    worker = make_worker(per_bot_per_second=10)
    running = asyncio.create_task(worker.run_until_idle())
    held: list[int] = []

    async def sample() -> dict[Any, int]:
        rows = await _rows(sessionmaker, seeded.notice_id)
        counts = Counter(r.status for r in rows)
        held.append(counts[DeliveryStatus.sending])
        return counts

    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while (await sample())[DeliveryStatus.sent] < 40:
            await asyncio.sleep(0.05)
    assert await running
    assert max(held) <= 30
    assert any(n > 0 for n in held)
    assert (await tg.stats(token))["sent"] == 40


async def test_inactive_channels_and_cancelled_notices_send_nothing(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 3)
    seeded = await seed(sessionmaker, groups={token: chats})
    cancelled = await second_notice(sessionmaker, seeded, text="Hủy", urgent=False)
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Channel)
            .where(Channel.id == seeded.channel_of(token, chats[0]))  # type: ignore[arg-type]
            .values(active=False, inactive_reason="removed by admin")
        )
        await session.execute(
            update(Notice)
            .where(Notice.id == cancelled)  # type: ignore[arg-type]
            .values(status=NoticeStatus.cancelled)
        )
    assert await make_worker().run_until_idle()

    rows = {r.channel_id: r for r in await _rows(sessionmaker, seeded.notice_id)}
    off = rows[seeded.channel_of(token, chats[0])]
    assert off.status is DeliveryStatus.failed
    assert off.error == "channel inactive: removed by admin"
    assert {r.status for r in await _rows(sessionmaker, cancelled)} == {DeliveryStatus.cancelled}
    assert (await tg.stats(token))["sent"] == 2
