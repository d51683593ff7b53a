"""Each fault the sandbox can inject ends in the outcome the engine promises."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.models import Channel, Delivery, DeliveryStatus, Notice, NoticeStatus
from broadcasts.notices import notice_progress
from sandbox.telegram.client import SandboxClient
from tests.broadcasts.delivery.conftest import (
    HANG_GUARD_SECONDS,
    PERSON,
    WorkerFactory,
    make_groups,
    new_token,
    sqlite_only,
)
from tests.broadcasts.delivery.virtual_time import JumpClock
from tests.broadcasts.delivery.world import Seeded, seed


async def _deliveries(
    sessionmaker: async_sessionmaker[AsyncSession], notice_id: int
) -> dict[int, Delivery]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.notice_id == notice_id))  # type: ignore[arg-type]
        return {d.channel_id: d for d in rows}


async def _channel(sessionmaker: async_sessionmaker[AsyncSession], channel_id: int) -> Channel:
    async with sessionmaker() as session:
        channel = await session.get(Channel, channel_id)
        assert channel is not None
        return channel


async def _notice_status(
    sessionmaker: async_sessionmaker[AsyncSession], notice_id: int
) -> NoticeStatus:
    async with sessionmaker() as session:
        notice = await session.get(Notice, notice_id)
        assert notice is not None
        return notice.status


async def _one_bot(
    tg: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession], chats: int = 4
) -> tuple[str, list[int], Seeded]:
    token = new_token()
    groups = await make_groups(tg, token, chats)
    return token, groups, await seed(sessionmaker, groups={token: groups})


async def _until(predicate: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for an event; the timeout only keeps a broken run from hanging forever."""
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while not await predicate():
            await asyncio.sleep(0.02)
    assert await predicate(), what


