"""The bot's side of approval: asking the ward's approvers, and showing every decision.

`ask_approvers` sends each approver not asked yet the notice's renditions as the groups
will see them, then the request with «✅ Duyệt / ✏️ Yêu cầu sửa / ❌ Từ chối» (or, for an
urgent notice sent without waiting, that it went out). Who was asked is claimed in the
database first (`broadcasts.approval.claim_requests`), so the confirm press and the sweep
(`sweep_approvals`, for notices confirmed through the API in another process) never ask
twice; a request that failed for a passing reason (or whose process died before sending)
is claimed again by a later sweep, one the approver cannot receive is not. `show_decision`
then edits every approver's request to say who decided what, and tells the official who
wrote the notice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import approval_keyboard, resend_keyboard
from bot.outbox import Screen
from bot.services import Services
from bot.texts import (
    approval_request_text,
    decided_for_writer,
    decided_text,
    rendition_heading,
    skipped_text,
)
from broadcasts.approval import (
    Decided,
    claim_requests,
    close_request,
    request_failed,
    request_sent,
    requests_of,
    settled_requests,
    standing_decision,
    unasked_notices,
)
from broadcasts.compose import target_summary
from broadcasts.db import session_scope
from broadcasts.message import render_group_message
from broadcasts.models import Approval, ApprovalPrompt, Area, Notice, Official
from broadcasts.notices import get_notice, notice_wards, renditions_of
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0
_HEADING_ROOM = 100  # characters kept for the «Nhóm đọc tiếng Anh sẽ nhận:» line


async def _notice_screens(
    session: AsyncSession, notice: Notice, services: Services
) -> list[Screen]:
    """The renditions as the groups will receive them (a translation that is the
    Vietnamese text again is not shown twice), each under the language it is for."""
    ward = await session.get(Area, notice.ward_id)
    renditions = await renditions_of(session=session, notice_id=notice.id or 0)
    vi_text = renditions["vi"].text if "vi" in renditions else None
    screens: list[Screen] = []
    for r in sorted(renditions.values(), key=lambda r: (r.locale != "vi", r.locale)):
        if r.locale != "vi" and r.text == vi_text:
            continue
        parts = render_group_message(
            text=r.text,
            sender=ward.name if ward else "",
            sent_at=notice.scheduled_at or datetime.now(UTC),
            urgent=notice.urgent,
            limit=TELEGRAM_CAPABILITIES.max_text - _HEADING_ROOM,
            locale=r.locale,
        )
        heading = rendition_heading(r.locale)
        screens += [Screen(f"<i>{heading}</i>\n\n{part}") for part in parts]
    return screens


async def _request_screens(
    session: AsyncSession, notice: Notice, services: Services
) -> list[Screen]:
    writer = await session.get(Official, notice.official_id) if notice.official_id else None
    summary = await target_summary(session=session, notice_id=notice.id or 0)
    title = notice.title or notice.text[:60]
    if notice.approval == Approval.skipped:
        text = skipped_text(
            notice_id=notice.id or 0,
            writer=writer.name if writer else None,
            title=title,
            groups=summary.groups,
        )
        return [Screen(text)]
    request = approval_request_text(
        notice_id=notice.id or 0,
        writer=writer.name if writer else None,
        title=title,
        areas=summary.names,
        groups=summary.groups,
        at=notice.scheduled_at,
        urgent=notice.urgent,
        timezone=services.settings.timezone,
    )
    screens = await _notice_screens(session, notice, services)
    return [*screens, Screen(request, approval_keyboard(notice.id or 0))]


async def ask_approvers(services: Services, notice_id: int) -> int:
    """Ask (or tell) every approver of the notice's ward not asked yet; how many were."""
    async with session_scope(services.sessionmaker) as session:
        approvers = await claim_requests(session=session, notice_id=notice_id)
        for a in approvers:
            session.expunge(a)
    for approver in approvers:
        if approver.transport != "telegram":  # a Zalo approver: not reachable from here
            log.warning("approver %s is on %s, not asked here", approver.id, approver.transport)
            await _unreachable(services, notice_id, approver)
            continue
        async with session_scope(services.sessionmaker) as session:
            notice = await get_notice(session=session, notice_id=notice_id)
            with services.i18n.context(), services.i18n.use_locale(approver.locale):
                screens = await _request_screens(session, notice, services)
        chat = int(approver.user_ref)
        try:
            for screen in screens:
                sent = await services.outbox.send(chat, screen)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:  # blocked the bot, say
            log.warning("approver %s not asked about notice %s: %s", approver.id, notice_id, exc)
            await _unreachable(services, notice_id, approver)
            continue
        except TelegramAPIError as exc:  # a passing failure: the sweep asks again later
            log.warning("approver %s not asked about %s yet: %s", approver.id, notice_id, exc)
            continue
        async with session_scope(services.sessionmaker) as session:
            await request_sent(
                session=session,
                notice_id=notice_id,
                official_id=approver.id or 0,
                message_ref=str(sent.message_id),
                # Telling of an urgent notice sent without waiting: no buttons to take
                # back later, and the message must keep saying what it says.
                closed=notice.approval == Approval.skipped,
            )
    return len(approvers)


