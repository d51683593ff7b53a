"""Services the handlers share, created once by the runtime and injected as workflow data."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import status_text
from broadcasts.db import session_scope
from broadcasts.models import Official
from broadcasts.notices import get_notice, notice_progress
from broadcasts.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    bot: Bot
    i18n: I18n
    bot_account_id: int
    plan: Callable[[int, datetime], None] = lambda _id, _at: None
    wake_delivery: Callable[[], None] = lambda: None
    _last_status: dict[int, str] = field(default_factory=dict)

    async def refresh_status(self, notice_ids: Iterable[int]) -> None:
        """Edit each notice's live status message in its official's chat."""
        for notice_id in notice_ids:
            try:
                await self._refresh_one(notice_id)
            except TelegramAPIError as exc:  # the status message is a courtesy; delivery goes on
                log.warning("status message of notice %s not updated: %s", notice_id, exc)

    async def _refresh_one(self, notice_id: int) -> None:
        async with session_scope(self.sessionmaker) as session:
            notice = await get_notice(session=session, notice_id=notice_id)
            if not notice.status_chat_ref or not notice.status_message_ref:
                return
            progress = await notice_progress(session=session, notice_id=notice_id)
            official = (
                await session.get(Official, notice.official_id) if notice.official_id else None
            )
        locale = official.locale if official else self.i18n.default_locale
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = status_text(
                notice_id=notice_id,
                title=notice.title or notice.text[:60],
                progress=progress,
                scheduled_at=notice.scheduled_at,
                timezone=self.settings.timezone,
            )
        if self._last_status.get(notice_id) == text:
            return
        try:
            await self.bot.edit_message_text(
                text=text,
                chat_id=int(notice.status_chat_ref),
                message_id=int(notice.status_message_ref),
                parse_mode="HTML",
            )
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                raise
        self._last_status[notice_id] = text
