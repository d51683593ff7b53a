"""The transport registry: each bot account sends through the factory of its `transport`,
with that platform's limits; an account whose platform has no factory fails with a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import session_scope
from broadcasts.delivery.split import text_length
from broadcasts.errors import TransportError
from broadcasts.models import BotAccount, Delivery, DeliveryStatus
from broadcasts.transports.base import OutgoingMessage, SentMessage, TransportCapabilities
from broadcasts.transports.registry import (
    FACTORIES,
    AccountTransports,
    TransportOptions,
    account_lookup,
)
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.broadcasts.delivery.conftest import WorkerFactory, make_groups, new_token, sqlite_only
from tests.broadcasts.delivery.world import seed

ZALO_LIKE = TransportCapabilities(
    max_text=2000, max_caption=2000, can_edit=False, can_delete=False, has_buttons=False
)


class _Recorded:
    """A platform of its own: remembers what it was asked to send, by token."""

    name = "zalo"
    capabilities = ZALO_LIKE

    def __init__(self, token: str, sent: list[tuple[str, OutgoingMessage]]) -> None:
        self._token, self._sent = token, sent

    async def send(self, message: OutgoingMessage) -> SentMessage:
        self._sent.append((self._token, message))
        return SentMessage(message_ref=str(len(self._sent)))

    async def close(self) -> None:
        pass


class _RecordedFactory:
    name = "zalo"
    capabilities = ZALO_LIKE

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutgoingMessage]] = []
        self.closed = False

    def open(self, token: str) -> _Recorded:
        return _Recorded(token, self.sent)

    async def close(self) -> None:
        self.closed = True


async def _set_transport(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: int, transport: str
) -> None:
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(BotAccount)
            .where(BotAccount.id == account_id)  # type: ignore[arg-type]
            .values(transport=transport)
        )


@sqlite_only
async def test_each_account_sends_through_its_own_platform(
    tg: SandboxClient,
    sandbox: SandboxServer,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    telegram, zalo = new_token(), new_token()
    tg_chats = await make_groups(tg, telegram, 2)
    text = " ".join(f"Câu {i}: lịch tiêm chủng tại trạm y tế phường." for i in range(80))
    assert 2000 < text_length(text) <= TELEGRAM_CAPABILITIES.max_text  # one message, or two
    seeded = await seed(sessionmaker, groups={telegram: tg_chats, zalo: ["z-1"]}, text=text)
    await _set_transport(sessionmaker, seeded.accounts[zalo], "zalo")
    factory = _RecordedFactory()
    registry = AccountTransports(
        accounts=account_lookup(sessionmaker),
        options=TransportOptions(telegram_api_base=sandbox.url),
        factories={**FACTORIES, "zalo": lambda options: factory},
    )
    try:
        assert await make_worker(transports=registry).run_until_idle()
    finally:
        await registry.close()

    assert factory.closed
    for chat in tg_chats:
        (message,) = await tg.messages(telegram, chat)
        assert message["parse_mode"] == "HTML" and message["plain_text"].endswith("\n\n" + text)
    assert [token for token, _ in factory.sent] == [zalo, zalo]
    assert [m.chat_ref for _, m in factory.sent] == ["z-1", "z-1"]
    assert all(text_length(m.text) <= 2000 for _, m in factory.sent)
    # A platform without markup gets the same message as plain text.
    assert all(m.markup == "plain" for _, m in factory.sent)
    assert factory.sent[0][1].text.startswith(f"📢 {seeded.ward_name} · ")
    assert [m.ack_delivery_id is not None for _, m in factory.sent] == [False, True]
    async with sessionmaker() as session:
        statuses = set(await session.scalars(select(Delivery.status)))  # type: ignore[call-overload]
    assert statuses == {DeliveryStatus.sent}


@sqlite_only
async def test_an_account_of_an_unknown_platform_fails_with_the_reason(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    seeded = await seed(sessionmaker, groups={token: ["-1"]})
    account_id = seeded.accounts[token]
    await _set_transport(sessionmaker, account_id, "viber")
    assert await make_worker(max_attempts=2).run_until_idle()

    async with sessionmaker() as session:
        (delivery,) = await session.scalars(select(Delivery))
    assert delivery.status is DeliveryStatus.failed and delivery.attempts == 2
    assert delivery.error == (
        f"gave up after 2 attempts: no 'viber' transport for bot account {account_id}"
    )
    assert (await tg.stats())["sent"] == 0


async def test_a_disabled_account_sends_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(sessionmaker) as session:
        account = BotAccount(token="770001:DisabledWardBot", username="loa770001_bot")
        session.add(account)
        await session.flush()
        account_id = account.id or 0
    lookup = account_lookup(sessionmaker)
    assert (await lookup(account_id)).token == "770001:DisabledWardBot"
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(BotAccount).where(BotAccount.id == account_id).values(active=False)  # type: ignore[arg-type]
        )
    with pytest.raises(TransportError, match="disabled"):
        await lookup(account_id)
