"""Compose wizard: text → review (summary, translations, warnings) → areas → when → confirm.

Each handler makes its domain change, commits, saves the wizard, answers the press, and
only then draws the next screen: a screen Telegram does not take leaves a consistent
wizard behind (writing anything draws the step again; /huy drops it). Presses on a screen
that is not the current one are answered and change nothing (`bot.wizard.Fresh`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.approvals import ask_approvers
from bot.filters import official_only
from bot.handlers import deadline
from bot.keyboards import ConfirmCb, ReviewCb, TreeCb, WhenCb
from bot.outbox import Screen
from bot.press import Press
from bot.services import Services
from bot.texts import typed_time_error, withdrawal_text
from bot.views import (
    plain,
    show_confirm,
    show_current,
    show_picker,
    show_review,
    show_time_prompt,
    show_when,
)
from bot.wizard import At, Compose, Fresh, Wizard, picked, save, warnings_of
from broadcasts.compose import (
    choose_targets,
    confirm_notice,
    confirm_renditions,
    edit_rendition,
    mask_draft,
    prepare_draft,
    read_when,
    target_summary,
    toggle_urgent,
    unchecked_locales,
)
from broadcasts.errors import InvalidInput
from broadcasts.models import Approval, Official, utcnow
from broadcasts.notices import withdraw_notice
from broadcasts.recurrence import QUICK_REPEATS

REVIEW = (Compose.review, Compose.editing)
WHEN = (Compose.when, Compose.when_text)


def chat_of(query: CallbackQuery) -> int:
    return query.message.chat.id if query.message is not None else query.from_user.id


def message_of(query: CallbackQuery) -> int | None:
    return query.message.message_id if query.message is not None else None


async def new_notice(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    await services.outbox.send(message.chat.id, plain(_("⏳ Preparing the summary…")))
    draft = await prepare_draft(
        session=session,
        ward_id=official.ward_id,
        official_id=official.id,
        text=message.text or "",
        ai=services.settings.ai,
        actor=f"official:{official.id}:{official.name}",
    )
    wizard = Wizard(notice_id=draft.notice.id or 0, warnings=warnings_of(draft))
    await session.commit()
    await save(state, Compose.review, wizard)
    await show_review(services.outbox, message.chat.id, session=session, wizard=wizard)


async def to_targets(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    if await unchecked_locales(session=session, notice_id=wizard.notice_id):
        await press.answer(_("Please check the facts marked ❗ first."), alert=True)
        return
    wizard = wizard.next_screen().model_copy(update={"view": 0, "page": 0, "query": ""})
    await save(state, Compose.targets, wizard)
    await press.answer()
    chat = chat_of(query)
    await show_picker(
        services.outbox, chat, session=session, ward_id=official.ward_id, wizard=wizard
    )


async def ask_edit(
    query: CallbackQuery,
    callback_data: ReviewCb,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    services: Services,
) -> None:
    await save(
        state, Compose.editing, wizard.model_copy(update={"edit_locale": callback_data.locale})
    )
    await press.answer()
    prompt = _(
        "Send the whole corrected text (tip: press and hold the text above → Copy, edit it, "
        "then send). Loa sends it exactly as written."
    )
    await services.outbox.send(chat_of(query), plain(prompt))


async def mask(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    await press.answer(_("⏳ Masking and preparing again…"))  # the AI step may take a while
    draft = await mask_draft(session=session, notice_id=wizard.notice_id, ai=services.settings.ai)
    wizard = wizard.next_screen().model_copy(update={"warnings": warnings_of(draft)})
    await session.commit()
    await save(state, Compose.review, wizard)
    await show_review(services.outbox, chat_of(query), session=session, wizard=wizard)


async def urgent(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    session: AsyncSession,
    services: Services,
) -> None:
    """The urgent mark on or off; the choices are drawn again in place (same screen)."""
    notice = await toggle_urgent(session=session, notice_id=wizard.notice_id)
    await session.commit()
    await press.answer(_("🚨 Marked as urgent.") if notice.urgent else _("Urgent mark removed."))
    chat, message_id = chat_of(query), message_of(query)
    await show_review(services.outbox, chat, session=session, wizard=wizard, message_id=message_id)


async def facts_checked(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    await confirm_renditions(session=session, notice_id=wizard.notice_id)
    wizard = wizard.next_screen()
    await session.commit()
    await save(state, Compose.review, wizard)
    await press.answer()
    await show_review(services.outbox, chat_of(query), session=session, wizard=wizard)


async def drop(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    outcome = await withdraw_notice(
        session=session, ward_id=official.ward_id, notice_id=wizard.notice_id, actor=official.name
    )
    await session.commit()
    await state.clear()
    await press.answer()
    text = withdrawal_text(outcome, timezone=services.settings.timezone)
    await services.outbox.send(chat_of(query), plain(text))


async def edited_text(
    message: Message, wizard: Wizard, state: FSMContext, session: AsyncSession, services: Services
) -> None:
    await edit_rendition(
        session=session,
        notice_id=wizard.notice_id,
        locale=wizard.edit_locale,
        text=message.text or "",
    )
    wizard = wizard.next_screen()
    await session.commit()
    await save(state, Compose.review, wizard)
    await show_review(services.outbox, message.chat.id, session=session, wizard=wizard)


async def pick(
    query: CallbackQuery,
    callback_data: TreeCb,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    wizard = picked(wizard, action=callback_data.action, area_id=callback_data.area_id)
    await save(state, Compose.targets, wizard)
    await press.answer()
    await show_picker(
        services.outbox,
        chat_of(query),
        session=session,
        ward_id=official.ward_id,
        wizard=wizard,
        message_id=message_of(query),
    )


async def search(
    message: Message,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    query = (message.text or "").strip()
    wizard = wizard.next_screen().model_copy(update={"query": query, "page": 0, "view": 0})
    await save(state, Compose.targets, wizard)
    chat = message.chat.id
    await show_picker(
        services.outbox, chat, session=session, ward_id=official.ward_id, wizard=wizard
    )


async def targets_done(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    if not wizard.selected:
        await press.answer(_("No khu phố or tổ is chosen yet."), alert=True)
        return
    summary = await choose_targets(
        session=session, notice_id=wizard.notice_id, area_ids=wizard.selected
    )
    wizard = wizard.next_screen()
    await session.commit()
    await save(state, Compose.when, wizard)
    await press.answer()
    await show_when(services.outbox, chat_of(query), summary=summary, wizard=wizard)


async def send_now(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    summary = await target_summary(session=session, notice_id=wizard.notice_id)
    wizard = wizard.next_screen().model_copy(update={"at": None, "rrule": None})
    await save(state, Compose.confirm, wizard)
    await press.answer()
    await show_confirm(services.outbox, chat_of(query), summary=summary, wizard=wizard)


async def quick_repeat(
    query: CallbackQuery,
    callback_data: WhenCb,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    """«🔁 Every week at this time» / «every month on this day»: from now, repeating."""
    summary = await target_summary(session=session, notice_id=wizard.notice_id)
    rule = QUICK_REPEATS[callback_data.action]
    wizard = wizard.next_screen().model_copy(update={"at": None, "rrule": rule})
    await save(state, Compose.confirm, wizard)
    await press.answer()
    zone = services.settings.timezone
    await show_confirm(
        services.outbox, chat_of(query), summary=summary, wizard=wizard, timezone=zone
    )


async def ask_time(
    query: CallbackQuery, press: Press, wizard: Wizard, state: FSMContext, services: Services
) -> None:
    await save(state, Compose.when_text, wizard)
    await press.answer()
    zone = services.settings.timezone
    await show_time_prompt(services.outbox, chat_of(query), wizard=wizard, timezone=zone)


async def quick_time(
    query: CallbackQuery,
    callback_data: WhenCb,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    at = datetime.fromtimestamp(callback_data.at, UTC)
    if at <= utcnow():
        await press.answer(_("This time has already passed. Please choose another."), alert=True)
        return
    summary = await target_summary(session=session, notice_id=wizard.notice_id)
    wizard = wizard.next_screen().model_copy(update={"at": at, "rrule": None})
    await save(state, Compose.confirm, wizard)
    await press.answer()
    zone = services.settings.timezone
    await show_confirm(
        services.outbox, chat_of(query), summary=summary, wizard=wizard, timezone=zone
    )


async def typed_time(
    message: Message, wizard: Wizard, state: FSMContext, session: AsyncSession, services: Services
) -> None:
    zone, typed = services.settings.timezone, message.text or ""
    try:  # one time, or «thứ Năm hằng tuần 18h»: the first time, then the rule
        when = read_when(typed, timezone=zone)
    except InvalidInput as exc:
        await services.outbox.send(message.chat.id, Screen(typed_time_error(exc, typed, zone)))
        return
    summary = await target_summary(session=session, notice_id=wizard.notice_id)
    wizard = wizard.next_screen().model_copy(update={"at": when.at, "rrule": when.rrule})
    await save(state, Compose.confirm, wizard)
    chat = message.chat.id
    await show_confirm(services.outbox, chat, summary=summary, wizard=wizard, timezone=zone)


async def confirmed(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    """The confirm message becomes the notice's live status message."""
    notice = await confirm_notice(
        session=session,
        notice_id=wizard.notice_id,
        at=wizard.at,
        rrule=wizard.rrule,
        deadline=wizard.deadline,
        deadline_setting=services.settings.notices.ack_deadline_minutes,
        actor=f"telegram:{query.from_user.id}",
        status_chat_ref=str(chat_of(query)),
        status_message_ref=str(message_of(query)),
    )
    await session.commit()
    await state.clear()
    if notice.approval == Approval.pending:  # held for the ward's approvers: not planned
        await press.answer(_("📨 Sent to the ward's leaders for approval."))
    else:
        services.plan(wizard.notice_id, notice.scheduled_at or utcnow())
        await press.answer(_("📣 Sending…") if wizard.at is None else _("📣 Scheduled."))
    await services.refresh_status({wizard.notice_id})
    await ask_approvers(services, wizard.notice_id)  # pending, or urgent and skipped: told


