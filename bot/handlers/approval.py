"""Approval in the bot: an approver approves, asks for changes or rejects a notice (the
last two with a short typed reason); the writer edits a notice sent back and sends it again.

Buttons carry only the notice id: whatever screen they are on, the database says whether
the notice still waits (`broadcasts.approval.decide`, one conditional UPDATE), so a press
on a request someone else decided, or on an old one, is told who decided and changes
nothing. The reason is typed in the `Deciding.reason` state; /huy leaves it undecided.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from bot.approvals import show_decision
from bot.filters import official_only
from bot.handlers.compose import chat_of, message_of
from bot.keyboards import ApprovalCb
from bot.outbox import Screen
from bot.press import Press
from bot.services import Services
from bot.texts import decided_text, reason_prompt
from bot.views import plain, show_review
from bot.wizard import At, Compose, Wizard, load, save
from broadcasts.approval import Decided, decide, reopen_for_changes, standing_decision
from broadcasts.models import Approval, NoticeStatus, Official, utcnow
from broadcasts.notices import notice_in_ward
from broadcasts.policy import is_approver


class Deciding(StatesGroup):
    reason = State()


class Verdict(BaseModel):
    """A decision whose reason the approver is about to type."""

    notice_id: int
    decision: str  # changes / rejected


async def _decided(
    query: CallbackQuery, press: Press, decided: Decided, services: Services
) -> None:
    """Answer a press that decided (a toast; everyone is shown the decision), or one that
    came too late (who decided, as an alert; the pressed request loses its buttons)."""
    if decided.won:
        toasts = {
            Approval.approved: _("✅ Approved."),
            Approval.changes: _("✏️ Sent back for changes."),
            Approval.rejected: _("❌ Rejected."),
        }
        await press.answer(toasts.get(Approval(decided.decision)))
        if decided.decision == Approval.approved:
            services.plan(decided.notice.id or 0, decided.notice.scheduled_at or utcnow())
        await show_decision(services, decided)
        return
    text = _standing(decided)
    await press.answer(text, alert=True)
    if message_of(query):
        await services.outbox.edit(chat_of(query), message_of(query) or 0, Screen.plain(text))


def _standing(decided: Decided) -> str:
    return decided_text(
        notice_id=decided.notice.id or 0,
        decision=decided.decision,
        by=decided.by.name if decided.by else None,
        reason=decided.reason,
    )


async def approve(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    press: Press,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    decided = await decide(
        session=session, notice_id=callback_data.n, approver=official, decision=Approval.approved
    )
    await session.commit()
    await _decided(query, press, decided, services)


async def ask_reason(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    press: Press,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    notice = await notice_in_ward(
        session=session, notice_id=callback_data.n, ward_id=official.ward_id
    )
    if not is_approver(official, notice.ward_id):
        await press.answer(
            _("Only the ward's leaders who approve notices can do this."), alert=True
        )
        return
    if notice.approval != Approval.pending or notice.status != NoticeStatus.draft:
        decided = await standing_decision(session=session, notice=notice)  # say by whom
        await _decided(query, press, decided, services)
        return
    if (wizard := await load(state, Wizard)) is not None:
        busy = _("You are writing notice #{id}: send it or /cancel it first.")
        await press.answer(busy.format(id=wizard.notice_id), alert=True)
        return
    decision = Approval.changes if callback_data.action == "fix" else Approval.rejected
    await save(state, Deciding.reason, Verdict(notice_id=callback_data.n, decision=decision))
    await press.answer()
    await services.outbox.send(chat_of(query), Screen(reason_prompt(callback_data.n, decision)))


async def reason_typed(
    message: Message,
    verdict: Verdict,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    decided = await decide(
        session=session,
        notice_id=verdict.notice_id,
        approver=official,
        decision=verdict.decision,
        reason=message.text or "",
    )
    await session.commit()
    await state.clear()
    if decided.won:
        await show_decision(services, decided)
    else:
        await services.outbox.send(message.chat.id, plain(_standing(decided)))


async def stop_deciding(
    message: Message, verdict: Verdict, state: FSMContext, services: Services
) -> None:
    await state.clear()
    text = _("Nothing decided: notice #{id} still waits for approval.").format(id=verdict.notice_id)
    await services.outbox.send(message.chat.id, plain(text))


async def edit_again(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    press: Press,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    """The writer of a notice sent back for changes opens it in the wizard again."""
    if (wizard := await load(state, Wizard)) is not None and wizard.notice_id != callback_data.n:
        busy = _("You are writing notice #{id}: send it or /cancel it first.")
        await press.answer(busy.format(id=wizard.notice_id), alert=True)
        return
    selected = await reopen_for_changes(
        session=session, notice_id=callback_data.n, official=official
    )
    # Screen numbers from the clock: every screen of an earlier round is out of date.
    wizard = Wizard(notice_id=callback_data.n, screen=int(utcnow().timestamp()), selected=selected)
    await save(state, Compose.review, wizard)
    await press.answer()
    await show_review(services.outbox, chat_of(query), session=session, wizard=wizard)


async def not_for_you(query: CallbackQuery, press: Press) -> None:
    """A press by someone Loa no longer knows as an official of this ward (removed, or
    moved): it changes nothing, and says why."""
    await press.answer(_("Only the ward's leaders who approve notices can do this."), alert=True)


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private", official_only)
    deciding = At(Deciding.reason, model=Verdict, key="verdict")
    router.message.register(stop_deciding, Command("cancel", "huy"), deciding)
    router.message.register(reason_typed, deciding, F.text & ~F.text.startswith("/"))
    on = router.callback_query.register
    on(approve, ApprovalCb.filter(F.action == "ok"), official_only)
    on(ask_reason, ApprovalCb.filter(F.action.in_({"fix", "no"})), official_only)
    on(edit_again, ApprovalCb.filter(F.action == "edit"), official_only)
    on(not_for_you, ApprovalCb.filter())
    return router
