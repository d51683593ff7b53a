"""The runtime: builds the bot, API, scheduler and delivery worker from settings and runs
any combination of them in one event loop (`loa run` runs them all).

Updates reach the bot by polling (the bot role polls, `bot.polling`; a webhook left over
from another tool is deleted first, since Telegram refuses getUpdates while one is set) or
by webhook:
the bot role calls setWebhook at start and deleteWebhook at stop, and the API role hosts
the endpoint and handles the updates (`loa run` does both; scaled out, `loa bot` sets the
webhook and every `loa api` behind the public URL takes updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.types import TelegramObject
from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from api.routes.telegram_webhook import webhook_path
from api.schemas import BotHealth
from bot.ack_intake import AckIntake, IntakeDispatcher
from bot.approvals import SWEEP_SECONDS as APPROVAL_SWEEP_SECONDS
from bot.approvals import sweep_approvals
from bot.escalation import tell_escalation
from bot.handlers import build_router
from bot.i18n import OfficialLocaleMiddleware, make_i18n
from bot.middlewares import DbSessionMiddleware
from bot.polling import Polling
from bot.press import PressMiddleware
from bot.receiving import SeenUpdates, UpdateMonitor
from bot.reviews import show_api_reviews
from bot.services import Services
from bot.webhook import SharedIds, WebhookReceiver
from broadcasts.bots import active_bots, count_bots
from broadcasts.channels import get_or_create_bot_account
from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.delivery.clock import LOOP_CLOCK
from broadcasts.delivery.limits import LimiterBackend, make_limits
from broadcasts.escalation import Escalation
from broadcasts.health import keep_beating
from broadcasts.migrate import upgrade_async
from broadcasts.models import Delivery
from broadcasts.notices import notice_wards, notices_in_flight
from broadcasts.scheduling import NoticeScheduler
from broadcasts.settings import Settings, TelegramSettings
from broadcasts.tokens import TokenKeyInvalid, has_token_key, use_token_key
from broadcasts.transports import aiogram_responses  # noqa: F401 - keeps them built
from loa.logmask import install_token_mask
from loa.zalo import ZaloRuntime

log = logging.getLogger(__name__)
# How long stopping waits for the updates being handled (an answer, a screen or two).
_HANDLERS_GRACE_SECONDS = 15.0

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


def make_bot(settings: Settings, token: str | None = None) -> Bot:
    """The bot of `token` (default: LOA_TELEGRAM__TOKEN) on the configured Bot API server."""
    if token is None and settings.telegram.token is None:
        raise SystemExit("LOA_TELEGRAM__TOKEN is not set: the bot needs a Telegram bot token.")
    check_webhook_settings(settings.telegram)
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    if token is None:
        assert settings.telegram.token is not None
        token = settings.telegram.token.get_secret_value()
    return Bot(token, session=session)


def install_token_key(settings: Settings) -> None:
    """Use LOA_SECRET_KEY for the stored bot tokens; stop at start if it is malformed."""
    if settings.secret_key is None:
        return
    try:
        use_token_key(settings.secret_key.get_secret_value())
    except TokenKeyInvalid as exc:
        raise SystemExit(exc.message) from exc


@dataclass
class ServedBot:
    """One bot this process serves: its account, its Bot, its services (and outbox)."""

    account_id: int
    ward_id: int | None
    bot: Bot
    services: Services
    receiver: WebhookReceiver | None = None


class ServicesByBot(BaseMiddleware):
    """Gives each update the services of the bot it came to (one dispatcher, many bots)."""

    def __init__(self, by_bot: dict[int, Services]) -> None:
        self._by_bot = by_bot

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bot: Bot = data["bot"]
        data["services"] = self._by_bot[bot.id]
        return await handler(event, data)


class InFlight(BaseMiddleware):
    """The updates being handled now, so that stopping waits for them before it closes the
    bots' HTTP sessions (aiogram's polling stops without waiting for its handler tasks; a
    handler sending after the close would open a session that nothing closes)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        task = asyncio.current_task()
        if task is None:
            return await handler(event, data)
        self._tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            self._tasks.discard(task)

    async def settle(self, grace: float) -> None:
        """Wait up to `grace` seconds for the updates in hand; cancel what is left."""
        pending = self._tasks - {asyncio.current_task()}
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


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


