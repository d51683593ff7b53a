"""A notice after the wizard: /thongbao lists the latest ones; a scheduled notice can be
cancelled or moved to another time from its status message or from that list.

Both ask first. The confirming buttons carry the notice id (and the new time), so they
need no FSM state; the domain checks the notice is still scheduled and in the official's
ward, and the scheduler's job is dropped or moved after the commit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import official_only
from bot.handlers.compose import chat_of, message_of
from bot.keyboards import NoticeCb, drop_keyboard, move_keyboard
from bot.outbox import Screen
from bot.press import Press
from bot.services import Services
from bot.texts import (
    drop_question,
    move_question,
    moved_text,
    retime_prompt,
    unchanged_text,
    withdrawal_text,
)
from bot.views import plain, read_time, status_screen
from bot.wizard import At, Retime, Retiming, Wizard, end, load, save
from broadcasts.errors import NotFound
from broadcasts.models import Official
from broadcasts.notices import (
    notice_in_ward,
    recent_notices,
    reschedule_notice,
    scheduled_in_ward,
    withdraw_notice,
)


async def recent(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    official: Official | None,
    services: Services,
) -> None:
    if official is None:
        await services.outbox.send(
            message.chat.id, plain(_("Only registered ward officials can see notices."))
        )
        return
    if command.args and command.args.strip().lstrip("#").isdigit():  # /thongbao 3
        await one_notice(
            message, int(command.args.strip().lstrip("#")), session, official, services
        )
        return
    notices = await recent_notices(session=session, official_id=official.id or 0)
    if not notices:
        await services.outbox.send(message.chat.id, plain(_("You have not sent any notice yet.")))
    for notice in notices:
        zone = services.settings.timezone
        screen = await status_screen(session=session, notice=notice, timezone=zone)
        await services.outbox.send(message.chat.id, screen)


async def one_notice(
    message: Message, notice_id: int, session: AsyncSession, official: Official, services: Services
) -> None:
    """`/thongbao N`: notice N's status, if it is the official's ward's."""
    try:
        notice = await notice_in_ward(
            session=session, notice_id=notice_id, ward_id=official.ward_id
        )
    except NotFound:
        text = _("There is no notice #{id} in your ward.").format(id=notice_id)
        await services.outbox.send(message.chat.id, plain(text))
        return
    zone = services.settings.timezone
    await services.outbox.send(
        message.chat.id, await status_screen(session=session, notice=notice, timezone=zone)
    )


async def ask_drop(
    query: CallbackQuery,
    callback_data: NoticeCb,
    press: Press,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    notice = await scheduled_in_ward(
        session=session, notice_id=callback_data.n, ward_id=official.ward_id
    )
    await press.answer()
    at, zone = notice.scheduled_at or datetime.now(UTC), services.settings.timezone
    repeated = bool(notice.rrule) and notice.occurrences > 0
    text = drop_question(callback_data.n, at, timezone=zone, repeated=repeated)
    await services.outbox.send(chat_of(query), Screen(text, drop_keyboard(callback_data.n)))


async def dropped(
    query: CallbackQuery,
    callback_data: NoticeCb,
    press: Press,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    outcome = await withdraw_notice(
        session=session, ward_id=official.ward_id, notice_id=callback_data.n, actor=official.name
    )
    await session.commit()
    if outcome.cancelled:
        services.unplan(outcome.notice_id)
    await press.answer()
    text = withdrawal_text(outcome, timezone=services.settings.timezone)
    await services.outbox.edit(chat_of(query), message_of(query) or 0, plain(text))
    await services.refresh_status({outcome.notice_id})


async def say_unchanged(query: CallbackQuery, services: Services, notice_id: int) -> None:
    """The question's message becomes «Không có gì thay đổi…»."""
    text = Screen(unchanged_text(notice_id))
    await services.outbox.edit(chat_of(query), message_of(query) or 0, text)


async def kept(
    query: CallbackQuery,
    callback_data: NoticeCb,
    press: Press,
    state: FSMContext,
    services: Services,
) -> None:
    await end(state, Retime)
    await press.answer()
    await say_unchanged(query, services, callback_data.n)


async def ask_time(
    query: CallbackQuery,
    callback_data: NoticeCb,
    press: Press,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    if (wizard := await load(state, Wizard)) is not None:
        busy = _("You are writing notice #{id}: send it or /cancel it first.")
        await press.answer(busy.format(id=wizard.notice_id), alert=True)
        return
    await scheduled_in_ward(session=session, notice_id=callback_data.n, ward_id=official.ward_id)
    await save(state, Retiming.when_text, Retime(notice_id=callback_data.n))
    await press.answer()
    prompt = retime_prompt(callback_data.n, timezone=services.settings.timezone)
    await services.outbox.send(chat_of(query), Screen(prompt))


async def typed_time(
    message: Message, retime: Retime, session: AsyncSession, official: Official, services: Services
) -> None:
    zone = services.settings.timezone
    at = await read_time(services.outbox, message.chat.id, message.text or "", timezone=zone)
    if at is None:
        return
    await scheduled_in_ward(session=session, notice_id=retime.notice_id, ward_id=official.ward_id)
    text = move_question(retime.notice_id, at, timezone=zone)
    markup = move_keyboard(retime.notice_id, int(at.timestamp()))
    await services.outbox.send(message.chat.id, Screen(text, markup))


async def moved(
    query: CallbackQuery,
    callback_data: NoticeCb,
    press: Press,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    at = datetime.fromtimestamp(callback_data.at, UTC)
    notice = await reschedule_notice(
        session=session,
        ward_id=official.ward_id,
        notice_id=callback_data.n,
        at=at,
        actor=official.name,
    )
    await session.commit()
    await end(state, Retime)
    services.plan(callback_data.n, at)
    await press.answer()
    text = moved_text(notice.id or 0, at, timezone=services.settings.timezone)
    await services.outbox.edit(chat_of(query), message_of(query) or 0, Screen(text))
    await services.refresh_status({callback_data.n})


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(official_only)
    router.message.register(recent, Command("notices", "thongbao"))
    text = F.text & ~F.text.startswith("/")
    router.message.register(
        typed_time, official_only, At(Retiming.when_text, model=Retime, key="retime"), text
    )
    on = router.callback_query.register
    on(ask_drop, NoticeCb.filter(F.action == "cancel"))
    on(dropped, NoticeCb.filter(F.action == "drop"))
    on(kept, NoticeCb.filter(F.action == "keep"))
    on(ask_time, NoticeCb.filter(F.action == "retime"))
    on(moved, NoticeCb.filter(F.action == "move"))
    return router