async def change_time(
    query: CallbackQuery,
    press: Press,
    wizard: Wizard,
    state: FSMContext,
    session: AsyncSession,
    services: Services,
) -> None:
    summary = await target_summary(session=session, notice_id=wizard.notice_id)
    wizard = wizard.next_screen()
    await save(state, Compose.when, wizard)
    await press.answer()
    await show_when(services.outbox, chat_of(query), summary=summary, wizard=wizard)


async def stale(query: CallbackQuery, press: Press) -> None:
    await press.answer(
        _("This screen is out of date and does nothing now. Use the newest one below, or /cancel."),
        alert=True,
    )


async def reminder(
    message: Message,
    wizard: Wizard,
    raw_state: str | None,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    """Text where the step wants a press: draw the step again (it may never have arrived)."""
    await show_current(
        services.outbox,
        message.chat.id,
        session=session,
        ward_id=official.ward_id,
        wizard=wizard,
        step=raw_state,
        timezone=services.settings.timezone,
    )


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private", official_only)
    router.callback_query.filter(official_only)
    text = F.text & ~F.text.startswith("/")
    router.message.register(new_notice, StateFilter(None), text)
    router.message.register(edited_text, At(Compose.editing), text)
    router.message.register(search, At(Compose.targets), text)
    router.message.register(typed_time, At(Compose.when_text), text)
    deadline.register(router)  # typed deadlines, before the reminder below
    router.message.register(reminder, At(Compose.review, Compose.when, Compose.confirm), text)
    on = router.callback_query.register
    on(to_targets, ReviewCb.filter(F.action == "targets"), Fresh(*REVIEW))
    on(ask_edit, ReviewCb.filter(F.action == "edit"), Fresh(*REVIEW))
    on(mask, ReviewCb.filter(F.action == "mask"), Fresh(*REVIEW))
    on(facts_checked, ReviewCb.filter(F.action == "confirm"), Fresh(*REVIEW))
    on(urgent, ReviewCb.filter(F.action == "urgent"), Fresh(*REVIEW))
    on(drop, ReviewCb.filter(F.action == "cancel"), Fresh(*REVIEW))
    on(targets_done, TreeCb.filter(F.action == "done"), Fresh(Compose.targets))
    on(drop, TreeCb.filter(F.action == "cancel"), Fresh(Compose.targets))
    on(pick, TreeCb.filter(), Fresh(Compose.targets))
    on(send_now, WhenCb.filter(F.action == "now"), Fresh(*WHEN))
    on(ask_time, WhenCb.filter(F.action == "later"), Fresh(*WHEN))
    on(quick_time, WhenCb.filter(F.action == "at"), Fresh(*WHEN))
    on(quick_repeat, WhenCb.filter(F.action.in_(QUICK_REPEATS)), Fresh(*WHEN))
    on(drop, WhenCb.filter(F.action == "cancel"), Fresh(*WHEN))
    on(confirmed, ConfirmCb.filter(F.action == "send"), Fresh(Compose.confirm))
    on(change_time, ConfirmCb.filter(F.action == "when"), Fresh(Compose.confirm))
    on(drop, ConfirmCb.filter(F.action == "cancel"), Fresh(Compose.confirm))
    on(stale, F.data.regexp(r"^(rv|tr|wh|cf|dl):"))
    return router
