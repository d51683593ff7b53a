"""Compose wizard: text → review (summary, translations, warnings) → areas → when → confirm."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import ConfirmCb, ReviewCb, TreeCb, WhenCb, confirm_keyboard, when_keyboard
from bot.services import Services
from bot.texts import local_time
from bot.views import show_review, show_tree
from broadcasts.compose import (
    Draft,
    confirm_renditions,
    edit_rendition,
    mask_draft,
    prepare_draft,
)
from broadcasts.errors import InvalidInput
from broadcasts.models import Official
from broadcasts.notices import (
    cancel_notice,
    schedule_notice,
    set_status_message,
    set_targets,
    target_channels,
)
from broadcasts.settings import DEFAULT_TIMEZONE
from broadcasts.timeparse import parse_local_time


class Compose(StatesGroup):
    review = State()
    editing = State()
    targets = State()
    when = State()
    when_text = State()
    confirm = State()


def _official_only(_: object, official: Official | None = None) -> bool:
    return official is not None


async def new_notice(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    await message.answer(_("⏳ Preparing the summary…"))
    draft = await prepare_draft(
        session=session,
        ward_id=official.ward_id,
        official_id=official.id,
        text=message.text or "",
        ai=services.settings.ai,
    )
    await state.set_state(Compose.review)
    await state.set_data(
        {"notice_id": draft.notice.id, "selected": [], "view": 0, "warnings": _warnings(draft)}
    )
    await show_review(
        message, session=session, notice_id=draft.notice.id or 0, data=await state.get_data()
    )


def _warnings(draft: Draft) -> list[list[str | None]]:
    # "AI is off" is how the ward set Loa up, not news: each rendition already names its
    # source ("tóm tắt tự động"), and what it changes (no translation) has its own warning.
    return [
        [w.code, w.detail, w.locale] for w in draft.preparation.warnings if w.code != "ai_disabled"
    ]


async def review_action(
    query: CallbackQuery,
    callback_data: ReviewCb,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    data = await state.get_data()
    notice_id = int(data["notice_id"])
    message = query.message
    assert isinstance(message, Message)
    await query.answer()
    if callback_data.action == "cancel":
        await _cancel(message, state, session, notice_id)
    elif callback_data.action == "edit":
        await state.update_data(edit_locale=callback_data.locale)
        await state.set_state(Compose.editing)
        await message.answer(
            _("Send me the new text for this language. It will be sent as you write it.")
        )
    elif callback_data.action == "mask":
        draft = await mask_draft(session=session, notice_id=notice_id, ai=services.settings.ai)
        await state.update_data(warnings=_warnings(draft))
        await show_review(
            message, session=session, notice_id=notice_id, data=await state.get_data()
        )
    elif callback_data.action == "confirm":
        await confirm_renditions(session=session, notice_id=notice_id)
        await show_review(message, session=session, notice_id=notice_id, data=data)
    elif callback_data.action == "targets":
        await state.set_state(Compose.targets)
        await show_tree(message, session=session, notice_id=notice_id, data=data, edit=False)


async def edited_text(message: Message, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    await edit_rendition(
        session=session,
        notice_id=int(data["notice_id"]),
        locale=str(data.get("edit_locale") or "vi"),
        text=message.text or "",
    )
    await state.set_state(Compose.review)
    await show_review(message, session=session, notice_id=int(data["notice_id"]), data=data)


async def tree_action(
    query: CallbackQuery, callback_data: TreeCb, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    notice_id = int(data["notice_id"])
    message = query.message
    assert isinstance(message, Message)
    selected = set(data.get("selected", []))
    if callback_data.action == "cancel":
        await query.answer()
        await _cancel(message, state, session, notice_id)
        return
    if callback_data.action == "done":
        if not selected:
            await query.answer(_("Choose at least one area."), show_alert=True)
            return
        await query.answer()
        await set_targets(session=session, notice_id=notice_id, area_ids=sorted(selected))
        count = len(await target_channels(session=session, notice_id=notice_id))
        await state.set_state(Compose.when)
        await message.answer(
            _("{count} group chats will receive this notice. When should it be sent?").format(
                count=count
            ),
            reply_markup=when_keyboard(),
        )
        return
    await query.answer()
    if callback_data.action == "toggle":
        selected ^= {callback_data.area_id}
        await state.update_data(selected=sorted(selected))
    elif callback_data.action in ("open", "back"):
        await state.update_data(view=callback_data.area_id)
    await show_tree(
        message, session=session, notice_id=notice_id, data=await state.get_data(), edit=True
    )


async def when_action(
    query: CallbackQuery, callback_data: WhenCb, state: FSMContext, session: AsyncSession
) -> None:
    message = query.message
    assert isinstance(message, Message)
    await query.answer()
    data = await state.get_data()
    if callback_data.action == "cancel":
        await _cancel(message, state, session, int(data["notice_id"]))
    elif callback_data.action == "now":
        await state.update_data(at=None)
        await _ask_confirm(message, state, session)
    else:
        await state.set_state(Compose.when_text)
        await message.answer(
            _(
                "Send the date and time, for example: 07:30 28/11 or "
                "28/11/2026 07:30 (Ho Chi Minh City time)."
            )
        )


async def when_text(
    message: Message, state: FSMContext, session: AsyncSession, services: Services
) -> None:
    zone = services.settings.timezone
    try:
        at = parse_local_time(message.text or "", timezone=zone)
    except InvalidInput:
        await message.answer(
            _(
                "I could not read that time. Please write it like 07:30 28/11, "
                "and make sure it is in the future."
            )
        )
        return
    await state.update_data(at=at.isoformat())
    await _ask_confirm(message, state, session, timezone=zone)


async def _ask_confirm(
    message: Message, state: FSMContext, session: AsyncSession, *, timezone: str = DEFAULT_TIMEZONE
) -> None:
    data = await state.get_data()
    count = len(await target_channels(session=session, notice_id=int(data["notice_id"])))
    at = data.get("at")
    when = _("now") if not at else local_time(datetime.fromisoformat(str(at)), timezone=timezone)
    await state.set_state(Compose.confirm)
    await message.answer(
        _("Send this notice to {count} group chats, {when}?").format(count=count, when=when),
        reply_markup=confirm_keyboard(),
    )


async def confirm_action(
    query: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
    bot: Bot,
) -> None:
    message = query.message
    assert isinstance(message, Message)
    data = await state.get_data()
    notice_id = int(data["notice_id"])
    await query.answer()
    if callback_data.action == "cancel":
        await _cancel(message, state, session, notice_id)
        return
    at = datetime.fromisoformat(str(data["at"])) if data.get("at") else None
    notice = await schedule_notice(session=session, notice_id=notice_id, at=at)
    await state.clear()
    status = await message.answer(_("📣 Notice #{id} is scheduled.").format(id=notice_id))
    await set_status_message(
        session=session,
        notice_id=notice_id,
        chat_ref=str(status.chat.id),
        message_ref=str(status.message_id),
    )
    await session.commit()
    assert notice.scheduled_at is not None
    services.plan(notice_id, notice.scheduled_at)
    await services.refresh_status({notice_id})


async def _cancel(
    message: Message, state: FSMContext, session: AsyncSession, notice_id: int
) -> None:
    await state.clear()
    await cancel_notice(session=session, notice_id=notice_id)
    await message.answer(_("Cancelled. Nothing was sent."))


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.filter(_official_only)
    router.callback_query.filter(_official_only)
    router.message.register(new_notice, StateFilter(None), F.text, ~F.text.startswith("/"))
    router.callback_query.register(review_action, Compose.review, ReviewCb.filter())
    router.message.register(edited_text, Compose.editing, F.text)
    router.callback_query.register(tree_action, Compose.targets, TreeCb.filter())
    router.callback_query.register(when_action, Compose.when, WhenCb.filter())
    router.message.register(when_text, Compose.when_text, F.text)
    router.callback_query.register(confirm_action, Compose.confirm, ConfirmCb.filter())
    return router
