"""A notice recalled while some of its deliveries are on their way: every message that
reached a group is deleted, including one the provider took after the recall's own pass."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.corrections import recall_notice
from broadcasts.db import session_scope
from broadcasts.errors import TemporaryFailure
from broadcasts.models import Delivery, DeliveryKind, DeliveryStatus
from broadcasts.transports.base import OutgoingMessage, SentMessage, Transport, TransportRegistry
from broadcasts.transports.registry import Account, AccountTransports, TransportOptions
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.broadcasts.delivery.conftest import (
    HANG_GUARD_SECONDS,
    WorkerFactory,
    make_groups,
    new_token,
)
from tests.broadcasts.delivery.world import seed

LONG = "\n\n".join(
    f"Đoạn {i}: bà con khu phố lưu ý lịch cúp điện và mang theo thẻ căn cước khi đến UBND." * 12
    for i in range(1, 6)
)


class _Held(TransportRegistry):
    """The real transports, except that the send to one chat waits for the test: the
    provider takes it only when `release` is set, after the test recalled the notice."""

    def __init__(self, inner: TransportRegistry, chat_ref: str) -> None:
        self.inner, self.chat_ref = inner, chat_ref
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def transport_for(self, account_id: int) -> Transport:
        real = await self.inner.transport_for(account_id)
        outer = self

        class Held:
            name = real.name
            capabilities = real.capabilities

            async def send(self, message: OutgoingMessage) -> SentMessage:
                if message.chat_ref == outer.chat_ref and not outer.release.is_set():
                    outer.entered.set()
                    await outer.release.wait()
                return await real.send(message)

            async def edit(self, message_ref: str, message: OutgoingMessage) -> None:
                await real.edit(message_ref, message)

            async def delete(self, chat_ref: str, message_ref: str) -> None:
                await real.delete(chat_ref, message_ref)

            async def close(self) -> None:
                await real.close()

        return Held()

    async def close(self) -> None:
        await self.inner.close()


def _registry(sandbox: SandboxServer, token: str) -> AccountTransports:
    async def lookup(account_id: int) -> Account:
        return Account(id=account_id, transport="telegram", token=token)

    return AccountTransports(
        accounts=lookup, options=TransportOptions(telegram_api_base=sandbox.url)
    )


async def _notice_rows(
    sessionmaker: async_sessionmaker[AsyncSession], notice_id: int, kind: DeliveryKind
) -> list[Delivery]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(
                select(Delivery).where(
                    col(Delivery.notice_id) == notice_id, col(Delivery.kind) == kind
                )
            )
        )


async def test_a_message_the_provider_took_after_the_recall_is_deleted_too(
    tg: SandboxClient,
    sandbox: SandboxServer,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 3)
    late = chats[2]
    seeded = await seed(sessionmaker, groups={token: chats})
    registry = _Held(_registry(sandbox, token), str(late))
    worker = make_worker(transports=registry)
    running = asyncio.create_task(worker.run_until_idle(timeout=HANG_GUARD_SECONDS))
    try:
        async with asyncio.timeout(HANG_GUARD_SECONDS):
            await registry.entered.wait()  # the third group's send is on its way
            while (
                len(await tg.messages(token, chats[0])) + len(await tg.messages(token, chats[1]))
                < 2
            ):
                await asyncio.sleep(0.02)
        async with session_scope(sessionmaker) as session:
            done = await recall_notice(
                session=session, notice_id=seeded.notice_id, actor="Cán bộ Lan"
            )
        assert done.stopped == 0  # nothing was waiting: the third one is being sent
        registry.release.set()  # the provider takes it now, after the recall
        assert await running
        # What the first run queued last is sent by the next.
        assert await make_worker(transports=registry).run_until_idle(timeout=HANG_GUARD_SECONDS)
    finally:
        registry.release.set()
        if not running.done():
            running.cancel()
        await registry.close()

    for chat in chats:
        assert await tg.messages(token, chat) == [], chat  # deleted in every group
    notices = await _notice_rows(sessionmaker, seeded.notice_id, DeliveryKind.notice)
    assert {d.status for d in notices} == {DeliveryStatus.sent}
    recalls = await _notice_rows(sessionmaker, seeded.notice_id, DeliveryKind.recall)
    assert sorted(d.parent_id or 0 for d in recalls) == sorted(d.id or 0 for d in notices)
    assert {(d.status, d.error) for d in recalls} == {(DeliveryStatus.sent, "deleted")}


class _FailSecondPart(TransportRegistry):
    """The real transports; the second message of the run fails as a provider's 502
    would, so the delivery waits for its retry with its first part in the group."""

    def __init__(self, inner: TransportRegistry) -> None:
        self.inner, self.calls = inner, 0

    async def transport_for(self, account_id: int) -> Transport:
        real = await self.inner.transport_for(account_id)
        outer = self

        class Flaky:
            name = real.name
            capabilities = real.capabilities

            async def send(self, message: OutgoingMessage) -> SentMessage:
                outer.calls += 1
                if outer.calls == 2:
                    raise TemporaryFailure("server error: Bad Gateway")
                return await real.send(message)

            async def edit(self, message_ref: str, message: OutgoingMessage) -> None:
                await real.edit(message_ref, message)

            async def delete(self, chat_ref: str, message_ref: str) -> None:
                await real.delete(chat_ref, message_ref)

            async def close(self) -> None:
                await real.close()

        return Flaky()

    async def close(self) -> None:
        await self.inner.close()


async def test_a_part_sent_before_a_retry_is_deleted_when_the_rest_is_stopped(
    tg: SandboxClient,
    sandbox: SandboxServer,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    chats = await make_groups(tg, token, 2)
    seeded = await seed(sessionmaker, groups={token: chats[:1]}, text=LONG)
    registry = _FailSecondPart(_registry(sandbox, token))
    try:
        # The retry is due in an hour: the run ends with part 1 in the group.
        idle = await make_worker(
            transports=registry, backoff_base_seconds=3600, backoff_max_seconds=3600
        ).run_until_idle(timeout=5)
        assert idle
        (row,) = await _notice_rows(sessionmaker, seeded.notice_id, DeliveryKind.notice)
        assert row.status is DeliveryStatus.pending and row.provider_message_ref == "1"
        assert len(await tg.messages(token, chats[0])) == 1
        # A second delivery of it went out fully, so the notice can be recalled.
        other = await seed(sessionmaker, groups={token: chats[1:]})
        async with session_scope(sessionmaker) as session:
            await session.execute(
                Delivery.__table__.update()  # type: ignore[attr-defined]
                .where(col(Delivery.id).in_(other.deliveries))
                .values(notice_id=seeded.notice_id)
            )
        assert await make_worker(transports=registry).run_until_idle(timeout=5)
        async with session_scope(sessionmaker) as session:
            done = await recall_notice(session=session, notice_id=seeded.notice_id, actor="x")
        assert done.stopped == 1
        assert await make_worker(transports=registry).run_until_idle(timeout=HANG_GUARD_SECONDS)
    finally:
        await registry.close()
    for chat in chats:
        assert await tg.messages(token, chat) == [], chat
