"""The Zalo composer's screens: plain text with numbered choices, each within Zalo's 2,000
characters (`ZALO_CAPABILITIES.max_text`).

Zalo has no buttons, so every screen ends with what to type («Gõ 1 để …», «Gõ 0 để
hủy»), and the numbers it shows are the ones its reply is read against (the caller keeps
them with the wizard). Texts are the Telegram bot's catalog texts where they say the same
thing (drawn inside the official's locale, see `ZaloComposer`), turned from HTML into
plain text; only what names a button is said the Zalo way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.texts import (
    cut,
    finding_text,
    locale_name,
    rendition_block,
    typed_time_error,
    warning_text,
    when_text,
)
from broadcasts.compose import TargetSummary
from broadcasts.errors import InvalidInput
from broadcasts.models import Notice, NoticeStatus, Rendition
from broadcasts.notices import Progress
from broadcasts.picker import Picker
from broadcasts.reminders import NoticeAcks
from broadcasts.timeparse import example_day
from broadcasts.transports.zalo_wire import ZALO_CAPABILITIES

MAX_TEXT = ZALO_CAPABILITIES.max_text
NAME_CHARS = 60
_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """A catalog text written for Telegram's HTML as Zalo shows it: no tags, no entities."""
    return html.unescape(_TAG.sub("", text))


def fit(lines: Sequence[str], limit: int = MAX_TEXT) -> str:
    """Whole lines while they fit in one Zalo message; the choices (the last lines) are
    kept first, so a long list loses its middle, never what to type."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept = list(lines)
    while kept and len("\n".join(kept)) > limit - 2:
        kept.pop(len(kept) // 2)
    return "\n".join(kept)


def choice_line(number: int | str, label: str) -> str:
    return _("Type {number} to {action}").format(number=number, action=label)


def cancel_line() -> str:
    return _("Type 0 to cancel this notice (nothing is sent)")


def menu(options: Sequence[tuple[str, str]]) -> list[str]:
    """Numbered choices (label by key) and «0» to cancel, as screen lines."""
    return [choice_line(i, label) for i, (_key, label) in enumerate(options, 1)] + [cancel_line()]


# -- review ----------------------------------------------------------------------------


def rendition_screen(r: Rendition) -> str:
    return plain(rendition_block(r, limit=MAX_TEXT))


_BUTTON_WARNINGS = ("no_translation_offline", "translation_missing", "not_in_vietnamese")


def zalo_warning(code: str, detail: str, locale: str | None) -> str:
    """A review warning; those that name a Telegram button point at the menu instead."""
    if code in _BUTTON_WARNINGS:
        return _(
            "Groups reading {language} will get the Vietnamese text. To write the {language} "
            "text yourself, choose «edit the {language} text» below."
        ).format(language=locale_name(locale or ""))
    if code == "missing_fact":
        return _(
            "The text to be sent leaves out: {detail}. If they are needed, choose «edit the "
            "Vietnamese text» below."
        ).format(detail=detail.split(": ", 1)[-1])
    return warning_text(code, detail, locale)


def review_options(
    *, locales: Sequence[str], has_private: bool, has_flags: bool, urgent: bool
) -> list[tuple[str, str]]:
    """The review's choices, in the order they are numbered."""
    options = [("targets", _("choose who receives it"))]
    if has_flags:
        options.append(("checked", _("say you checked the facts marked ❗")))
    for locale in locales:
        label = _("edit the {language} text").format(language=locale_name(locale))
        options.append((f"edit:{locale}", label))
    if has_private:
        options.append(("mask", _("mask the phone and ID numbers")))
    options.append(("urgent", _("remove the urgent mark") if urgent else _("mark it urgent")))
    return options


def urgent_line() -> str:
    return _("🚨 URGENT: the groups will see this notice marked urgent, and it goes first.")


