"""«🔔 Nhắc các nhóm chưa nhận» on a sent notice's status message (live or /thongbao).

It asks first, naming how many groups will be reminded; the confirming button carries
the notice id only, and the domain (`broadcasts.reminders.remind_silent`) picks the
groups that are silent at the moment of the press, so a group that acknowledged while
the official read the question is not reminded.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ack_texts import (
    detail_pages,
    list_page_title,
    nobody_to_remind,
    not_remindable,
    remind_question,
    reminding_text,
)
from bot.filters import official_only
from bot.handlers.compose import chat_of, message_of
from bot.keyboards import AckListCb, NoticeCb, list_keyboard, nudge_keyboard
from bot.outbox import Screen
from bot.press import Press
from bot.services import Services
from bot.views import plain
from broadcasts.errors import Conflict
from broadcasts.models import Official
from broadcasts.notices import notice_in_ward
from broadcasts.reminders import notice_acks_by_area, remind_silent, silent_count

LIST_PAGE_ROOM = 3800  # of a message's 4,096: the page's title and some margin


async def ask_remind(
    query: CallbackQuery,
    callback_data: NoticeCb,
    press: Press,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    await notice_in_ward(session=session, notice_id=callback_data.n, ward_id=official.ward_id)
    count = await silent_count(session=session, notice_id=callback_data.n)
    await press.answer()
    if not count:
        await services.outbox.send(chat_of(query), plain(nobody_to_remind(callback_data.n)))
        return
    text = remind_question(callback_data.n, count)
    await services.outbox.send(chat_of(query), Screen(text, nudge_keyboard(callback_data.n)))


async def nudge(
    query: CallbackQuery,
    callback_data: NoticeCb,
    press: Press,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    await notice_in_ward(session=session, notice_id=callback_data.n, ward_id=official.ward_id)
    try:
        count = await remind_silent(
            session=session, notice_id=callback_data.n, actor=f"telegram:{official.user_ref}"
        )
    except Conflict as exc:
        await press.answer()
        text = not_remindable(callback_data.n, exc)
        await services.outbox.edit(chat_of(query), message_of(query) or 0, plain(text))
        return
    await session.commit()
    services.wake_delivery()
    await press.answer()
    text = reminding_text(callback_data.n, count)
    await services.outbox.edit(chat_of(query), message_of(query) or 0, plain(text))
    await services.refresh_status({callback_data.n})


async def show_list(
    query: CallbackQuery,
    callback_data: AckListCb,
    press: Press,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    """«📋 Xem danh sách»: who acknowledged, group by group, a page at a time."""
    await notice_in_ward(session=session, notice_id=callback_data.n, ward_id=official.ward_id)
    acks = await notice_acks_by_area(session=session, notice_id=callback_data.n)
    zone = services.settings.timezone
    pages = detail_pages(acks, room=LIST_PAGE_ROOM, timezone=zone)
    page = min(max(0, callback_data.p), len(pages) - 1)
    text = "\n".join([list_page_title(callback_data.n, page + 1, len(pages)), pages[page]])
    screen = Screen(text, list_keyboard(callback_data.n, page, len(pages)))
    await press.answer()
    if callback_data.edit:
        await services.outbox.edit(chat_of(query), message_of(query) or 0, screen)
    else:
        await services.outbox.send(chat_of(query), screen)


def make_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(official_only)
    router.callback_query.register(ask_remind, NoticeCb.filter(F.action == "remind"))
    router.callback_query.register(nudge, NoticeCb.filter(F.action == "nudge"))
    router.callback_query.register(show_list, AckListCb.filter())
    return router
