"""The Đã nhận button under each delivered notice: one acknowledgement per person.

A press counts only on the very message its delivery carried, in its chat (see
`broadcasts.acks.record_button_press`); a forged or misplaced one is answered and ignored.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.keyboards import AckCb
from bot.press import Press
from bot.services import Services
from broadcasts.acks import PressIn, PressVerdict
from broadcasts.errors import TransportError

log = logging.getLogger(__name__)


def press_answer(verdict: PressVerdict, name: str) -> str:
    if verdict is PressVerdict.recorded:
        return _("Thank you, {name}! Your confirmation is recorded.").format(name=name)
    if verdict is PressVerdict.repeated:
        return _("{name} already pressed «✅ Received» for this notice. Thank you!").format(
            name=name
        )
    if verdict is PressVerdict.early:
        return _("Loa is still sending this notice. Please press again in a moment.")
    return _("This button does not belong to a notice of this group.")


async def acknowledge(
    query: CallbackQuery, callback_data: AckCb, press: Press, services: Services
) -> None:
    """A press that came through aiogram's router (the runtime takes them ahead of it,
    `bot.ack_intake`; this is the path for any other dispatcher)."""
    message = query.message  # None for inline messages: no chat, so nothing can match
    await take_press(
        services,
        press,
        PressIn(
            delivery_id=callback_data.delivery_id,
            bot_id=services.bot_account_id,
            chat_ref=str(message.chat.id) if message else "",
            message_ref=str(message.message_id) if message else "",
            person_ref=str(query.from_user.id),
            person_name=query.from_user.full_name,
        ),
        first_name=query.from_user.first_name,
    )


async def take_press(
    services: Services, press: Press, pressed: PressIn, *, first_name: str
) -> None:
    """Answered once the press is committed (its batch: `broadcasts.ack_batch`), never
    before: «recorded» is then true. A failed write raises to the error router, whose
    alert says so; an answer that got lost on the way is only logged (the press counts)."""
    counted = await services.presses.record(pressed)
    try:
        await press.answer(press_answer(counted.verdict, first_name))
    except TransportError as exc:  # no toast: the person may press again, «already pressed»
        log.warning("press on delivery %s not answered: %s", pressed.delivery_id, exc)
    if counted.verdict is PressVerdict.recorded and counted.notice_id is not None:
        # The line under the notice (the notice's own message, for a press on a reminder).
        services.show_acks(counted.shown_delivery_id or pressed.delivery_id)
        await services.refresh_status({counted.notice_id})


def make_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(acknowledge, AckCb.filter())
    return router