def review_screen(
    *,
    notice_id: int,
    warnings: Sequence[tuple[str, str, str | None]],
    renditions: Sequence[Rendition],
    urgent: bool,
    options: Sequence[tuple[str, str]],
    hint: str = "",
) -> str:
    lines = [hint] if hint else []
    lines.append(_("Notice #{id}").format(id=notice_id))
    if urgent:
        lines.append(
            _("🚨 URGENT: the groups will see this notice marked urgent, and it goes first.")
        )
    lines.append(_("👆 This is what the groups will receive. Check it, then type your choice."))
    lines += ["⚠️ " + plain(zalo_warning(code, d, loc)) for code, d, loc in warnings]
    flagged = [f for r in renditions if not r.confirmed for f in r.findings]
    lines += ["❗ " + plain(finding_text(f)) for f in flagged[:10]]
    return fit([*lines, "", *menu(options)])


def edit_prompt(locale: str) -> str:
    return fit(
        [
            _(
                "Send the whole corrected {language} text (tip: press and hold the text "
                "above → Copy, edit it, then send). Loa sends it exactly as written."
            ).format(language=locale_name(locale)),
            cancel_line(),
        ]
    )


# -- targets ---------------------------------------------------------------------------


def picker_screen(picker: Picker, *, hint: str = "") -> str:
    lines = [hint] if hint else []
    lines.append(_("Choose who receives it. Numbers in brackets are group chats."))
    if picker.query:
        lines.append(
            ngettext(
                "Search “{query}”: {count} area.",
                "Search “{query}”: {count} areas.",
                picker.matches,
            ).format(query=cut(picker.query, NAME_CHARS), count=picker.matches)
        )
    elif picker.opened is not None:
        lines.append(_("Inside {name}:").format(name=cut(picker.opened.name, NAME_CHARS)))
    if picker.pages > 1:
        lines.append(_("Page {page}/{pages}").format(page=picker.page + 1, pages=picker.pages))
    if picker.page == 0 and not picker.query and picker.opened is None:
        mark = "✅" if picker.ward.selected else "▫️"
        whole = ngettext(
            "{mark} The whole ward ({count} group): type «all»",
            "{mark} The whole ward ({count} groups): type «all»",
            picker.ward.groups,
        )
        lines.append(whole.format(mark=mark, count=picker.ward.groups))
    for i, item in enumerate(picker.items, 1):
        mark = "✅" if item.selected else ("☑️" if item.covered else "▫️")
        name = cut(item.name, NAME_CHARS)
        if item.parent_name:
            name = f"{name} – {cut(item.parent_name, NAME_CHARS)}"
        more = " ›" if item.has_children else ""
        lines.append(f"{i}. {mark} {name} ({item.groups}){more}")
    if picker.chosen:
        names = ", ".join(cut(n, NAME_CHARS) for n in picker.chosen[:8])
        names += "…" if len(picker.chosen) > 8 else ""
        chosen = ngettext(
            "Chosen: {names} ({count} group)",
            "Chosen: {names} ({count} groups)",
            picker.chosen_groups,
        )
        lines.append(chosen.format(names=names, count=picker.chosen_groups))
    lines.append("")
    lines.append(_("Type numbers to choose or unchoose, e.g. 1,3,5"))
    if any(item.has_children for item in picker.items):
        lines.append(_("Type «m 2» to open number 2 (›) and choose its groups one by one"))
    if picker.pages > 1:
        lines.append(_("Type «s» for the next page, «t» for the page before"))
    if picker.opened is not None or picker.query:
        lines.append(_("Type «q» to go back to the whole ward"))
    lines.append(_("Type part of a name to find it (e.g. tổ 5)"))
    lines.append(_("Type «xong» when you have chosen"))
    lines.append(cancel_line())
    return fit(lines)


# -- when and confirm ------------------------------------------------------------------


