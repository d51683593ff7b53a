"""The runtime: builds the bot, API, scheduler and delivery worker from settings and runs
any combination of them in one event loop (`loa run` runs them all).

Updates reach the bot by polling (the bot role polls; a webhook left over from another
tool is deleted first, since Telegram refuses getUpdates while one is set) or by webhook:
the bot role calls setWebhook at start and deleteWebhook at stop, and the API role hosts
the endpoint and handles the updates (`loa run` does both; scaled out, `loa bot` sets the
webhook and every `loa api` behind the public URL takes updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from api.routes.telegram_webhook import webhook_path
from api.schemas import BotHealth
from bot.handlers import build_router
from bot.i18n import OfficialLocaleMiddleware, make_i18n
from bot.middlewares import DbSessionMiddleware
from bot.press import PressMiddleware
from bot.receiving import PollWatch, SeenUpdates, UpdateMonitor
from bot.services import Services
from bot.webhook import SharedIds, WebhookReceiver
from broadcasts.channels import get_or_create_bot_account
from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.delivery.limits import LimiterBackend, make_limits
from broadcasts.migrate import upgrade_async
from broadcasts.notices import notices_in_flight
from broadcasts.scheduling import NoticeScheduler
from broadcasts.settings import Settings, TelegramSettings

log = logging.getLogger(__name__)

# What Telegram accepts as a webhook's secret_token.
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


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
    check_webhook_settings(settings.telegram)
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    return Bot(settings.telegram.token.get_secret_value(), session=session)


def check_webhook_settings(telegram: TelegramSettings) -> None:
    """Webhook mode needs a public URL and a secret token: stop at start, saying which."""
    if telegram.mode != "webhook":
        return
    url = telegram.webhook_url or ""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise SystemExit(
            "LOA_TELEGRAM__MODE=webhook needs LOA_TELEGRAM__WEBHOOK_URL: the public "
            "https:// address of Loa's API (Telegram posts to it + /telegram/webhook/<bot>)."
        )
    secret = telegram.webhook_secret.get_secret_value() if telegram.webhook_secret else ""
    if not SECRET_TOKEN.match(secret):
        raise SystemExit(
            "LOA_TELEGRAM__MODE=webhook needs LOA_TELEGRAM__WEBHOOK_SECRET: 1 to 256 "
            "characters from A-Z, a-z, 0-9, _ and - (for example: openssl rand -hex 32)."
        )


def _shown(url: str) -> str:
    # A webhook URL may hold a bot token in its path: log only where it points.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path.strip("/") else url


class Runtime:
    """Owns every service of one process and closes them in order on stop."""

    def __init__(
        self, settings: Settings, roles: Roles = Roles(), *, webhook_watch_seconds: float = 60.0
    ) -> None:
        self.settings = settings
        self.roles = roles
        self.webhook_mode = settings.telegram.mode == "webhook"
        self.webhook_watch_seconds = webhook_watch_seconds
        self.engine: AsyncEngine = make_engine(settings.database_url)
        self.sessionmaker: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.bot: Bot | None = None
        self.dispatcher: Dispatcher | None = None
        self.services: Services | None = None
        self.scheduler: NoticeScheduler | None = None
        self.worker: DeliveryWorker | None = None
        self.api_server: uvicorn.Server | None = None
        self.bot_account_id: int | None = None
        self.monitor: UpdateMonitor | None = None  # set where this process receives updates
        self.receiver: WebhookReceiver | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False
        self._redis: Redis | None = None
        # One account limit for this process's bot screens and deliveries (Redis-backed
        # when configured, so that other processes sending for the same bot share it).
        self.limits: LimiterBackend = make_limits(settings.delivery, settings.redis_url)

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await upgrade_async(self.settings.database_url)
        if self.roles.bot or self.roles.scheduler or (self.webhook_mode and self.roles.api):
            await self._start_bot_services()
        if self.roles.worker:
            self.worker = DeliveryWorker(
                sessionmaker=self.sessionmaker,
                settings=self.settings,
                limits=self.limits,
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
            await self._start_api()
        if self.roles.bot and not self.roles.worker:
            # Workers run elsewhere and cannot reach this bot: follow progress from the database.
            self._spawn(self._follow_progress(), "status")
        if self.roles.bot and self.webhook_mode:
            await self._set_webhook()
        elif self.roles.bot:
            await self._start_polling()
        if self.receiver is not None:
            self._spawn(self._watch_webhook(), "webhook-watch")

    @property
    def receives_updates(self) -> bool:
        """Whether updates come into this process: by polling (bot role) or by webhook
        (API role); `/health` reports on the bot only there."""
        return self.roles.api if self.webhook_mode else self.roles.bot

    async def _start_api(self) -> None:
        app = create_app(
            sessionmaker=self.sessionmaker,
            settings=self.settings,
            on_cancel=self._cancelled,
            webhooks={self.bot_account_id or 0: self.receiver} if self.receiver else None,
            bot_health=self._bot_health if self.monitor is not None else None,
        )
        config = uvicorn.Config(
            app,
            host=self.settings.api.host,
            port=self.settings.api.port,
            log_level="warning",
            lifespan="on",
        )
        self.api_server = server = uvicorn.Server(config)
        task = self._spawn(server.serve(), "api")
        # Up before the webhook is set (Telegram posts at once) and `api_url` is known.
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if not server.started:
            raise SystemExit(f"the API could not listen on {config.host}:{config.port}")

    @property
    def api_url(self) -> str:
        """Where the API listens (the real port when `LOA_API__PORT=0`)."""
        assert self.api_server is not None and self.api_server.servers
        host, port = self.api_server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def _bot_health(self) -> BotHealth:
        assert self.monitor is not None
        return BotHealth(**asdict(self.monitor.status()))

    def _webhook_url(self) -> str:
        base = (self.settings.telegram.webhook_url or "").rstrip("/")
        return base + webhook_path(self.bot_account_id or 0)

    async def _start_polling(self) -> None:
        assert self.bot is not None and self.dispatcher is not None
        info = await self.bot.get_webhook_info()
        if info.url:
            # Telegram answers getUpdates with 409 for as long as a webhook is set.
            await self.bot.delete_webhook(drop_pending_updates=False)
            log.info("a webhook was set (url %s); deleted it to poll", _shown(info.url))
        self._spawn(
            self.dispatcher.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                polling_timeout=self.settings.telegram.poll_timeout_seconds,
            ),
            "bot",
        )

    async def _set_webhook(self) -> None:
        assert self.bot is not None and self.dispatcher is not None
        secret = self.settings.telegram.webhook_secret
        assert secret is not None  # checked by make_bot
        url = self._webhook_url()
        try:
            await self.bot.set_webhook(
                url=url,
                secret_token=secret.get_secret_value(),
                allowed_updates=self.dispatcher.resolve_used_update_types(),
                drop_pending_updates=False,
            )
        except TelegramBadRequest as exc:
            raise SystemExit(f"Telegram refused the webhook {url}: {exc.message}") from exc
        if self.monitor is not None:
            self.monitor.succeeded()
        log.info("webhook set: Telegram posts updates to %s", url)

    async def _watch_webhook(self) -> None:
        """Where updates come in by webhook: is the webhook still ours? Another tool may
        have replaced or deleted it (or the bot role has not set it yet)."""
        assert self.bot is not None and self.monitor is not None
        expected = self._webhook_url()
        while True:
            try:
                info = await self.bot.get_webhook_info()
            except TelegramAPIError as exc:
                self.monitor.failed(f"getWebhookInfo failed: {exc.message}")
            else:
                if info.url == expected:
                    self.monitor.succeeded()
                else:
                    found = _shown(info.url) if info.url else "no webhook"
                    self.monitor.failed(f"the webhook is not ours: {found} (expected {expected})")
            await asyncio.sleep(self.webhook_watch_seconds)

    async def _start_bot_services(self) -> None:
        self.bot = make_bot(self.settings)
        me = await self.bot.get_me()
        async with session_scope(self.sessionmaker) as session:
            account = await get_or_create_bot_account(
                session=session,
                token=self.settings.telegram.token.get_secret_value(),  # type: ignore[union-attr]
                username=me.username,
            )
        self.bot_account_id = account.id or 0
        i18n = make_i18n(default_locale=self.settings.default_locale)
        self.services = Services(
            settings=self.settings,
            sessionmaker=self.sessionmaker,
            bot=self.bot,
            i18n=i18n,
            bot_account_id=account.id or 0,
            limits=self.limits,
        )
        storage = make_storage(self.settings)
        dp = Dispatcher(
            storage=storage, events_isolation=make_isolation(storage), services=self.services
        )
        if self.receives_updates:
            self.monitor = UpdateMonitor(self.settings.telegram.mode)
            dp.update.outer_middleware(SeenUpdates(self.monitor))
            if not self.webhook_mode:
                self.bot.session.middleware(PollWatch(self.monitor))
        dp.update.outer_middleware(PressMiddleware())
        dp.update.outer_middleware(DbSessionMiddleware(self.sessionmaker))
        OfficialLocaleMiddleware(i18n).setup(dp)
        dp.include_router(build_router())
        self.dispatcher = dp
        if self.webhook_mode and self.roles.api:
            secret = self.settings.telegram.webhook_secret
            assert secret is not None  # checked by make_bot
            self.receiver = WebhookReceiver(
                dispatcher=dp, bot=self.bot, secret=secret.get_secret_value(), taken=self._taken()
            )
        log.info("bot @%s ready (%s)", me.username, self.settings.telegram.mode)

    def _taken(self) -> SharedIds | None:
        """Scaled out (Redis), every API process sees which updates any of them took."""
        if not self.settings.redis_url:
            return None
        self._redis = Redis.from_url(self.settings.redis_url)
        return SharedIds(self._redis, prefix=f"loa:webhook:{self.bot_account_id}:")

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

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._on_task_done)
        self._tasks.append(task)
        return task

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s stopped with an error", task.get_name(), exc_info=task.exception())

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop everything, in order; a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        if self.roles.bot and self.webhook_mode and self.bot is not None:
            # First, so that Telegram keeps updates for the next start instead of posting
            # them to an API that is going away.
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
            except TelegramAPIError as exc:
                log.warning("deleteWebhook failed at stop: %s", exc)
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
            if task.get_name() in ("status", "webhook-watch"):
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.receiver is not None:
            await self.receiver.close()  # the updates taken before the API stopped
        if self.services is not None:
            with contextlib.suppress(TimeoutError):  # the latest status, if Telegram takes it
                await asyncio.wait_for(self.services.outbox.settled(), timeout=5)
            await self.services.outbox.close()
        await self.limits.close()
        if self._redis is not None:
            await self._redis.aclose()
        if self.dispatcher is not None:
            await self.dispatcher.storage.close()
        if self.bot is not None:
            await self.bot.session.close()
        await self.engine.dispose()
