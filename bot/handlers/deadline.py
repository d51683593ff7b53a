"""The «Đã nhận» deadline on the wizard's confirm screen: a quick button («⏰ Trong 2 giờ»,
«Trước 17h», «Không cần hạn») or a typed one («trong 2 giờ», «trước 17h»). Either draws
the confirm screen again with the choice; the deadline is stored when the notice is
sent (`broadcasts.deadlines.set_ack_deadline`), counted from its sending time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import DeadlineCb
from bot.outbox import Screen
from bot.press import Press
from bot.services import Services
from bot.texts import esc
from bot.views import show_confirm
from bot.wizard import At, Compose, Fresh, Wizard, save
from broadcasts.compose import target_summary
from broadcasts.deadlines import NO_DEADLINE, by_minutes, by_time
from broadcasts.errors import InvalidInput, PastTime
from broadcasts.models import utcnow
from broadcasts.timeparse import parse_deadline

# What a typed deadline starts with (without diacritics): «trong 2 giờ», «trước 17h»,
# «hạn nhận …», «2 tiếng»; anything else at the confirm step redraws the step.
_LOOKS = re.compile(
    r"^\s*(trong|truoc|tr[uư][oơ]c|den|đến|han|hạn|\d+\s*(gio|giờ|tieng|tiếng|phut|phút))",
    re.IGNORECASE,
)


def looks_like_deadline(message: Message) -> bool:
    return bool(message.text and _LOOKS.match(message.text))


async def _redraw(
    chat_id: int, wizard: Wizard, state: FSMContext, session: AsyncSession, services: Services
) -> None:
    wizard = wizard.next_screen()
    await save(state, Compose.confirm, wizard)
    summary = await target_summary(session=session, notice_id=wizard.notice_id)
    zone = services.settings.timezone
    await show_confirm(services.outbox, chat_id, summary=summary, wizard=wizard, timezone=zone)


async def picked(
    query: CallbackQuery,
    callback_data: DeadlineCb,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    if callback_data.action == "m":
        choice = by_minutes(callback_data.value)
    elif callback_data.action == "by":
        at = datetime.fromtimestamp(callback_data.value, UTC)
        if at <= max(wizard.at or utcnow(), utcnow()):
            await press.answer(
                _("This time has already passed. Please choose another."), alert=True
            )
            return
        choice = by_time(at)
    else:
        choice = NO_DEADLINE
    await press.answer()
    chat = query.message.chat.id if query.message is not None else query.from_user.id
    await _redraw(chat, wizard.model_copy(update={"deadline": choice}), state, session, services)


async def typed(
    message: Message, wizard: Wizard, state: FSMContext, session: AsyncSession, services: Services
) -> None:
    start = wizard.at or utcnow()
    try:
        value = parse_deadline(message.text or "", start=start, timezone=services.settings.timezone)
    except PastTime:
        text = _("The deadline must come after the notice is sent. Please choose a later one.")
        await services.outbox.send(message.chat.id, Screen(esc(text)))
        return
    except InvalidInput:
        text = _(
            "Loa could not read this deadline. Please type it like «trong 2 giờ» or «trước 17h» "
            "(at most a week)."
        )
        await services.outbox.send(message.chat.id, Screen(esc(text)))
        return
    choice = by_minutes(value) if isinstance(value, int) else by_time(value)
    await _redraw(
        message.chat.id, wizard.model_copy(update={"deadline": choice}), state, session, services
    )


def register(router: Router) -> None:
    """On the compose router, before its «use the buttons» reminder for typed text."""
    text = F.text & ~F.text.startswith("/")
    router.message.register(typed, At(Compose.confirm), text, looks_like_deadline)
    router.callback_query.register(picked, DeadlineCb.filter(), Fresh(Compose.confirm))