async def test_429_pauses_only_that_bot_and_then_completes(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    slow, fast = new_token(), new_token()
    slow_chats, fast_chats = await make_groups(tg, slow, 3), await make_groups(tg, fast, 20)
    seeded = await seed(sessionmaker, groups={slow: slow_chats, fast: fast_chats})
    await tg.add_fault("429", token=slow, chat_id=slow_chats[0], retry_after=600)
    # The pause lasts until the test moves the clock past it, however slow the machine;
    # leases outlast the jump, as they would a pause the heartbeat kept alive.
    clock = JumpClock()
    worker = make_worker(clock=clock, lease_seconds=3600)
    running = asyncio.create_task(worker.run_until_idle(timeout=3600))
    limited_id = seeded.channel_of(slow, slow_chats[0])

    async def fast_done_slow_paused() -> bool:
        rows = await _deliveries(sessionmaker, seeded.notice_id)
        fast_rows = [rows[seeded.channel_of(fast, c)] for c in fast_chats]
        limited = rows[limited_id]
        return all(d.status is DeliveryStatus.sent for d in fast_rows) and (
            limited.status is DeliveryStatus.pending and limited.error is not None
        )

    await _until(fast_done_slow_paused, "the fast bot to finish while the slow one waits")
    # The fast bot sent all 20 while the slow one sat out its pause, and nothing more
    # reached the limited chat.
    assert (await tg.stats(fast))["sent"] == 20
    assert await tg.messages(slow, slow_chats[0]) == []
    waiting = (await _deliveries(sessionmaker, seeded.notice_id))[limited_id]
    assert waiting.attempts == 0 and waiting.error == "rate limited: retry after 600s"

    clock.jump(600)
    assert await running

    rows = await _deliveries(sessionmaker, seeded.notice_id)
    assert {d.status for d in rows.values()} == {DeliveryStatus.sent}
    limited = rows[limited_id]
    assert limited.attempts == 1  # the 429 is not counted as a failed attempt
    assert len(await tg.messages(slow, slow_chats[0])) == 1
    slow_stats, fast_stats = await tg.stats(slow), await tg.stats(fast)
    assert slow_stats["rejected_429"] == 1 and slow_stats["sent"] == 3
    assert fast_stats["rejected_429"] == 0 and fast_stats["sent"] == 20
    assert slow_stats["duplicates"] == fast_stats["duplicates"] == 0
    assert await _notice_status(sessionmaker, seeded.notice_id) is NoticeStatus.done


@sqlite_only
async def test_5xx_is_retried_then_sent(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded = await _one_bot(tg, sessionmaker)
    await tg.add_fault("5xx", token=token, chat_id=chats[1], status=502, times=2)
    assert await make_worker(max_attempts=5).run_until_idle()

    rows = await _deliveries(sessionmaker, seeded.notice_id)
    flaky = rows[seeded.channel_of(token, chats[1])]
    assert flaky.status is DeliveryStatus.sent and flaky.attempts == 3
    assert len(await tg.messages(token, chats[1])) == 1
    assert (await tg.stats(token))["errors_by_code"] == {"502": 2}


async def test_5xx_forever_fails_after_max_attempts_with_reason(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded = await _one_bot(tg, sessionmaker)
    await tg.add_fault("5xx", token=token, chat_id=chats[0], status=503, times=0)
    assert await make_worker(max_attempts=3).run_until_idle()

    rows = await _deliveries(sessionmaker, seeded.notice_id)
    broken = rows[seeded.channel_of(token, chats[0])]
    assert broken.status is DeliveryStatus.failed and broken.attempts == 3
    assert broken.error is not None and broken.error.startswith("gave up after 3 attempts")
    assert "server error" in broken.error
    assert sum(d.status is DeliveryStatus.sent for d in rows.values()) == 3
    assert (await _channel(sessionmaker, broken.channel_id)).active  # not the chat's fault
    assert await _notice_status(sessionmaker, seeded.notice_id) is NoticeStatus.done


async def test_403_fails_and_deactivates_the_channel(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded = await _one_bot(tg, sessionmaker)
    await tg.remove_bot(token, chats[2], PERSON, status="kicked")
    assert await make_worker().run_until_idle()

    rows = await _deliveries(sessionmaker, seeded.notice_id)
    kicked = rows[seeded.channel_of(token, chats[2])]
    assert kicked.status is DeliveryStatus.failed and kicked.attempts == 1
    assert kicked.error == "forbidden: bot was kicked from the group chat"
    channel = await _channel(sessionmaker, kicked.channel_id)
    assert not channel.active and channel.inactive_reason == kicked.error
    async with sessionmaker() as session:
        progress = await notice_progress(session=session, notice_id=seeded.notice_id)
    assert (progress.sent, progress.failed, progress.pending, progress.total) == (3, 1, 0, 4)
    assert progress.failures == [(channel.title, kicked.error)]


async def test_injected_403_and_400_not_found_deactivate(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded = await _one_bot(tg, sessionmaker)
    await tg.add_fault("403", token=token, chat_id=chats[0])
    await tg.add_fault("400_not_found", token=token, chat_id=chats[1])
    assert await make_worker().run_until_idle()

    rows = await _deliveries(sessionmaker, seeded.notice_id)
    blocked = rows[seeded.channel_of(token, chats[0])]
    missing = rows[seeded.channel_of(token, chats[1])]
    assert blocked.error == "forbidden: bot was blocked by the user"
    assert missing.error == "bad request: chat not found"
    for delivery in (blocked, missing):
        assert delivery.status is DeliveryStatus.failed and delivery.attempts == 1
        channel = await _channel(sessionmaker, delivery.channel_id)
        assert not channel.active and channel.inactive_reason == delivery.error
    assert (await tg.stats(token))["sent"] == 2


async def test_migrated_group_moves_the_channel_and_gets_the_message(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded = await _one_bot(tg, sessionmaker)
    old_chat = chats[3]
    await tg.add_fault("migrate", token=token, chat_id=old_chat)
    assert await make_worker().run_until_idle()

    rows = await _deliveries(sessionmaker, seeded.notice_id)
    moved = rows[seeded.channel_of(token, old_chat)]
    assert moved.status is DeliveryStatus.sent and moved.attempts == 1
    channel = await _channel(sessionmaker, moved.channel_id)
    assert channel.active and channel.chat_ref != str(old_chat)
    assert channel.area_id == seeded.ward_id  # the group keeps its area
    new_messages = await tg.messages(token, int(channel.chat_ref))
    assert len(new_messages) == 1 and new_messages[0]["text"].startswith("Thông báo")
    assert moved.provider_message_ref == str(new_messages[0]["message_id"])


async def test_migrated_group_already_registered_keeps_that_channel(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The rule of `channels.move_channel_chat`, as the worker applies it: when the
    supergroup is already a channel of the bot, that one is kept and the old one retired."""
    token = new_token()
    (old_chat,) = await make_groups(tg, token, 1)
    seeded = await seed(sessionmaker, groups={token: [old_chat]})
    new_chat = await tg.migrate(token, old_chat)  # sends to the old id now answer "migrated"
    async with session_scope(sessionmaker) as session:
        existing = Channel(
            area_id=seeded.ward_id,
            bot_id=seeded.accounts[token],
            chat_ref=str(new_chat),
            title="Tổ 1 (siêu nhóm)",
        )
        session.add(existing)
        await session.flush()
        existing_id = existing.id or 0
    assert await make_worker().run_until_idle()

    old_id = seeded.channel_of(token, old_chat)
    delivery = (await _deliveries(sessionmaker, seeded.notice_id))[old_id]
    assert delivery.status is DeliveryStatus.sent and delivery.attempts == 1
    retired, kept = await _channel(sessionmaker, old_id), await _channel(sessionmaker, existing_id)
    assert not retired.active and retired.chat_ref == str(old_chat)
    assert retired.inactive_reason == (
        f"moved to chat {new_chat}, registered as channel {existing_id}"
    )
    assert kept.active and kept.chat_ref == str(new_chat)
    assert len(await tg.messages(token, new_chat)) == 1


@sqlite_only
async def test_answer_slower_than_the_send_timeout_is_retried(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded = await _one_bot(tg, sessionmaker)
    await tg.add_fault("delay", token=token, chat_id=chats[0], delay=1.5)
    assert await make_worker(send_timeout_seconds=0.5).run_until_idle()

    rows = await _deliveries(sessionmaker, seeded.notice_id)
    slow = rows[seeded.channel_of(token, chats[0])]
    assert slow.status is DeliveryStatus.sent and slow.attempts == 2
    # Telegram gives no receipt for a send it answered too late: the sandbox (like Telegram)
    # kept the first message too, so this chat may see it twice. That is the price of
    # retrying a timeout, and the only duplicate a healthy run can produce.
    assert 1 <= len(await tg.messages(token, chats[0], wait_count=2, wait=1.5)) <= 2