async def _unreachable(services: Services, notice_id: int, approver: Official) -> None:
    async with session_scope(services.sessionmaker) as session:
        await request_failed(session=session, notice_id=notice_id, official_id=approver.id or 0)


async def sweep_approvals(services: Services, covers: Callable[[int], bool]) -> None:
    """Ask about every notice nobody was asked about yet in the wards this bot `covers`:
    those confirmed elsewhere (the API), or before a restart; and close the requests
    of notices settled meanwhile."""
    async with session_scope(services.sessionmaker) as session:
        ids = await unasked_notices(session=session)
        wards = await notice_wards(session=session, notice_ids=ids)
    for notice_id in ids:
        if covers(wards.get(notice_id, 0)):
            await ask_approvers(services, notice_id)
    await close_settled(services, covers)


async def _show_outcome(
    services: Services, prompt: ApprovalPrompt, person: Official, decided: Decided
) -> None:
    """One approver's request says who decided what, without buttons any more."""
    with services.i18n.context(), services.i18n.use_locale(person.locale):
        text = decided_text(
            notice_id=prompt.notice_id,
            decision=decided.decision,
            by=decided.by.name if decided.by else None,
            reason=decided.reason,
            late=decided.late,
        )
    try:
        await services.outbox.edit(
            int(prompt.chat_ref), int(prompt.message_ref or 0), Screen.plain(text)
        )
    except TelegramAPIError as exc:  # deleted by the approver, say: nothing to show it in
        log.warning("approval request %s not updated: %s", prompt.message_ref, exc)
    async with session_scope(services.sessionmaker) as session:
        await close_request(
            session=session, notice_id=prompt.notice_id, official_id=prompt.official_id
        )


async def close_settled(services: Services, covers: Callable[[int], bool]) -> None:
    """Requests whose notice was decided elsewhere or cancelled meanwhile lose their
    buttons and say so (a press on them would be told the same)."""
    async with session_scope(services.sessionmaker) as session:
        found = []
        for prompt in await settled_requests(session=session):
            notice = await get_notice(session=session, notice_id=prompt.notice_id)
            person = await session.get(Official, prompt.official_id)
            if person is not None and covers(notice.ward_id):
                found.append(
                    (prompt, person, await standing_decision(session=session, notice=notice))
                )
    for prompt, person, decided in found:
        await _show_outcome(services, prompt, person, decided)


async def show_decision(services: Services, decided: Decided) -> None:
    """Every approver's request says who decided what; the writer is told (once: only
    the call whose decision won shows it)."""
    notice = decided.notice
    notice_id = notice.id or 0
    by = decided.by.name if decided.by else None
    async with session_scope(services.sessionmaker) as session:
        prompts = await requests_of(session=session, notice_id=notice_id)
        people = {
            p.official_id: await session.get(Official, p.official_id)
            for p in prompts
            if p.message_ref
        }
        writer = await session.get(Official, notice.official_id) if notice.official_id else None
    for prompt in prompts:
        person = people.get(prompt.official_id)
        if person is not None and prompt.message_ref:
            await _show_outcome(services, prompt, person, decided)
    # A writer on Zalo has no Telegram chat: told by «TT» there (not from this bot).
    on_telegram = writer is not None and writer.transport == "telegram"
    chat = notice.status_chat_ref or (writer.user_ref if writer and on_telegram else None)
    if decided.won and chat:
        locale = writer.locale if writer else services.i18n.default_locale
        with services.i18n.context(), services.i18n.use_locale(locale):
            text = decided_for_writer(
                notice_id=notice_id,
                decision=decided.decision,
                by=by,
                reason=decided.reason,
                at=notice.scheduled_at,
                late=decided.late,
                timezone=services.settings.timezone,
            )
            markup = resend_keyboard(notice_id) if decided.decision == Approval.changes else None
        try:
            await services.outbox.send(int(chat), Screen(text, markup))
        except TelegramAPIError as exc:
            log.warning("writer of notice %s not told: %s", notice_id, exc)
    await services.refresh_status({notice_id})
