"""Loa on the sandbox, in polling or webhook mode, with a real API server on port 0.

Used by the webhook, group and acknowledgement tests. In webhook mode the test plays
Telegram's side of the webhook: it posts Update objects to the API as Telegram would
(`post_update`), for chats the sandbox knows, so the bot's answers land in the sandbox.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col

from api.routes.telegram_webhook import SECRET_HEADER, webhook_path
from broadcasts.area_import import import_areas_csv
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.models import Area, AreaLevel, Channel, Delivery, InviteKind
from broadcasts.notices import (
    RenditionInput,
    create_notice,
    save_renditions,
    schedule_notice,
    set_targets,
)
from broadcasts.settings import ApiSettings, DeliverySettings, Settings, TelegramSettings
from loa.demo import Player
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer

SAMPLES = Path(__file__).resolve().parents[2] / "broadcasts" / "samples"
TOKEN = "710002:WebhookWardBot"
USERNAME = "loa710002_bot"  # the sandbox names a bot loa<id>_bot
SECRET = "t3st-Secret_token-0123456789"
PUBLIC_URL = "https://loa.example.test"
WEBHOOK_URL = PUBLIC_URL + webhook_path(1)  # the first bot account of a fresh database


@dataclass
class Loa:
    runtime: Runtime
    sandbox: SandboxServer
    client: SandboxClient
    api: httpx.AsyncClient
    player: Player
    codes: dict[str, str]  # area code -> an unused registration code
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    # --- acting as another tool, or as Telegram's webhook sender ---------------------

    async def bot_api(self, method: str, **params: Any) -> Any:
        return await bot_api(self.sandbox.url, method, **params)

    def next_id(self) -> int:
        return next(self._ids)

    async def post_update(
        self, update: dict[str, Any], *, secret: str | None = SECRET, bot_id: int = 1
    ) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return await self.api.post(webhook_path(bot_id), json=update, headers=headers)

    def group_message(
        self, chat: dict[str, Any], user: dict[str, Any], text: str, **fields: Any
    ) -> dict[str, Any]:
        """The Update Telegram posts for a person's message in a group."""
        command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
        message: dict[str, Any] = {
            "message_id": self.next_id(),
            "from": {"is_bot": False, **user},
            "chat": chat,
            "date": int(time.time()),
            "text": text,
            **fields,
        }
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": self.next_id(), "message": message}

    # --- reading back ------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        response = await self.api.get("/health")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_health(self, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        body: dict[str, Any] = await self.wait_for(self.health, check, "the /health answer")
        return body

    async def channel(self, chat_id: int) -> Channel | None:
        async with session_scope(self.runtime.sessionmaker) as session:
            return (
                await session.scalars(select(Channel).where(col(Channel.chat_ref) == str(chat_id)))
            ).first()

    async def deliveries(self, notice_id: int) -> dict[str, Delivery]:
        """The notice's deliveries by chat ref."""
        async with session_scope(self.runtime.sessionmaker) as session:
            rows = await session.execute(
                select(Delivery, col(Channel.chat_ref))
                .join(Channel, col(Channel.id) == col(Delivery.channel_id))
                .where(col(Delivery.notice_id) == notice_id)
            )
            return {chat_ref: delivery for delivery, chat_ref in rows}

    async def send_notice(self, area_codes: list[str], text: str) -> int:
        """A notice to these areas, fired now (as the official's "send now" would)."""
        async with session_scope(self.runtime.sessionmaker) as session:
            areas = list(await session.scalars(select(Area).where(col(Area.code).in_(area_codes))))
            ward = (await session.scalars(select(Area).where(col(Area.code) == "BT"))).one()
            notice = await create_notice(session=session, ward_id=ward.id or 0, text=text)
            notice_id = notice.id or 0
            await save_renditions(
                session=session,
                notice_id=notice_id,
                renditions=[RenditionInput(locale="vi", text=text, source="edited")],
            )
            await set_targets(
                session=session, notice_id=notice_id, area_ids=[a.id or 0 for a in areas]
            )
            await schedule_notice(session=session, notice_id=notice_id)
        assert self.runtime.scheduler is not None
        assert await self.runtime.scheduler.fire(notice_id) == len(area_codes)
        return notice_id

    async def wait_for(
        self, read: Callable[[], Awaitable[Any]], check: Callable[[Any], bool], what: str
    ) -> Any:
        deadline = time.monotonic() + 20
        while True:
            value = await read()
            if check(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} never came true; last: {value!r}")
            await asyncio.sleep(0.05)


async def bot_api(sandbox_url: str, method: str, **params: Any) -> Any:
    """Call the sandbox's Bot API with the bot's token, as any other tool could."""
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        body = (await http.post(f"/bot{TOKEN}/{method}", json=params)).json()
    assert body["ok"], body
    return body["result"]


QUICK: dict[str, Any] = {"webhook_watch_seconds": 0.2}


def loa_settings(
    database_url: str,
    sandbox_url: str,
    *,
    mode: Literal["polling", "webhook"] = "polling",
    webhook_url: str = PUBLIC_URL,
) -> Settings:
    webhook = mode == "webhook"
    return Settings(
        database_url=database_url,
        telegram=TelegramSettings(
            token=SecretStr(TOKEN),
            api_base=sandbox_url,
            poll_timeout_seconds=1,
            mode=mode,
            webhook_url=webhook_url if webhook else None,
            webhook_secret=SecretStr(SECRET) if webhook else None,
        ),
        api=ApiSettings(port=0),
        delivery=DeliverySettings(poll_interval_seconds=0.2, backoff_base_seconds=0.1),
    )


async def seed(runtime: Runtime) -> dict[str, str]:
    """The sample ward's tree, and a registration code for each khu phố and tổ."""
    async with session_scope(runtime.sessionmaker) as session:
        csv_text = (SAMPLES / "ward-ben-thanh.csv").read_text(encoding="utf-8")
        await import_areas_csv(session=session, ward_code=None, data=csv_text)
        areas = list(
            await session.scalars(
                select(Area).where(col(Area.level).in_([AreaLevel.neighbourhood, AreaLevel.group]))
            )
        )
        return {
            a.code: (
                await create_invite(session=session, kind=InviteKind.channel, area_id=a.id or 0)
            ).code
            for a in areas
        }


@asynccontextmanager
async def open_loa(
    database_url: str,
    *,
    mode: Literal["polling", "webhook"] = "polling",
    before_start: Callable[[str], Awaitable[None]] | None = None,
    configure: Callable[[Settings], None] | None = None,
) -> AsyncIterator[Loa]:
    """Loa with every role on the sandbox; `before_start(sandbox_url)` runs before Loa,
    `configure(settings)` may change the settings first."""
    sandbox = SandboxServer()
    await sandbox.start()
    settings = loa_settings(database_url, sandbox.url, mode=mode)
    if configure is not None:
        configure(settings)
    runtime = Runtime(settings, Roles(), **QUICK)
    client = SandboxClient(sandbox.url)
    api: httpx.AsyncClient | None = None
    try:
        if before_start is not None:
            await before_start(sandbox.url)
        await runtime.start()
        api = httpx.AsyncClient(base_url=runtime.api_url)
        codes = await seed(runtime)
        yield Loa(runtime, sandbox, client, api, Player(client, TOKEN), codes)
    finally:
        await runtime.stop()
        if api is not None:
            await api.aclose()
        await client.aclose()
        await sandbox.stop()