async def _repeat(what: str, every: float, step: Callable[[], Awaitable[None]]) -> None:
    """Run `step` every `every` seconds for as long as the process runs. A background
    sweep must outlive any one failure: one that raises is logged and tried again next
    round, rather than ending the task (and with it, say, every approver's request)."""
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s failed; trying again in %s s", what, every)
        await asyncio.sleep(every)


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
        self.served: list[ServedBot] = []  # the first one is also `bot`, `services`
        self.mask = install_token_mask()
        self._i18n = make_i18n(default_locale=settings.default_locale)
        self.monitor: UpdateMonitor | None = None  # set where this process receives updates
        self.receiver: WebhookReceiver | None = None
        self.pollings: list[Polling] = []  # one per bot, when this process polls
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight = InFlight()
        self._stopped = False
        self._redis: Redis | None = None
        # One account limit for this process's bot screens and deliveries (Redis-backed
        # when configured, so that other processes sending for the same bot share it).
        self.limits: LimiterBackend = make_limits(
            settings.delivery, settings.redis_url, transport_rates=settings.transport_rates
        )
        self.zalo = ZaloRuntime(
            settings=settings,
            sessionmaker=self.sessionmaker,
            limits=self.limits,
            mask=self.mask.add,
            on_ack=self._zalo_acknowledged,
        )

    async def start(self, *, migrate: bool = True) -> None:
        install_token_key(self.settings)
        if migrate:
            await upgrade_async(self.settings.database_url)
        await self._check_token_key()
        zalo_intake = self.roles.api and self.zalo.webhook_mode
        if self.roles.bot or zalo_intake:
            await self.zalo.load(intake=zalo_intake)
        if self.roles.bot or self.roles.scheduler or (self.webhook_mode and self.roles.api):
            await self._start_bot_services()
        if self.roles.worker:
            self.worker = DeliveryWorker(
                sessionmaker=self.sessionmaker,
                settings=self.settings,
                limits=self.limits,
                on_progress=self._refresh_status if self.served else None,
            )
            self._spawn(self.worker.run(), "worker")
        if self.roles.scheduler:
            self.scheduler = NoticeScheduler(
                sessionmaker=self.sessionmaker,
                on_dispatched=self._dispatched,
                on_escalated=self._escalated,
            )
            await self.scheduler.start()
            for served in self.served:
                served.services.plan = self.scheduler.plan
                served.services.unplan = self.scheduler.unplan
            self.zalo.use_scheduler(self.scheduler.plan, self.scheduler.unplan)
        if self.worker is not None:
            for served in self.served:
                served.services.wake_delivery = self.worker.wake
        if self.roles.api:
            await self._start_api()
        if self.roles.bot and not self.roles.worker:
            # Workers run elsewhere and cannot reach this bot: follow progress from the database.
            self._spawn(self._follow_progress(), "status")
        if self.roles.bot:
            # Notices confirmed through the API (or before a restart) reach the approvers.
            self._spawn(self._ask_approvers(), "approvals")
        if self.roles.bot and self.dispatcher is not None:
            self._spawn(self._show_reviews(), "reviews")  # API drafts for an official
        if self.roles.bot and self.webhook_mode:
            await self._set_webhook()
        elif self.roles.bot and self.dispatcher is not None:
            await self._start_polling()
        if self.roles.bot:
            await self.zalo.start(self._spawn)
        if self.receiver is not None:
            self._spawn(self._watch_webhook(), "webhook-watch")
        if self.monitor is not None and self.receives_updates:
            self._spawn(self._beat_receiving(self.monitor), "bot-heartbeat")

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
            on_ack=self._acknowledged_by_link,
            webhooks={s.account_id: s.receiver for s in self.served if s.receiver} or None,
            bot_health=self._bot_health if self.monitor is not None else None,
            zalo_webhooks=self.zalo.webhooks or None,
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

    async def _beat_receiving(self, monitor: UpdateMonitor) -> None:
        """The "receiving" heartbeat `/health` reads from any API process, while this
        process's bot receives updates (`bot.receiving`)."""
        await keep_beating(
            sessionmaker=self.sessionmaker,
            role="bot",
            process_id=f"bot:{socket.gethostname()[:40]}:{os.getpid()}",
            every=self.settings.health.beat_seconds,
            clock=LOOP_CLOCK,
            is_doing=lambda: monitor.status().receiving,
        )

    def _bot_health(self) -> BotHealth:
        assert self.monitor is not None
        return BotHealth(**asdict(self.monitor.status()))

    def _webhook_url(self, account_id: int) -> str:
        base = (self.settings.telegram.webhook_url or "").rstrip("/")
        return base + webhook_path(account_id)

    async def _start_polling(self) -> None:
        assert self.dispatcher is not None
        for served in self.served:
            info = await served.bot.get_webhook_info()
            if info.url:
                # Telegram answers getUpdates with 409 for as long as a webhook is set.
                await served.bot.delete_webhook(drop_pending_updates=False)
                log.info("a webhook was set (url %s); deleted it to poll", _shown(info.url))
        assert isinstance(self.dispatcher, IntakeDispatcher)
        for served in self.served:
            # Backpressure: the next getUpdates waits for room (the database pool is
            # guarded by DbSessionMiddleware's own bound, and presses by their batch).
            polling = Polling(
                dispatcher=self.dispatcher,
                bot=served.bot,
                timeout=self.settings.telegram.poll_timeout_seconds,
                concurrency=self.settings.telegram.update_concurrency,
                monitor=self.monitor,
            )
            self.pollings.append(polling)
            self._spawn(polling.run(), "bot")

    async def _set_webhook(self) -> None:
        for served in self.served:
            await self._set_webhook_of(served)

    async def _set_webhook_of(self, served: ServedBot) -> None:
        assert self.dispatcher is not None
        secret = self.settings.telegram.webhook_secret
        assert secret is not None  # checked by make_bot
        url = self._webhook_url(served.account_id)
        try:
            await served.bot.set_webhook(
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
        assert self.monitor is not None
        while True:
            problems = [p for s in self.served if (p := await self._webhook_problem(s))]
            if problems:
                self.monitor.failed("; ".join(problems))
            else:
                self.monitor.succeeded()
            await asyncio.sleep(self.webhook_watch_seconds)

    async def _webhook_problem(self, served: ServedBot) -> str | None:
        expected = self._webhook_url(served.account_id)
        try:
            info = await served.bot.get_webhook_info()
        except TelegramAPIError as exc:
            return f"getWebhookInfo failed: {exc.message}"
        if info.url == expected:
            return None
        found = _shown(info.url) if info.url else "no webhook"
        return f"the webhook is not ours: {found} (expected {expected})"

    async def _check_token_key(self) -> None:
        """Stop at start, saying why, when bot tokens are (or would be) stored without a key."""
        if has_token_key():
            return
        async with session_scope(self.sessionmaker) as session:
            stored = await count_bots(session=session)
        if stored or self.settings.telegram.token is not None:
            raise SystemExit(
                "LOA_SECRET_KEY is not set: bot tokens are stored encrypted and Loa needs the "
                'key to read them. Make one with: python -c "from cryptography.fernet import '
                'Fernet; print(Fernet.generate_key().decode())" (keep it: without it the '
                "stored tokens cannot be read)."
            )

    async def _accounts(self) -> list[tuple[int, str, int | None, bool]]:
        """(account id, token, ward id, from settings) of every bot to serve: the token in
        the settings (if any) first, then every active bot stored (added with POST /bots)."""
        found: list[tuple[int, str, int | None, bool]] = []
        async with session_scope(self.sessionmaker) as session:
            if self.settings.telegram.token is not None:
                token = self.settings.telegram.token.get_secret_value()
                account = await get_or_create_bot_account(session=session, token=token)
                found.append((account.id or 0, token, account.ward_id, True))
            for account in await active_bots(session=session):
                if all(account.id != f[0] for f in found):
                    found.append((account.id or 0, account.token, account.ward_id, False))
        return found

    async def _serve_account(
        self, account_id: int, token: str, ward_id: int | None, *, required: bool
    ) -> ServedBot | None:
        self.mask.add(token)
        bot = make_bot(self.settings, token)
        try:
            me = await bot.me()  # cached: the dispatcher's polling asks for it again
        except TelegramAPIError as exc:
            await bot.session.close()
            if required:
                raise
            # One ward's broken token must not stop the other wards' bots.
            log.warning("bot account %s is not served: getMe failed: %s", account_id, exc)
            return None
        async with session_scope(self.sessionmaker) as session:
            await get_or_create_bot_account(session=session, token=token, username=me.username)
        services = Services(
            settings=self.settings,
            sessionmaker=self.sessionmaker,
            bot=bot,
            i18n=self._i18n,
            bot_account_id=account_id,
            ward_id=ward_id,
            limits=self.limits,
        )
        log.info("bot @%s ready (account %s)", me.username, account_id)
        return ServedBot(account_id, ward_id, bot, services)

    async def _start_bot_services(self) -> None:
        for account_id, token, ward_id, required in await self._accounts():
            served = await self._serve_account(account_id, token, ward_id, required=required)
            if served is not None:
                self.served.append(served)
        if not self.served and self.zalo.served:
            return  # Zalo bots only: no Telegram dispatcher to run
        if not self.served:
            raise SystemExit(
                "no bot to serve: set LOA_TELEGRAM__TOKEN, or add a ward's bot with POST /bots."
            )
        first = self.served[0]
        self.bot, self.services, self.bot_account_id = first.bot, first.services, first.account_id
        storage = make_storage(self.settings)
        by_bot = {s.bot.id: s.services for s in self.served}
        if self.receives_updates:
            self.monitor = UpdateMonitor(self.settings.telegram.mode)
        # Đã nhận presses skip the middlewares and the router below (`bot.ack_intake`).
        intake = AckIntake(by_bot, monitor=self.monitor)
        dp = IntakeDispatcher(
            intake=intake, storage=storage, events_isolation=make_isolation(storage)
        )
        dp.update.outer_middleware(self._in_flight)
        dp.update.outer_middleware(ServicesByBot(by_bot))
        if self.monitor is not None:
            dp.update.outer_middleware(SeenUpdates(self.monitor))
        dp.update.outer_middleware(PressMiddleware())
        dp.update.outer_middleware(
            DbSessionMiddleware(
                self.sessionmaker, concurrency=self.settings.telegram.session_concurrency
            )
        )
        OfficialLocaleMiddleware(self._i18n).setup(dp)
        dp.include_router(build_router())
        self.dispatcher = dp
        if self.webhook_mode and self.roles.api:
            secret = self.settings.telegram.webhook_secret
            assert secret is not None  # checked by make_bot
            for served in self.served:
                served.receiver = WebhookReceiver(
                    dispatcher=dp,
                    bot=served.bot,
                    secret=secret.get_secret_value(),
                    taken=self._taken(served.account_id),
                    concurrency=self.settings.telegram.update_concurrency,
                    intake=intake,
                )
            self.receiver = first.receiver
        log.info("%d bot(s) ready (%s)", len(self.served), self.settings.telegram.mode)

    def _taken(self, account_id: int) -> SharedIds | None:
        """Scaled out (Redis), every API process sees which updates any of them took."""
        if not self.settings.redis_url:
            return None
        if self._redis is None:
            self._redis = Redis.from_url(self.settings.redis_url)
        return SharedIds(self._redis, prefix=f"loa:webhook:{account_id}:")

    async def _zalo_acknowledged(self, notice_id: int) -> None:
        await self._refresh_status({notice_id})

    async def _refresh_status(self, notice_ids: Iterable[int]) -> None:
        """Each notice's status message is edited by the bot of the notice's ward (the
        bot its official writes to), else by a city-wide one, else by the first."""
        ids = set(notice_ids)
        if not ids or not self.served:
            return
        if len(self.served) == 1:
            await self.served[0].services.refresh_status(ids)
            return
        async with session_scope(self.sessionmaker) as session:
            wards = await notice_wards(session=session, notice_ids=ids)
        city = next((s for s in self.served if s.ward_id is None), self.served[0])
        by_ward = {s.ward_id: s for s in self.served if s.ward_id is not None}
        for notice_id, ward_id in wards.items():
            await by_ward.get(ward_id, city).services.refresh_status({notice_id})

    async def _follow_progress(self, every: float = 3.0) -> None:
        async def step() -> None:
            async with session_scope(self.sessionmaker) as session:
                ids = await notices_in_flight(session=session)
            await self._refresh_status(ids)

        await _repeat("following progress", every, step)

    async def _ask_approvers(self, every: float = APPROVAL_SWEEP_SECONDS) -> None:
        # Each ward's approvers are asked by its own bot; the others by a city-wide bot.
        own = {s.ward_id for s in self.served if s.ward_id is not None}
        city = next((s for s in self.served if s.ward_id is None), None)

        async def step() -> None:
            for served in self.served:
                if served.ward_id is None and served is not city:
                    continue
                ward_id = served.ward_id

                def covers(w: int, ward_id: int | None = ward_id) -> bool:
                    return w == ward_id if ward_id is not None else w not in own

                try:
                    await sweep_approvals(served.services, covers)
                except (TelegramAPIError, SQLAlchemyError) as exc:  # the next round tries again
                    log.warning("approval sweep failed: %s", exc)

        await _repeat("the approval sweep", every, step)

    async def _show_reviews(self, every: float = 3.0) -> None:
        async def step() -> None:
            assert self.dispatcher is not None
            for served in self.served:
                try:
                    await show_api_reviews(services=served.services, dispatcher=self.dispatcher)
                except (SQLAlchemyError, TelegramAPIError):
                    log.exception("showing API notices for review failed; will try again")

        await _repeat("showing API notices for review", every, step)

    async def _dispatched(self, notice_id: int, created: int) -> None:
        if self.worker is not None:
            self.worker.wake()
        await self._refresh_status({notice_id})

    async def _escalated(self, escalation: Escalation) -> None:
        """The deadline's summary and the contacts' messages go out through the bot of
        the notice's ward (else a city-wide one, else the first)."""
        if self.worker is not None:
            self.worker.wake()  # the automatic reminders
        if not self.served:
            return
        city = next((s for s in self.served if s.ward_id is None), self.served[0])
        by_ward = {s.ward_id: s for s in self.served if s.ward_id is not None}
        await tell_escalation(by_ward.get(escalation.ward_id, city).services, escalation)
        await self._refresh_status({escalation.notice_id})

    async def _cancelled(self, notice_id: int) -> None:
        if self.scheduler is not None:
            self.scheduler.unplan(notice_id)
        await self._refresh_status({notice_id})

    async def _acknowledged_by_link(self, notice_id: int, delivery_id: int) -> None:
        """A press on a signed link: the status message, and the «✅ Đã nhận» line under
        the notice where its bot (a Telegram one this process serves) can edit it."""
        await self._refresh_status({notice_id})
        async with session_scope(self.sessionmaker) as session:
            delivery = await session.get(Delivery, delivery_id)
        served = next(
            (s for s in self.served if delivery is not None and s.account_id == delivery.bot_id),
            None,
        )
        if served is not None:
            served.services.show_acks(delivery_id)

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
        if self.roles.bot and self.webhook_mode:
            # First, so that Telegram keeps updates for the next start instead of posting
            # them to an API that is going away.
            for served in self.served:
                try:
                    await served.bot.delete_webhook(drop_pending_updates=False)
                except TelegramAPIError as exc:
                    log.warning("deleteWebhook failed at stop: %s", exc)
        for task in self._tasks:
            if task.get_name() == "bot":  # polling: no getUpdates after this one
                task.cancel()
        await self._in_flight.settle(_HANDLERS_GRACE_SECONDS)
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.worker is not None:
            await self.worker.stop()
        if self.api_server is not None:
            self.api_server.should_exit = True
        for task in self._tasks:
            name = task.get_name()
            if name in (
                "status",
                "webhook-watch",
                "approvals",
                "reviews",
                "bot-heartbeat",
            ) or name.startswith("zalo-"):
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for served in self.served:
            if served.receiver is not None:
                await served.receiver.close()  # the updates taken before the API stopped
        for polling in self.pollings:
            await polling.close()  # the updates taken before polling stopped
        for served in self.served:
            await served.services.presses.close()  # the presses in hand, written
        for served in self.served:
            with contextlib.suppress(TimeoutError):  # the latest status, if Telegram takes it
                await asyncio.wait_for(served.services.outbox.settled(), timeout=5)
            await served.services.outbox.close()
        await self.zalo.stop(bot_role=self.roles.bot)
        await self.limits.close()
        if self._redis is not None:
            await self._redis.aclose()
        if self.dispatcher is not None:
            await self.dispatcher.storage.close()
        for served in self.served:
            await served.bot.session.close()
        await self.engine.dispose()
