"""The Đã nhận button under each delivered notice: one acknowledgement per person."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import AckCb
from bot.services import Services
from broadcasts.acks import record_ack


async def acknowledge(
    query: CallbackQuery, callback_data: AckCb, session: AsyncSession, services: Services
) -> None:
    ack, created = await record_ack(
        session=session,
        delivery_id=callback_data.delivery_id,
        person_ref=str(query.from_user.id),
        person_name=query.from_user.full_name,
    )
    await session.commit()
    if created:
        await query.answer(
            _("Thank you, {name}! Your confirmation is recorded.").format(
                name=query.from_user.first_name
            )
        )
        await services.refresh_status({ack.notice_id})
    else:
        await query.answer(_("You have already confirmed this notice. Thank you!"))


def make_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(acknowledge, AckCb.filter())
    return router
