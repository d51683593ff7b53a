"""The screens of the compose wizard and of a notice's status, sent through the outbox.

Each `show_*` draws one step for the wizard's current screen number; a handler saves the
wizard (and commits) first, then shows, so that a screen that cannot be sent leaves a
consistent state behind: `show_current` draws the step again when the official writes.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ack_texts import (
    acks_block,
    deadline_choice_line,
    deadline_choices,
    deadline_line,
    fits_in_detail,
    reminder_progress_line,
)
from bot.amending import amend_status
from bot.keyboards import (
    confirm_keyboard,
    joined,
    notice_keyboard,
    picker_keyboard,
    remind_keyboard,
    resend_keyboard,
    review_keyboard,
    time_keyboard,
    when_keyboard,
    with_deadline_buttons,
)
from bot.outbox import Outbox, Screen
from bot.texts import (
    cut_lines,
    esc,
    rendition_block,
    review_footer,
    status_text,
    time_error_text,
    time_prompt,
    utf16_len,
    when_text,
)
from bot.wizard import Compose, Wizard
from broadcasts.compose import TargetSummary, has_private_data, target_summary
from broadcasts.errors import InvalidInput
from broadcasts.i18n import DEFAULT_LOCALE
from broadcasts.models import Approval, Notice, NoticeStatus, utcnow
from broadcasts.notices import get_notice, notice_progress, renditions_of
from broadcasts.picker import Picker, area_picker
from broadcasts.recurrence import check_rule, describe, quick_month_day
from broadcasts.reminders import GroupState, NoticeAcks, notice_acks_by_area, reminder_progress
from broadcasts.settings import DEFAULT_TIMEZONE
from broadcasts.timeparse import example_day, parse_local_time, quick_times
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES


def _locale() -> str:
    """The language the screen is being drawn in (the official's)."""
    try:
        return get_i18n().current_locale
    except LookupError:
        return DEFAULT_LOCALE


def plain(text: str) -> Screen:
    """A screen of plain catalog text (escaped for the HTML parse mode)."""
    return Screen(esc(text))


async def show_review(
    outbox: Outbox,
    chat_id: int,
    *,
    session: AsyncSession,
    wizard: Wizard,
    hint: str = "",
    message_id: int | None = None,
) -> None:
    """Every rendition as it will be sent (once), then the warnings and the choices.

    With a `hint` (the step drawn again), only the choices: the renditions are above.
    With `message_id`, the choices are edited in place (the urgent mark turned on or off).
    """
    notice = await get_notice(session=session, notice_id=wizard.notice_id)
    renditions = await renditions_of(session=session, notice_id=wizard.notice_id)
    ordered = sorted(renditions.values(), key=lambda r: (r.locale != "vi", r.locale))
    if not hint and message_id is None:
        vi_text = renditions["vi"].text if "vi" in renditions else None
        for r in ordered:
            # A rendition that is the Vietnamese text again (no translation) is not shown
            # twice: a warning says those groups get the Vietnamese text.
            if r.locale == "vi" or r.text != vi_text:
                await outbox.send(chat_id, Screen(rendition_block(r)))
    warnings = [(w.code, w.detail, w.locale) for w in wizard.warnings]
    markup = review_keyboard(
        locales=[r.locale for r in ordered],
        has_private=has_private_data([w.code for w in wizard.warnings]),
        has_flags=any(r.findings and not r.confirmed for r in ordered),
        n=wizard.notice_id,
        v=wizard.screen,
        urgent=notice.urgent,
    )
    text = review_footer(
        warnings=warnings, renditions=ordered, hint=esc(hint), urgent=notice.urgent
    )
    if message_id is None:
        await outbox.send(chat_id, Screen(text, markup))
    else:
        await outbox.edit(chat_id, message_id, Screen(text, markup))


def picker_text(picker: Picker) -> str:
    lines = [
        esc(
            _(
                "Choose who receives it: tap a name to choose it all, «Open ›» to choose "
                "single groups inside. Numbers are group chats."
            )
        )
    ]
    if picker.query:
        lines.append(
            esc(
                ngettext(
                    "Search “{query}”: {count} area.",
                    "Search “{query}”: {count} areas.",
                    picker.matches,
                )
            ).format(query=esc(picker.query), count=picker.matches)
        )
    elif picker.opened is not None:
        lines.append(esc(_("Inside {name}:")).format(name=f"<b>{esc(picker.opened.name)}</b>"))
    if picker.pages > 1:
        lines.append(esc(_("Page {page}/{pages}")).format(page=picker.page + 1, pages=picker.pages))
    if picker.chosen:
        names = ", ".join(picker.chosen[:8]) + ("…" if len(picker.chosen) > 8 else "")
        lines.append(
            esc(
                ngettext(
                    "Chosen: {names} ({count} group)",
                    "Chosen: {names} ({count} groups)",
                    picker.chosen_groups,
                )
            ).format(names=f"<b>{esc(names)}</b>", count=picker.chosen_groups)
        )
    lines.append(esc(_("🔎 To find an area quickly, type part of its name (e.g. 12 or tổ 5).")))
    return cut_lines(lines)


async def show_picker(
    outbox: Outbox,
    chat_id: int,
    *,
    session: AsyncSession,
    ward_id: int,
    wizard: Wizard,
    message_id: int | None = None,
) -> None:
    """The area picker: a new message, or the pressed one edited in place."""
    picker = await area_picker(
        session=session,
        ward_id=ward_id,
        selected=wizard.selected,
        view=wizard.view,
        page=wizard.page,
        query=wizard.query,
    )
    screen = Screen(
        picker_text(picker), picker_keyboard(picker, n=wizard.notice_id, v=wizard.screen)
    )
    if message_id is None:
        await outbox.send(chat_id, screen)
    else:
        await outbox.edit(chat_id, message_id, screen)


async def show_time_prompt(
    outbox: Outbox, chat_id: int, *, wizard: Wizard, timezone: str = DEFAULT_TIMEZONE
) -> None:
    """Ask for a time: an example a day ahead, and the quick times still to come."""
    now = utcnow()
    markup = time_keyboard(
        quick_times(now=now, timezone=timezone), n=wizard.notice_id, v=wizard.screen
    )
    await outbox.send(chat_id, Screen(time_prompt(example_day(now=now, timezone=timezone)), markup))


def _reach(summary: TargetSummary) -> str:
    names = ", ".join(summary.names[:8]) + ("…" if len(summary.names) > 8 else "")
    if not summary.groups:
        return esc(
            ngettext(
                "{names} has no group chat yet; groups that register before the time "
                "will receive it.",
                "{names} have no group chat yet; groups that register before the time "
                "will receive it.",
                len(summary.names),
            )
        ).format(names=f"<b>{esc(names)}</b>")
    reach = ngettext(
        "The notice will reach {count} group: {names}.",
        "The notice will reach {count} groups: {names}.",
        summary.groups,
    )
    return esc(reach).format(count=summary.groups, names=f"<b>{esc(names)}</b>")


async def show_when(
    outbox: Outbox, chat_id: int, *, summary: TargetSummary, wizard: Wizard, hint: str = ""
) -> None:
    lines = [esc(hint)] if hint else []
    lines += [_reach(summary), esc(_("When should it be sent?"))]
    markup = when_keyboard(n=wizard.notice_id, v=wizard.screen, month_day=quick_month_day())
    await outbox.send(chat_id, Screen("\n".join(lines), markup))


def repeat_of(wizard: Wizard, *, timezone: str = DEFAULT_TIMEZONE) -> str | None:
    """How the wizard's notice repeats, as screens say it (None: it does not)."""
    if not wizard.rrule:
        return None
    try:
        stored = check_rule(wizard.rrule, start=wizard.at or utcnow(), timezone=timezone).text
    except InvalidInput:
        return None
    return describe(stored, locale=_locale(), timezone=timezone)


async def show_confirm(
    outbox: Outbox,
    chat_id: int,
    *,
    summary: TargetSummary,
    wizard: Wizard,
    hint: str = "",
    timezone: str = DEFAULT_TIMEZONE,
) -> None:
    lines = [esc(hint)] if hint else []
    repeat = repeat_of(wizard, timezone=timezone)
    if repeat is not None and wizard.at is None:
        question = ngettext(
            "Send it now to {count} group, then repeat: {repeat}?",
            "Send it now to {count} groups, then repeat: {repeat}?",
            summary.groups,
        )
        lines.append(esc(question).format(count=summary.groups, repeat=f"<b>{esc(repeat)}</b>"))
    elif repeat is not None and wizard.at is not None:
        question = ngettext(
            "Repeat for {count} group: {repeat}, the first time at {time}?",
            "Repeat for {count} groups: {repeat}, the first time at {time}?",
            summary.groups,
        )
        lines.append(
            esc(question).format(
                count=summary.groups,
                repeat=f"<b>{esc(repeat)}</b>",
                time=f"<b>{esc(when_text(wizard.at, timezone=timezone))}</b>",
            )
        )
    elif wizard.at is None:
        question = ngettext(
            "Send it now to {count} group?", "Send it now to {count} groups?", summary.groups
        )
        lines.append(esc(question).format(count=summary.groups))
    else:
        question = ngettext(
            "Schedule it for {count} group at {time}?",
            "Schedule it for {count} groups at {time}?",
            summary.groups,
        )
        lines.append(
            esc(question).format(
                count=summary.groups, time=f"<b>{esc(when_text(wizard.at, timezone=timezone))}</b>"
            )
        )
    start = wizard.at or utcnow()
    lines.append(deadline_choice_line(wizard.deadline, start=start, timezone=timezone))
    markup = confirm_keyboard(scheduled=wizard.at is not None, n=wizard.notice_id, v=wizard.screen)
    choices = deadline_choices(wizard.deadline, start=start, timezone=timezone)
    markup = with_deadline_buttons(markup, choices, n=wizard.notice_id, v=wizard.screen)
    await outbox.send(chat_id, Screen("\n".join(lines), markup))


async def show_current(
    outbox: Outbox,
    chat_id: int,
    *,
    session: AsyncSession,
    ward_id: int,
    wizard: Wizard,
    step: str | None,
    timezone: str = DEFAULT_TIMEZONE,
) -> None:
    """The step the official is at, drawn again below a reminder (same screen number)."""
    hint = _("You are writing notice #{id}. Use the buttons below, or send /cancel to drop it.")
    hint = hint.format(id=wizard.notice_id)
    if step in (Compose.when.state, Compose.confirm.state):
        summary = await target_summary(session=session, notice_id=wizard.notice_id)
        if step == Compose.when.state:
            await show_when(outbox, chat_id, summary=summary, wizard=wizard, hint=hint)
        else:
            await show_confirm(
                outbox, chat_id, summary=summary, wizard=wizard, hint=hint, timezone=timezone
            )
    elif step == Compose.targets.state:
        await show_picker(outbox, chat_id, session=session, ward_id=ward_id, wizard=wizard)
    else:
        await show_review(outbox, chat_id, session=session, wizard=wizard, hint=hint)


async def status_screen(
    *,
    session: AsyncSession,
    notice: Notice,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> Screen:
    """A notice's status, with «Hủy» and «Đổi giờ» while its time has not come («Sửa và
    gửi lại» when an approver asked for changes); once it goes out, «✏️ Đính chính»
    «🗑 Thu hồi», who acknowledged by area (`bot.ack_texts`) and «🔔 Nhắc» while some
    have not."""
    progress = await notice_progress(session=session, notice_id=notice.id or 0)
    acks = await sent_acks(session=session, notice=notice)
    if acks is not None and acks.areas:
        progress.failures = []  # listed by area below, with the plain reason
    text = status_text(
        notice_id=notice.id or 0,
        title=notice.title or notice.text[:60],
        progress=progress,
        scheduled_at=notice.scheduled_at,
        timezone=timezone,
        approval=notice.approval,
        repeat=describe(notice.rrule, locale=_locale(), timezone=timezone)
        if notice.rrule
        else None,
    )
    waiting = notice.status == NoticeStatus.scheduled and (
        notice.scheduled_at is not None and notice.scheduled_at > (now or utcnow())
    )
    if notice.status == NoticeStatus.draft:
        changes = notice.approval == Approval.changes
        return Screen(text, resend_keyboard(notice.id or 0) if changes else None)
    if waiting and acks is None:
        return Screen(text, notice_keyboard(notice.id or 0))
    # A sent notice: «✏️ Đính chính» «🗑 Thu hồi», and how far the last of them has come.
    line, amend_markup = await amend_status(session=session, notice=notice)
    text = f"{text}\n{line}" if line else text
    if acks is None:
        return Screen(text, amend_markup)
    screen = await acks_screen(
        session=session,
        notice=notice,
        text=text,
        acks=acks,
        timezone=timezone,
        more=amend_markup,
    )
    if waiting:  # a recurring notice between occurrences: its next time can still change
        return Screen(screen.text, notice_keyboard(notice.id or 0))
    return screen


async def sent_acks(*, session: AsyncSession, notice: Notice) -> NoticeAcks | None:
    """Who acknowledged the notice's latest occurrence; None before it went out."""
    fired = notice.occurrences > 0 and notice.status != NoticeStatus.cancelled
    if not notice.id or not (
        fired or notice.status in (NoticeStatus.dispatching, NoticeStatus.done)
    ):
        return None
    return await notice_acks_by_area(session=session, notice_id=notice.id)


async def acks_screen(
    *,
    session: AsyncSession,
    notice: Notice,
    text: str,
    acks: NoticeAcks,
    timezone: str,
    more: InlineKeyboardMarkup | None = None,
) -> Screen:
    lines = [text]
    if notice.ack_deadline is not None:
        lines.append(deadline_line(notice.ack_deadline, timezone=timezone))
    reminded = await reminder_progress(session=session, notice_id=notice.id or 0)
    if reminded is not None:
        lines.append(reminder_progress_line(reminded))
    head = "\n".join(lines)
    room = TELEGRAM_CAPABILITIES.max_text - utf16_len(head) - 8  # the markup is not counted
    block = acks_block(acks, room=room, timezone=timezone)
    silent = acks.count(GroupState.silent)
    markup = remind_keyboard(
        notice.id or 0,
        remind=bool(silent) and notice.recalled_at is None,
        full_list=not fits_in_detail(acks, room=room, timezone=timezone),
    )
    return Screen("\n".join([head, block]) if block else head, joined(markup, more))


async def read_time(outbox: Outbox, chat_id: int, typed: str, *, timezone: str) -> datetime | None:
    """The time an official typed, or None once they have been told why it cannot be used."""
    try:
        return parse_local_time(typed, timezone=timezone)
    except InvalidInput as exc:
        await outbox.send(chat_id, Screen(time_error_text(exc, typed, timezone=timezone)))
        return None
