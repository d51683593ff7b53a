"""A sent notice from its status message or `/thongbao`: «✏️ Đính chính» and «🗑 Thu hồi».

Recall asks first (what happens, how many groups, the 48-hour rule), then runs. A
correction asks for the corrected text, runs it through the AI step, shows the new
renditions for review, then asks; only the confirmation changes anything. Both go
through `broadcasts.corrections`, whose refusals (not sent, recalled already, still going
out) are answered in plain words; the progress shows on the status message.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import official_only
from bot.handlers.compose import chat_of, message_of
from bot.handlers.status import say_unchanged
from bot.keyboards import AmendCb, correction_keyboard, recall_keyboard
from bot.outbox import Screen
from bot.press import Press
from bot.services import Services
from bot.texts import (
    amend_refused,
    amend_started,
    correction_prompt,
    correction_question,
    recall_question,
    rendition_block,
)
from bot.views import plain
from bot.wizard import At, Wizard, end, load, save
from broadcasts.corrections import (
    amendable_notice,
    correct_notice,
    preparation_renditions,
    prepare_correction,
    recall_notice,
    sent_count,
)
from broadcasts.errors import Conflict
from broadcasts.models import DeliveryKind, Official, Rendition
from broadcasts.notices import RenditionInput
from broadcasts.tenancy import Tenant, tenant_for_ward
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES


class Amending(StatesGroup):
    text = State()  # waiting for the corrected text
    review = State()  # the new renditions shown, waiting for «✅ Gửi đính chính»


class RenditionItem(BaseModel):
    locale: str
    text: str
    source: str
    findings: list[dict[str, object]] = Field(default_factory=list)


class Fix(BaseModel):
    """A correction being written: the notice, then the corrected text and its renditions."""

    notice_id: int
    text: str = ""
    title: str = ""
    renditions: list[RenditionItem] = Field(default_factory=list)


async def _tenant(session: AsyncSession, official: Official) -> Tenant:
    return await tenant_for_ward(session=session, ward_id=official.ward_id)


async def _refused(press: Press, services: Services, chat: int, exc: Conflict) -> None:
    text = _refused_text(exc)
    if not await press.answer(text, alert=True):
        await services.outbox.send(chat, plain(text))


async def ask_recall(
    query: CallbackQuery,
    callback_data: AmendCb,
    press: Press,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    within = await _tenant(session, official)
    try:
        await amendable_notice(
            session=session, notice_id=callback_data.n, kind=DeliveryKind.recall, within=within
        )
    except Conflict as exc:
        return await _refused(press, services, chat_of(query), exc)
    groups = await sent_count(session=session, notice_id=callback_data.n)
    window = TELEGRAM_CAPABILITIES.delete_window_seconds or 0
    old = await sent_count(session=session, notice_id=callback_data.n, older_than_seconds=window)
    await press.answer()
    text = recall_question(callback_data.n, groups, old)
    await services.outbox.send(chat_of(query), Screen(text, recall_keyboard(callback_data.n)))


async def recalled(
    query: CallbackQuery,
    callback_data: AmendCb,
    press: Press,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    within = await _tenant(session, official)
    try:
        done = await recall_notice(
            session=session, notice_id=callback_data.n, actor=official.name, within=within
        )
    except Conflict as exc:
        return await _refused(press, services, chat_of(query), exc)
    await session.commit()
    services.unplan(callback_data.n)  # a recurring notice fires no more
    services.wake_delivery()
    await press.answer()
    text = amend_started("recall", callback_data.n, done.groups)
    await services.outbox.edit(chat_of(query), message_of(query) or 0, Screen(text))
    await services.refresh_status({callback_data.n})


async def ask_text(
    query: CallbackQuery,
    callback_data: AmendCb,
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
    within = await _tenant(session, official)
    try:
        await amendable_notice(
            session=session, notice_id=callback_data.n, kind=DeliveryKind.correction, within=within
        )
    except Conflict as exc:
        return await _refused(press, services, chat_of(query), exc)
    await save(state, Amending.text, Fix(notice_id=callback_data.n))
    await press.answer()
    groups = await sent_count(session=session, notice_id=callback_data.n)
    await services.outbox.send(chat_of(query), Screen(correction_prompt(callback_data.n, groups)))


async def typed_text(
    message: Message,
    fix: Fix,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    within = await _tenant(session, official)
    try:
        prep = await prepare_correction(
            session=session,
            notice_id=fix.notice_id,
            text=message.text or "",
            ai=services.settings.ai,
            within=within,
        )
    except Conflict as exc:
        await end(state, Fix)
        await services.outbox.send(message.chat.id, plain(_refused_text(exc)))
        return
    items = [
        RenditionItem(locale=r.locale, text=r.text, source=r.source, findings=r.findings)
        for r in preparation_renditions(prep)
    ]
    fix = Fix(notice_id=fix.notice_id, text=message.text or "", title=prep.title, renditions=items)
    await save(state, Amending.review, fix)
    vi_text = next((r.text for r in items if r.locale == "vi"), None)
    for item in sorted(items, key=lambda r: (r.locale != "vi", r.locale)):
        if item.locale == "vi" or item.text != vi_text:
            shown = Rendition(notice_id=fix.notice_id, locale=item.locale, text=item.text)
            shown.source = item.source
            await services.outbox.send(message.chat.id, Screen(rendition_block(shown)))
    groups = await sent_count(session=session, notice_id=fix.notice_id)
    question = correction_question(fix.notice_id, groups)
    await services.outbox.send(
        message.chat.id, Screen(question, correction_keyboard(fix.notice_id))
    )


def _refused_text(exc: Conflict) -> str:
    notice_id = exc.detail.get("notice_id", 0)
    return amend_refused(
        str(exc.detail.get("reason", "")), notice_id if isinstance(notice_id, int) else 0
    )


async def corrected(
    query: CallbackQuery,
    callback_data: AmendCb,
    press: Press,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    fix = await load(state, Fix)
    if fix is None or fix.notice_id != callback_data.n or not fix.renditions:
        await press.answer(_("This correction is no longer open. Press «✏️ Correct» again."))
        return
    within = await _tenant(session, official)
    renditions = [
        # The official has read them on the review: the facts flagged are theirs to vouch.
        RenditionInput(
            locale=r.locale, text=r.text, source=r.source, findings=r.findings, confirmed=True
        )
        for r in fix.renditions
    ]
    try:
        done = await correct_notice(
            session=session,
            notice_id=fix.notice_id,
            text=fix.text,
            renditions=renditions,
            title=fix.title,
            actor=official.name,
            within=within,
        )
    except Conflict as exc:
        await end(state, Fix)
        await session.commit()
        return await _refused(press, services, chat_of(query), exc)
    await end(state, Fix)
    await session.commit()
    services.wake_delivery()
    await press.answer()
    text = amend_started("correction", fix.notice_id, done.groups)
    await services.outbox.edit(chat_of(query), message_of(query) or 0, Screen(text))
    await services.refresh_status({fix.notice_id})


async def kept(
    query: CallbackQuery,
    callback_data: AmendCb,
    press: Press,
    state: FSMContext,
    services: Services,
) -> None:
    await end(state, Fix)
    await press.answer()
    await say_unchanged(query, services, callback_data.n)


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(official_only)
    text = F.text & ~F.text.startswith("/")
    router.message.register(
        typed_text, official_only, At(Amending.text, Amending.review, model=Fix, key="fix"), text
    )
    on = router.callback_query.register
    on(ask_text, AmendCb.filter(F.action == "fix"))
    on(corrected, AmendCb.filter(F.action == "fixok"))
    on(ask_recall, AmendCb.filter(F.action == "recall"))
    on(recalled, AmendCb.filter(F.action == "rcok"))
    on(kept, AmendCb.filter(F.action == "no"))
    return router
