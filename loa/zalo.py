"""The Zalo side of the runtime: one `ZaloFront` per active Zalo bot account, fed by a
getUpdates loop (polling, the default) or by the API's webhook route (webhook mode).

Like the Telegram side: the bot role polls, or calls setWebhook at start (the URL is
``LOA_ZALO__WEBHOOK_URL`` + ``/zalo/webhook/<bot account id>``, the secret
``LOA_ZALO__WEBHOOK_SECRET``) and deleteWebhook at stop; the API role hosts the intake.
A bot whose getMe fails is logged and skipped: one ward's broken token does not stop the
others. Sends go through the process's limiter, at the Zalo rate. With ``LOA_REDIS_URL``
set, the webhook intakes of every API process share one duplicate filter in Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.routes.zalo_webhook import zalo_webhook_path
from bot.i18n import make_i18n
from bot.zalo.composer import Plan, ZaloComposer
from bot.zalo.handlers import AckHook, ZaloFront
from bot.zalo.receiving import EventFilter, SeenEvents, SharedEvents, WebhookIntake, poll_updates
from broadcasts.attempts import CodeAttempts
from broadcasts.bots import active_bots
from broadcasts.db import session_scope
from broadcasts.delivery.limits import LimiterBackend
from broadcasts.settings import Settings, ZaloSettings
from broadcasts.transports.zalo import ZaloTransport
from broadcasts.transports.zalo_client import ZaloApiError, ZaloClient
from broadcasts.transports.zalo_wire import SECRET_MAX, SECRET_MIN

log = logging.getLogger(__name__)
Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]


def check_zalo_webhook_settings(zalo: ZaloSettings) -> None:
    if zalo.mode != "webhook":
        return
    if not (zalo.webhook_url or "").startswith(("https://", "http://")):
        raise SystemExit(
            "LOA_ZALO__MODE=webhook needs LOA_ZALO__WEBHOOK_URL: the public https:// address "
            "of Loa's API (Zalo posts to it + /zalo/webhook/<bot>)."
        )
    secret = zalo.webhook_secret.get_secret_value() if zalo.webhook_secret else ""
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise SystemExit(
            "LOA_ZALO__MODE=webhook needs LOA_ZALO__WEBHOOK_SECRET: 8 to 256 characters."
        )


@dataclass
class ServedZalo:
    account_id: int
    client: ZaloClient
    front: ZaloFront
    intake: WebhookIntake | None = None


class ZaloRuntime:
    """Every Zalo bot this process serves."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        limits: LimiterBackend,
        mask: Callable[[str], None],
        on_ack: AckHook | None = None,
    ) -> None:
        self.settings = settings
        self._on_ack = on_ack
        self.sessionmaker = sessionmaker
        self.limits = limits
        self._mask = mask
        self.served: list[ServedZalo] = []
        self._session: aiohttp.ClientSession | None = None
        self._redis: Redis | None = None

    @property
    def webhook_mode(self) -> bool:
        return self.settings.zalo.mode == "webhook"

    @property
    def webhooks(self) -> dict[int, WebhookIntake]:
        return {s.account_id: s.intake for s in self.served if s.intake is not None}

    async def load(self, *, intake: bool) -> None:
        """Make a front for every active Zalo bot (`intake`: this process hosts webhooks)."""
        check_zalo_webhook_settings(self.settings.zalo)
        async with session_scope(self.sessionmaker) as session:
            accounts = [
                (a.id or 0, a.token) for a in await active_bots(session=session, transport="zalo")
            ]
        if not accounts:
            return
        self._session = aiohttp.ClientSession()
        attempts = CodeAttempts(sessionmaker=self.sessionmaker, settings=self.settings.codes)
        secret = self.settings.zalo.webhook_secret
        i18n = make_i18n(default_locale=self.settings.default_locale)
        for account_id, token in accounts:
            self._mask(token)
            client = ZaloClient(
                token,
                session=self._session,
                api_base=self.settings.zalo.api_base,
                timeout=self.settings.delivery.send_timeout_seconds,
            )
            try:
                me = await client.get_me()
            except (ZaloApiError, TimeoutError, aiohttp.ClientError) as exc:
                log.warning("zalo bot account %s is not served: getMe failed: %s", account_id, exc)
                continue
            self.limits.use_transport(account_id, "zalo")
            composer = ZaloComposer(
                account_id=account_id,
                sessionmaker=self.sessionmaker,
                settings=self.settings,
                i18n=i18n,
            )
            front = ZaloFront(
                account_id=account_id,
                account_name=me.account_name,
                transport=ZaloTransport(client, quota_retry=self.settings.zalo.quota_retry_seconds),
                sessionmaker=self.sessionmaker,
                attempts=attempts,
                limits=self.limits,
                on_ack=self._on_ack,
                composer=composer,
            )
            served = ServedZalo(account_id, client, front)
            if intake and self.webhook_mode and secret is not None:
                served.intake = WebhookIntake(
                    front=front, secret=secret.get_secret_value(), seen=self._seen(account_id)
                )
            self.served.append(served)
            log.info("zalo bot %s ready (account %s)", me.account_name, account_id)

    def _seen(self, account_id: int) -> EventFilter:
        """Scaled out (Redis), every API process sees which events any of them took."""
        if not self.settings.redis_url:
            return SeenEvents()
        if self._redis is None:
            self._redis = Redis.from_url(self.settings.redis_url)
        return SharedEvents(self._redis, prefix=f"loa:zalo-webhook:{account_id}:")

    def use_scheduler(self, plan: Plan, unplan: Callable[[int], None]) -> None:
        """Officials composing on Zalo plan their notices with this process's scheduler."""
        for served in self.served:
            if served.front.composer is not None:
                served.front.composer.plan = plan
                served.front.composer.unplan = unplan

    async def start(self, spawn: Spawn) -> None:
        """Poll, or tell Zalo where to post (the bot role)."""
        for served in self.served:
            if self.webhook_mode:
                base = (self.settings.zalo.webhook_url or "").rstrip("/")
                secret = self.settings.zalo.webhook_secret
                assert secret is not None  # checked in load
                try:
                    await served.client.set_webhook(
                        base + zalo_webhook_path(served.account_id), secret.get_secret_value()
                    )
                except ZaloApiError as exc:
                    raise SystemExit(f"Zalo refused the webhook: {exc.description}") from exc
            else:
                spawn(
                    poll_updates(
                        served.client,
                        served.front,
                        timeout=self.settings.zalo.poll_timeout_seconds,
                    ),
                    f"zalo-{served.account_id}",
                )

    async def stop(self, *, bot_role: bool) -> None:
        if bot_role and self.webhook_mode:
            for served in self.served:
                try:
                    await served.client.delete_webhook()
                except (ZaloApiError, TimeoutError, aiohttp.ClientError) as exc:
                    log.warning("zalo deleteWebhook failed at stop: %s", exc)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