def reach_line(summary: TargetSummary) -> str:
    names = ", ".join(cut(n, NAME_CHARS) for n in summary.names[:8])
    names += "…" if len(summary.names) > 8 else ""
    if not summary.groups:
        return ngettext(
            "{names} has no group chat yet; groups that register before the time will receive it.",
            "{names} have no group chat yet; groups that register before the time will receive it.",
            len(summary.names),
        ).format(names=names)
    return ngettext(
        "The notice will reach {count} group: {names}.",
        "The notice will reach {count} groups: {names}.",
        summary.groups,
    ).format(count=summary.groups, names=names)


def when_options(month_day: int | None) -> list[tuple[str, str]]:
    options = [
        ("now", _("send it now")),
        ("later", _("schedule it for a time you type")),
        ("weekly", _("send it now, then every week at this time")),
    ]
    if month_day is not None:
        monthly = _("send it now, then every month on day {day}").format(day=month_day)
        options.append(("monthly", monthly))
    return options


def when_screen(
    summary: TargetSummary, *, options: Sequence[tuple[str, str]], timezone: str, hint: str = ""
) -> str:
    lines = [hint] if hint else []
    lines += [reach_line(summary), _("When should it be sent?"), ""]
    lines += menu(options)
    typed = _("Or type the time straight away, e.g. {example}")
    lines.insert(-1, typed.format(example=time_example(timezone)))
    return fit(lines)


def time_example(timezone: str) -> str:
    day = example_day(timezone=timezone)
    return f"17h30 {day.day}/{day.month}"


def time_prompt(*, timezone: str, hint: str = "") -> str:
    lines = [hint] if hint else []
    lines += [
        _(
            "Type the time and the day, e.g. {example} or 17h30 mai; or how it repeats, "
            "e.g. thứ Năm hằng tuần 18h (Ho Chi Minh City time)."
        ).format(example=time_example(timezone)),
        cancel_line(),
    ]
    return fit(lines)


def time_error(error: InvalidInput, typed: str, *, timezone: str) -> str:
    return plain(typed_time_error(error, typed, timezone))


def confirm_question(
    summary: TargetSummary, *, at: datetime | None, repeat: str | None, timezone: str
) -> str:
    count = summary.groups
    if repeat is not None and at is None:
        return ngettext(
            "Send it now to {count} group, then repeat: {repeat}?",
            "Send it now to {count} groups, then repeat: {repeat}?",
            count,
        ).format(count=count, repeat=repeat)
    if repeat is not None and at is not None:
        return ngettext(
            "Repeat for {count} group: {repeat}, the first time at {time}?",
            "Repeat for {count} groups: {repeat}, the first time at {time}?",
            count,
        ).format(count=count, repeat=repeat, time=when_text(at, timezone=timezone))
    if at is None:
        return ngettext(
            "Send it now to {count} group?", "Send it now to {count} groups?", count
        ).format(count=count)
    return ngettext(
        "Schedule it for {count} group at {time}?",
        "Schedule it for {count} groups at {time}?",
        count,
    ).format(count=count, time=when_text(at, timezone=timezone))


def deadline_label(action: str, hour: int, *, tomorrow: bool) -> str:
    """A quick «Đã nhận» deadline as a menu choice (`action` as in `deadline_choices`)."""
    if action == "m":
        return _("ask for «✅ Received» within 2 hours")
    if action == "by" and tomorrow:
        return _("ask for «✅ Received» before {hour}h tomorrow").format(hour=hour)
    if action == "by":
        return _("ask for «✅ Received» before {hour}h").format(hour=hour)
    return _("set no deadline for «✅ Received»")


