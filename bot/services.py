"""Services the handlers share, created once by the runtime and injected as workflow data."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.amending import AmendNews
from bot.outbox import Edit, Outbox, Screen
from bot.views import status_screen
from broadcasts.ack_batch import PressBatch
from broadcasts.acks import acknowledged_message
from broadcasts.attempts import CodeAttempts
from broadcasts.db import session_scope
from broadcasts.delivery.limits import LimiterBackend
from broadcasts.i18n import ack_label
from broadcasts.links import link_maker
from broadcasts.models import Official
from broadcasts.notices import get_notice
from broadcasts.settings import Settings
from broadcasts.transports.telegram import ack_keyboard
from broadcasts.transports.telegram_lean import CallbackAnswers
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES

# Presses under one group message within this many seconds cost one edit of it: at most
# 20 edits a minute, what Telegram lets a bot write to one group.
ACK_GATHER_SECONDS = 3.0


@dataclass
class Services:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    bot: Bot
    i18n: I18n
    bot_account_id: int
    # The ward this bot serves (None: city-wide): its groups and officials belong to it.
    ward_id: int | None = None
    # The account limit shared with the delivery engine (None: the bot paces per chat only).
    limits: LimiterBackend | None = None
    # The scheduler's, once the runtime has one: (re)plan or drop a notice's job.
    plan: Callable[[int, datetime], None] = lambda _id, _at: None
    unplan: Callable[[int], None] = lambda _id: None
    wake_delivery: Callable[[], None] = lambda: None
    ack_gather_seconds: float = ACK_GATHER_SECONDS
    outbox: Outbox = field(init=False)
    presses: PressBatch = field(init=False)  # Đã nhận presses, many to a transaction
    answers: CallbackAnswers = field(init=False)  # their answers, on the lean path
    attempts: CodeAttempts = field(init=False)
    amend_news: AmendNews = field(init=False, default_factory=AmendNews)

    def __post_init__(self) -> None:
        turn = partial(self.limits.account_turn, self.bot_account_id) if self.limits else None
        self.outbox = Outbox(self.bot, account_turn=turn)
        self.presses = PressBatch(self.sessionmaker, max_batch=self.settings.telegram.press_batch)
        self.answers = CallbackAnswers(self.bot)
        self.attempts = CodeAttempts(sessionmaker=self.sessionmaker, settings=self.settings.codes)

    async def refresh_status(self, notice_ids: Iterable[int]) -> None:
        """Bring each notice's live status message up to date (coalesced, never waits for
        Telegram: the delivery worker calls this while it sends)."""
        for notice_id in notice_ids:
            self.outbox.keep_fresh(("status", notice_id), partial(self._status_edit, notice_id))

    async def _status_edit(self, notice_id: int) -> Edit | None:
        async with session_scope(self.sessionmaker) as session:
            notice = await get_notice(session=session, notice_id=notice_id)
            if not notice.status_chat_ref or not notice.status_message_ref:
                return None
            official = (
                await session.get(Official, notice.official_id) if notice.official_id else None
            )
            locale = official.locale if official else self.i18n.default_locale
            with self.i18n.context(), self.i18n.use_locale(locale):
                zone = self.settings.timezone
                screen = await status_screen(session=session, notice=notice, timezone=zone)
                # «✅ Đã đính chính / thu hồi …» once a correction or recall ran everywhere:
                # a message of its own, so that the official is notified.
                news = await self.amend_news.finished_text(session=session, notice=notice)
        chat = int(notice.status_chat_ref)
        if news is not None:
            self.amend_news.spawn(partial(self._say, chat, news))
        return Edit(chat, int(notice.status_message_ref), screen)

    async def _say(self, chat_id: int, text: str) -> None:
        await self.outbox.send(chat_id, Screen(text))

    def show_acks(self, delivery_id: int) -> None:
        """Show under the delivered notice who pressed Đã nhận (coalesced, never waits)."""
        render = partial(self._ack_edit, delivery_id)
        self.outbox.keep_fresh(("ack", delivery_id), render, gather=self.ack_gather_seconds)

    async def _ack_edit(self, delivery_id: int) -> Edit | None:
        async with session_scope(self.sessionmaker) as session:
            shown = await acknowledged_message(
                session=session,
                delivery_id=delivery_id,
                capabilities=TELEGRAM_CAPABILITIES,
                tz=ZoneInfo(self.settings.timezone),
                links=link_maker(self.settings),
            )
        if shown is None or shown.markup != "html":  # the outbox writes HTML
            return None
        markup = ack_keyboard(delivery_id, ack_label(shown.locale))
        return Edit(int(shown.chat_ref), int(shown.message_ref), Screen(shown.text, markup))
