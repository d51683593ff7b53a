"""Telegram groups get the acknowledgement link too, over the strict sandbox: under the
notice's text (the Đã nhận button stays), naming each group's own delivery, and a
correction edited in place keeps it above «✏️ Đã đính chính»."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.ai import AISettings
from broadcasts.corrections import correct_notice
from broadcasts.db import session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.links import LinkKind, verify
from broadcasts.models import Delivery, DeliveryKind
from broadcasts.reminders import remind_silent
from broadcasts.settings import ApiSettings
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.broadcasts.delivery.conftest import make_groups, make_settings, new_token, sqlite_only
from tests.broadcasts.delivery.world import seed

PUBLIC = "https://loa.example.vn"
LINK = re.compile(r"Hoặc bấm: (" + re.escape(PUBLIC) + r"/a/(\S+))")
CORRECTED = "Thông báo: cúp điện khu phố 1 từ 13 giờ đến 16 giờ chiều thứ Bảy."


def _worker(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], sandbox: SandboxServer
) -> DeliveryWorker:
    settings = make_settings(database_url, sandbox.url)
    settings = settings.model_copy(update={"api": ApiSettings(public_url=PUBLIC)})
    return DeliveryWorker(sessionmaker=sessionmaker, settings=settings)


def _buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row]


@sqlite_only
async def test_each_group_gets_its_own_link_and_a_correction_keeps_it(
    tg: SandboxClient,
    sandbox: SandboxServer,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    groups = await make_groups(tg, token, 2)
    seeded = await seed(sessionmaker, groups={token: groups})
    assert await _worker(database_url, sessionmaker, sandbox).run_until_idle(timeout=60)
    async with session_scope(sessionmaker) as session:
        deliveries = {
            d.channel_id: d.id
            for d in await session.scalars(
                select(Delivery).where(col(Delivery.kind) == DeliveryKind.notice)
            )
        }
    now = datetime.now(UTC)
    first: dict[int, dict[str, Any]] = {}
    for chat in groups:
        [message] = await tg.messages(token, chat)
        first[chat] = message
        found = LINK.search(message["plain_text"])
        assert found is not None, message["plain_text"]
        assert message["plain_text"].endswith(found.group(0))  # the last line, above the button
        assert _buttons(message)  # the Đã nhận button stays
        claim = verify(found.group(2), LinkKind.ack, now=now)
        assert claim.delivery_id == deliveries[seeded.channel_of(token, chat)]
    async with session_scope(sessionmaker) as session:
        await correct_notice(
            session=session,
            notice_id=seeded.notice_id,
            text=CORRECTED,
            ai=AISettings(),
            actor="Cán bộ Lan",
        )
    assert await _worker(database_url, sessionmaker, sandbox).run_until_idle(timeout=60)
    for chat in groups:
        [edited] = await tg.messages(token, chat)
        text = edited["plain_text"]
        assert "13 giờ" in text and text.endswith("✏️ Đã đính chính")
        found = LINK.search(text)
        assert found is not None, text
        claim = verify(found.group(2), LinkKind.ack, now=now)
        assert claim.delivery_id == deliveries[seeded.channel_of(token, chat)]
        assert _buttons(edited) == _buttons(first[chat])


async def test_a_reminder_carries_the_groups_link_and_the_button(
    tg: SandboxClient,
    sandbox: SandboxServer,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    [chat] = await make_groups(tg, token, 1)
    seeded = await seed(sessionmaker, groups={token: [chat]})
    assert await _worker(database_url, sessionmaker, sandbox).run_until_idle(timeout=60)
    async with session_scope(sessionmaker) as session:
        assert await remind_silent(session=session, notice_id=seeded.notice_id) == 1
    assert await _worker(database_url, sessionmaker, sandbox).run_until_idle(timeout=60)
    [notice, reminder] = await tg.messages(token, chat)
    text = reminder["plain_text"]
    assert text.startswith("🔔") and reminder["reply_to_message_id"] == notice["message_id"]
    found = LINK.search(text)
    assert found is not None and text.endswith(found.group(0)), text
    claim = verify(found.group(2), LinkKind.ack, now=datetime.now(UTC))
    assert claim.delivery_id == seeded.deliveries[0]  # the notice delivery's own link
    assert _buttons(reminder)