def confirm_options(
    *, scheduled: bool, deadlines: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    send = ("send", _("schedule it") if scheduled else _("send it"))
    return [send, ("when", _("change the time")), *deadlines]


def confirm_screen(
    *,
    question: str,
    deadline_line: str,
    approval_line: str,
    warnings: Sequence[str],
    options: Sequence[tuple[str, str]],
    hint: str = "",
) -> str:
    lines = [hint] if hint else []
    lines.append(question)
    lines += warnings
    lines.append(deadline_line)
    if approval_line:
        lines.append(approval_line)
    return fit([*lines, "", *menu(options)])


# -- after sending, and status ---------------------------------------------------------


def sent_text(notice: Notice, *, now: bool, groups: int, timezone: str) -> str:
    if notice.approval == "pending":
        text = _("📨 Notice #{id} was sent to the ward's leaders for approval.")
    elif now:
        text = ngettext(
            "📣 Sending notice #{id} to {count} group…",
            "📣 Sending notice #{id} to {count} groups…",
            groups,
        )
    else:
        text = ngettext(
            "📣 Notice #{id} is scheduled: {time}, to {count} group.",
            "📣 Notice #{id} is scheduled: {time}, to {count} groups.",
            groups,
        )
    at = notice.scheduled_at
    told = text.format(
        id=notice.id, count=groups, time=when_text(at, timezone=timezone) if at else ""
    )
    return "\n".join([told, _("Type TT to see how far it has gone.")])


def status_lines(
    notice: Notice, progress: Progress, acks: NoticeAcks | None, *, timezone: str
) -> list[str]:
    title = cut(notice.title or notice.text, NAME_CHARS)
    lines = [f"#{notice.id} {title}"]
    if notice.approval == "pending" and notice.status == NoticeStatus.draft:
        lines.append(_("⏳ Waiting for the ward's leaders to approve it"))
    elif notice.status == NoticeStatus.cancelled:
        lines.append(_("Cancelled"))
    elif notice.status == NoticeStatus.scheduled and not notice.occurrences:
        at = notice.scheduled_at
        lines.append(
            _("🕑 Scheduled: {time}").format(time=when_text(at, timezone=timezone) if at else "")
        )
    if notice.status == NoticeStatus.scheduled or notice.approval == "pending":
        lines.append(_("Type HUY {id} to cancel it").format(id=notice.id))
    if progress.total:
        counts = _("Sent {sent}/{total} · Not delivered {failed} · Received by {acked} groups")
        lines.append(
            counts.format(
                sent=progress.sent,
                total=progress.total,
                failed=progress.failed,
                acked=progress.acknowledged_channels,
            )
        )
    for area in acks.areas if acks is not None else []:
        sent = len(area.groups) - len(area.waiting) - len(area.failed)
        line = _("📍 {area}: sent {sent}/{total} · ✅ received {done} · ⏳ not yet {silent}")
        lines.append(
            line.format(
                area=cut(area.area_name, NAME_CHARS),
                sent=sent,
                total=len(area.groups),
                done=len(area.acknowledged),
                silent=len(area.silent),
            )
        )
    return lines


def status_screen(blocks: Sequence[list[str]]) -> str:
    if not blocks:
        return _("You have not sent any notices yet.")
    lines: list[str] = []
    for block in blocks:
        lines += [*block, ""]
    lines.append(_("Type TT and a number (e.g. TT 5) to see one notice."))
    return fit(lines)


def official_help(name: str) -> str:
    return fit(
        [
            _("Hello {name}! Paste the notice's text here to start.").format(name=name).strip(),
            _("Type TT to see how your latest notices are going."),
        ]
    )


def expired_text(notice_id: int, minutes: int) -> str:
    return _(
        "Notice #{id} waited more than {minutes} minutes for an answer, so Loa dropped it; "
        "nothing was sent. Paste the text again to start over."
    ).format(id=notice_id, minutes=minutes)


def dropped_text(notice_id: int) -> str:
    return _("Notice #{id} was dropped; it was not sent to any group.").format(id=notice_id)


def not_understood(typed: str) -> str:
    return _("Sorry, Loa did not understand “{text}”. Please type one of the choices:").format(
        text=cut(typed, 40)
    )


def no_such_number(number: int) -> str:
    return _("There is no number {number} in the list. Please type one of the choices:").format(
        number=number
    )
