"""The runtime: builds the bot, API, scheduler and delivery worker from settings and runs
any combination of them in one event loop (`loa run` runs them all)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import uvicorn
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from bot.handlers import build_router
from bot.i18n import OfficialLocaleMiddleware, make_i18n
from bot.middlewares import DbSessionMiddleware
from bot.press import PressMiddleware
from bot.services import Services
from broadcasts.channels import get_or_create_bot_account
from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.migrate import upgrade_async
from broadcasts.notices import notices_in_flight
from broadcasts.scheduling import NoticeScheduler
from broadcasts.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Roles:
    bot: bool = True
    api: bool = True
    scheduler: bool = True
    worker: bool = True


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url)
    return MemoryStorage()


def make_isolation(storage: BaseStorage) -> BaseEventIsolation:
    """One person's updates are handled one after the other (two quick taps both count).

    aiogram's polling runs each update as its own task; the isolation is a lock per
    chat and user, taken before the FSM state is read, so the second tap sees what the
    first one saved. In one bot process an asyncio lock is enough; with Redis storage
    (several bot processes behind a webhook) the lock lives in Redis too.
    """
    if isinstance(storage, MemoryStorage):
        return SimpleEventIsolation()
    from aiogram.fsm.storage.redis import RedisStorage

    assert isinstance(storage, RedisStorage)
    return storage.create_isolation()


def make_bot(settings: Settings) -> Bot:
    if settings.telegram.token is None:
        raise SystemExit("LOA_TELEGRAM__TOKEN is not set: the bot needs a Telegram bot token.")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    return Bot(settings.telegram.token.get_secret_value(), session=session)


class Runtime:
    """Owns every service of one process and closes them in order on stop."""

    def __init__(self, settings: Settings, roles: Roles = Roles()) -> None:
        self.settings = settings
        self.roles = roles
        self.engine: AsyncEngine = make_engine(settings.database_url)
        self.sessionmaker: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.bot: Bot | None = None
        self.dispatcher: Dispatcher | None = None
        self.services: Services | None = None
        self.scheduler: NoticeScheduler | None = None
        self.worker: DeliveryWorker | None = None
        self.api_server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await upgrade_async(self.settings.database_url)
        if self.roles.bot or self.roles.scheduler:
            await self._start_bot_services()
        if self.roles.worker:
            self.worker = DeliveryWorker(
                sessionmaker=self.sessionmaker,
                settings=self.settings,
                on_progress=self.services.refresh_status if self.services else None,
            )
            self._spawn(self.worker.run(), "worker")
        if self.roles.scheduler:
            self.scheduler = NoticeScheduler(
                sessionmaker=self.sessionmaker, on_dispatched=self._dispatched
            )
            await self.scheduler.start()
            if self.services is not None:
                self.services.plan = self.scheduler.plan
                self.services.unplan = self.scheduler.unplan
        if self.roles.api:
            app = create_app(
                sessionmaker=self.sessionmaker, settings=self.settings, on_cancel=self._cancelled
            )
            config = uvicorn.Config(
                app,
                host=self.settings.api.host,
                port=self.settings.api.port,
                log_level="warning",
                lifespan="on",
            )
            self.api_server = uvicorn.Server(config)
            self._spawn(self.api_server.serve(), "api")
        if self.roles.bot and not self.roles.worker:
            # Workers run elsewhere and cannot reach this bot: follow progress from the database.
            self._spawn(self._follow_progress(), "status")
        if self.roles.bot and self.dispatcher is not None and self.bot is not None:
            self._spawn(
                self.dispatcher.start_polling(
                    self.bot,
                    handle_signals=False,
                    close_bot_session=False,
                    polling_timeout=self.settings.telegram.poll_timeout_seconds,
                ),
                "bot",
            )

    async def _start_bot_services(self) -> None:
        self.bot = make_bot(self.settings)
        me = await self.bot.get_me()
        async with session_scope(self.sessionmaker) as session:
            account = await get_or_create_bot_account(
                session=session,
                token=self.settings.telegram.token.get_secret_value(),  # type: ignore[union-attr]
                username=me.username,
            )
        i18n = make_i18n(default_locale=self.settings.default_locale)
        self.services = Services(
            settings=self.settings,
            sessionmaker=self.sessionmaker,
            bot=self.bot,
            i18n=i18n,
            bot_account_id=account.id or 0,
        )
        storage = make_storage(self.settings)
        dp = Dispatcher(
            storage=storage, events_isolation=make_isolation(storage), services=self.services
        )
        dp.update.outer_middleware(PressMiddleware())
        dp.update.outer_middleware(DbSessionMiddleware(self.sessionmaker))
        OfficialLocaleMiddleware(i18n).setup(dp)
        dp.include_router(build_router())
        self.dispatcher = dp
        log.info("bot @%s ready", me.username)

    async def _follow_progress(self, every: float = 3.0) -> None:
        assert self.services is not None
        while True:
            async with session_scope(self.sessionmaker) as session:
                ids = await notices_in_flight(session=session)
            await self.services.refresh_status(ids)
            await asyncio.sleep(every)

    async def _dispatched(self, notice_id: int, created: int) -> None:
        if self.worker is not None:
            self.worker.wake()
        if self.services is not None:
            await self.services.refresh_status({notice_id})

    async def _cancelled(self, notice_id: int) -> None:
        if self.scheduler is not None:
            self.scheduler.unplan(notice_id)
        if self.services is not None:
            await self.services.refresh_status({notice_id})

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._on_task_done)
        self._tasks.append(task)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s stopped with an error", task.get_name(), exc_info=task.exception())

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        if self.dispatcher is not None:
            with contextlib.suppress(RuntimeError):  # polling was never started
                await self.dispatcher.stop_polling()
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.worker is not None:
            await self.worker.stop()
        if self.api_server is not None:
            self.api_server.should_exit = True
        for task in self._tasks:
            if task.get_name() == "status":
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.services is not None:
            with contextlib.suppress(TimeoutError):  # the latest status, if Telegram takes it
                await asyncio.wait_for(self.services.outbox.settled(), timeout=5)
            await self.services.outbox.close()
        if self.dispatcher is not None:
            await self.dispatcher.storage.close()
        if self.bot is not None:
            await self.bot.session.close()
        await self.engine.dispose()
