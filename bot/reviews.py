"""Notices made through the API for an official to review: shown in the bot, once.

The API process cannot reach the official's chat or wizard; the bot process sweeps the
database instead (`broadcasts.intake.drafts_awaiting_review`), so it works across
processes and restarts. Each draft is claimed with one conditional UPDATE before it is
shown, so two bot processes show it once. An official in the middle of another wizard is
left alone until it ends (their screen is not taken away); the draft waits.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from aiogram import Dispatcher
from aiogram.utils.i18n import gettext as _
from sqlalchemy import CursorResult, select, update
from sqlmodel import col

from bot.services import Services
from bot.views import plain, show_review
from bot.wizard import Compose, Wizard, save
from broadcasts.db import session_scope
from broadcasts.intake import drafts_awaiting_review
from broadcasts.models import Notice, NoticeTarget, Official, utcnow

log = logging.getLogger(__name__)


async def show_api_reviews(*, services: Services, dispatcher: Dispatcher) -> list[int]:
    """Show this bot's officials the API drafts waiting for them; the notices shown."""
    shown: list[int] = []
    async with session_scope(services.sessionmaker) as session:
        drafts = await drafts_awaiting_review(session=session, ward_id=services.ward_id)
    for draft in drafts:
        async with session_scope(services.sessionmaker) as session:
            official = await session.get(Official, draft.official_id)
            if official is None or official.transport != "telegram" or not official.active:
                continue
            user = int(official.user_ref)
            state = dispatcher.fsm.get_context(bot=services.bot, chat_id=user, user_id=user)
            if await state.get_state() is not None:
                continue  # busy with another notice: shown when that one is done
            claimed = cast(
                "CursorResult[Any]",
                await session.execute(
                    update(Notice)
                    .where(col(Notice.id) == draft.id, col(Notice.review_shown_at).is_(None))
                    .values(review_shown_at=utcnow())
                ),
            )
            if claimed.rowcount != 1:
                continue  # another bot process showed it
            targets = list(
                await session.scalars(
                    select(col(NoticeTarget.area_id)).where(col(NoticeTarget.notice_id) == draft.id)
                )
            )
            wizard = Wizard(notice_id=draft.id or 0, selected=sorted(targets))
            await session.commit()
            await save(state, Compose.review, wizard)
            with services.i18n.context(), services.i18n.use_locale(official.locale):
                intro = _("📥 Notice #{id} came from the ward's system and waits for your review.")
                await services.outbox.send(user, plain(intro.format(id=draft.id)))
                await show_review(services.outbox, user, session=session, wizard=wizard)
        shown.append(draft.id or 0)
        log.info("API notice %s shown to official %s for review", draft.id, official.id)
    return shown
