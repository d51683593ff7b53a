"""/notices: an official's recent notices with delivery and acknowledgement progress."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.services import Services
from bot.texts import status_text
from broadcasts.models import Notice, Official
from broadcasts.notices import notice_progress


async def recent(
    message: Message, session: AsyncSession, official: Official | None, services: Services
) -> None:
    if official is None:
        await message.answer(_("Only registered ward officials can see notices."))
        return
    notices = list(
        await session.scalars(
            select(Notice)
            .where(col(Notice.official_id) == official.id, col(Notice.status) != "draft")
            .order_by(col(Notice.id).desc())
            .limit(5)
        )
    )
    if not notices:
        await message.answer(_("You have not sent any notice yet."))
        return
    for notice in notices:
        progress = await notice_progress(session=session, notice_id=notice.id or 0)
        await message.answer(
            status_text(
                notice_id=notice.id or 0,
                title=notice.title or notice.text[:60],
                progress=progress,
                scheduled_at=notice.scheduled_at,
                timezone=services.settings.timezone,
            ),
            parse_mode="HTML",
        )


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(recent, Command("notices", "thongbao"))
    return router
