"""Which transport sends for a bot account: the account's `transport` column picks a factory.

Each platform has one `TransportFactory`, made on first use from `FACTORIES` and shared by
all its accounts (one connection pool per platform). `AccountTransports` is the registry
the delivery worker asks: it reads the account once, finds the factory for its transport
and keeps the transport for the next sends. A platform is added by writing its transport
and factory and naming it in `FACTORIES`; an account whose transport has no
factory fails its sends with a clear reason, and its channels stay active. (The platforms'
modules are imported here, up front: importing aiogram takes seconds, which must not
stall a running worker's event loop on its first send.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.errors import TransportError
from broadcasts.models import BotAccount
from broadcasts.settings import Settings
from broadcasts.transports.base import Transport, TransportCapabilities
from broadcasts.transports.telegram import TelegramTransports
from broadcasts.transports.zalo import ZaloTransports
from broadcasts.transports.zalo_wire import DEFAULT_API_BASE as ZALO_API_BASE
from broadcasts.transports.zalo_wire import QUOTA_RETRY_SECONDS


@dataclass(frozen=True, slots=True)
class Account:
    """What a registry needs of a `BotAccount`."""

    id: int
    transport: str
    token: str


AccountLookup = Callable[[int], Awaitable[Account]]


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """What the factories are made with (from `Settings`)."""

    telegram_api_base: str = "https://api.telegram.org"
    zalo_api_base: str = ZALO_API_BASE
    zalo_quota_retry: float = QUOTA_RETRY_SECONDS
    timeout: float = 15.0
    connection_limit: int = 256


class TransportFactory(Protocol):
    """Makes the transports of one platform; owns what they share (the HTTP session)."""

    name: str
    capabilities: TransportCapabilities

    def open(self, token: str) -> Transport:
        """The transport of one account's token; raise a TransportError if it cannot be."""
        ...

    async def close(self) -> None: ...


FactoryMaker = Callable[[TransportOptions], TransportFactory]


def _telegram(options: TransportOptions) -> TransportFactory:
    return TelegramTransports(
        api_base=options.telegram_api_base,
        timeout=options.timeout,
        connection_limit=options.connection_limit,
    )


def _zalo(options: TransportOptions) -> TransportFactory:
    return ZaloTransports(
        api_base=options.zalo_api_base,
        timeout=options.timeout,
        connection_limit=options.connection_limit,
        quota_retry=options.zalo_quota_retry,
    )


FACTORIES: Mapping[str, FactoryMaker] = {"telegram": _telegram, "zalo": _zalo}


class AccountTransports:
    """The transport of each bot account, by the account's `transport` column."""

    def __init__(
        self,
        *,
        accounts: AccountLookup,
        options: TransportOptions | None = None,
        factories: Mapping[str, FactoryMaker] = FACTORIES,
    ) -> None:
        self._accounts = accounts
        self._options = options or TransportOptions()
        self._makers = factories
        self._factories: dict[str, TransportFactory] = {}
        self._transports: dict[int, Transport] = {}
        self._lock = asyncio.Lock()

    async def transport_for(self, account_id: int) -> Transport:
        transport = self._transports.get(account_id)
        if transport is not None:
            return transport
        async with self._lock:  # one lookup per account, however many sends wait for it
            transport = self._transports.get(account_id)
            if transport is None:
                account = await self._accounts(account_id)
                factory = self._factory(account)
                transport = self._transports[account_id] = factory.open(account.token)
        return transport

    def _factory(self, account: Account) -> TransportFactory:
        factory = self._factories.get(account.transport)
        if factory is None:
            maker = self._makers.get(account.transport)
            if maker is None:
                raise TransportError(
                    f"no {account.transport!r} transport for bot account {account.id}"
                )
            factory = self._factories[account.transport] = maker(self._options)
        return factory

    async def close(self) -> None:
        self._transports.clear()
        factories, self._factories = list(self._factories.values()), {}
        for factory in factories:
            await factory.close()


def account_lookup(sessionmaker: async_sessionmaker[AsyncSession]) -> AccountLookup:
    """Read accounts from the database (a short session of their own)."""

    async def lookup(account_id: int) -> Account:
        async with sessionmaker() as session:
            row = await session.get(BotAccount, account_id)
        if row is None:
            raise TransportError(f"bot account {account_id} not found")
        if not row.active:  # disabled through the API: its deliveries fail, channels stay
            raise TransportError(f"bot account {account_id} is disabled")
        return Account(id=account_id, transport=row.transport, token=row.token)

    return lookup


def settings_transports(
    *, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AccountTransports:
    """The registry a worker uses: accounts from the database, factories from `settings`."""
    return AccountTransports(
        accounts=account_lookup(sessionmaker),
        options=TransportOptions(
            telegram_api_base=settings.telegram.api_base,
            zalo_api_base=settings.zalo.api_base,
            zalo_quota_retry=settings.zalo.quota_retry_seconds,
            timeout=settings.delivery.send_timeout_seconds,
            connection_limit=max(100, settings.delivery.concurrency),
        ),
    )
