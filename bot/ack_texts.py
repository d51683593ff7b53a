"""What the bot says about who acknowledged a notice: the per-area block of the status
message, the reminder's confirmation and progress, the deadline's summary for the
official and the message to an area's contact person.

HTML for Telegram like `bot.texts`; names and titles are escaped. The per-area block
fits the room it is given: group by group while it fits, else one line of counts per
area (a ward has up to about 1,000 groups; a message holds 4,096 characters). When a
notice's groups are on more than one transport, each group is named with its platform
(«Khu phố 3 · Zalo»), and groups of the same name are counted once («… ×2»).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.texts import cut, esc, failure_sentence, transport_name, utf16_len, when_text
from broadcasts.deadlines import NO_DEADLINE, by_minutes, by_time, chosen_deadline
from broadcasts.errors import Conflict
from broadcasts.reminders import AreaAcks, GroupAcks, NoticeAcks, ReminderProgress
from broadcasts.settings import DEFAULT_TIMEZONE
from broadcasts.timeparse import next_local_hour

_NAMES_SHOWN = 12  # silent groups named on one line before "and N more"


def _clock(at: datetime | None, timezone: str) -> str:
    if at is None:
        return ""
    if at.tzinfo is None:  # stored as UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def _group_name(group: GroupAcks, tagged: bool, width: int = 60) -> str:
    """The group as the official reads it: its area, and its platform when `tagged`."""
    name = cut(group.area_name, width)
    return f"{name} · {transport_name(group.transport)}" if tagged else name


def is_tagged(acks: NoticeAcks) -> bool:
    """Whether the notice's groups are on more than one transport (so each is named)."""
    return len(acks.transports) > 1


def _acked_line(group: GroupAcks, timezone: str, tagged: bool = False) -> str:
    clock = _clock(group.first_at, timezone)
    if group.first_by_leader:
        template = _("✅ {group}: {name} ({time}, group leader)")
    else:
        template = _("✅ {group}: {name} ({time})")
    line = template.format(
        group=_group_name(group, tagged), name=cut(group.first_name or "?", 40), time=clock
    )
    if group.people > 1:
        line += " " + ngettext("+{count} other", "+{count} others", group.people - 1).format(
            count=group.people - 1
        )
    return esc(line)


def _names(groups: Sequence[GroupAcks], tagged: bool = False) -> str:
    counted: dict[str, int] = {}
    for group in groups:
        name = _group_name(group, tagged, 40)
        counted[name] = counted.get(name, 0) + 1
    shown = [f"{n} ×{c}" if c > 1 else n for n, c in list(counted.items())[:_NAMES_SHOWN]]
    text = ", ".join(shown)
    if len(counted) > _NAMES_SHOWN:
        more = sum(list(counted.values())[_NAMES_SHOWN:])
        text += " " + ngettext("and {count} more", "and {count} more", more).format(count=more)
    return text


def area_block(
    area: AreaAcks, *, timezone: str = DEFAULT_TIMEZONE, tagged: bool = False
) -> list[str]:
    """One area, group by group (`tagged`: each named with its transport)."""
    done, total = len(area.acknowledged), len(area.groups)
    head = ngettext(
        "📍 {area}: {done}/{total} group acknowledged",
        "📍 {area}: {done}/{total} groups acknowledged",
        total,
    )
    lines = [
        esc(head).format(area=f"<b>{esc(cut(area.area_name, 60))}</b>", done=done, total=total)
    ]
    lines += [_acked_line(g, timezone, tagged) for g in area.acknowledged]
    if area.silent:
        lines.append(esc(_("⏳ Not yet: {groups}").format(groups=_names(area.silent, tagged))))
    for group in area.failed:
        reason = failure_sentence(group.failure) if group.failure else group.reason
        lines.append(esc(cut(f"✖️ {_group_name(group, tagged)}: {reason}", 200)))
    if area.waiting:
        count = len(area.waiting)
        lines.append(
            esc(
                ngettext(
                    "🕓 Still sending: {count} group", "🕓 Still sending: {count} groups", count
                )
            ).format(count=count)
        )
    return lines


def area_counts_line(area: AreaAcks) -> str:
    """One area in one line of counts, for a big ward."""
    text = _("📍 {area}: ✅ {done} · ⏳ {silent} · ✖️ {failed}").format(
        area="\0", done=len(area.acknowledged), silent=len(area.silent), failed=len(area.failed)
    )
    return esc(text).replace("\0", f"<b>{esc(cut(area.area_name, 60))}</b>")


def _detailed(acks: NoticeAcks, timezone: str) -> list[str]:
    tagged = is_tagged(acks)
    return [
        line for area in acks.areas for line in area_block(area, timezone=timezone, tagged=tagged)
    ]


def fits_in_detail(acks: NoticeAcks, *, room: int, timezone: str = DEFAULT_TIMEZONE) -> bool:
    """Whether the group-by-group block fits `room` (else it is summarised, and the whole
    list is a «Xem danh sách» away)."""
    return _visible("\n".join(_detailed(acks, timezone))) <= room


def detail_pages(acks: NoticeAcks, *, room: int, timezone: str = DEFAULT_TIMEZONE) -> list[str]:
    """The group-by-group block cut into pages of at most `room`, at line boundaries."""
    pages: list[list[str]] = [[]]
    used = 0
    for line in _detailed(acks, timezone):
        size = _visible(line) + 1
        if pages[-1] and used + size > room:
            pages.append([])
            used = 0
        pages[-1].append(line)
        used += size
    return ["\n".join(page) for page in pages if page] or [""]


def list_page_title(notice_id: int, page: int, pages: int) -> str:
    return esc(
        _("📋 Notice #{id}: who acknowledged (page {page}/{pages})").format(
            id=notice_id, page=page, pages=pages
        )
    )


def acks_block(acks: NoticeAcks, *, room: int, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The per-area block in at most `room` characters (as Telegram counts them): every
    group while that fits, else counts per area, else as many areas as fit."""
    if not acks.areas:
        return ""
    text = "\n".join(_detailed(acks, timezone))
    if _visible(text) <= room:
        return text
    lines = [esc(_("Per area (✅ acknowledged · ⏳ not yet · ✖️ failed):"))]
    for index, area in enumerate(acks.areas):
        line = area_counts_line(area)
        left = len(acks.areas) - index
        more = esc(ngettext("… and {count} more area", "… and {count} more areas", left)).format(
            count=left
        )
        if _visible("\n".join([*lines, line, more])) > room:
            lines.append(more)
            break
        lines.append(line)
    return "\n".join(lines)


def _visible(html_text: str) -> int:
    # Only <b> tags and escapes are used here: strip them to count what a reader sees.
    return utf16_len(html.unescape(re.sub(r"</?b>", "", html_text)))


def reminder_progress_line(progress: ReminderProgress) -> str:
    line = ngettext(
        "🔔 Reminder: sent to {sent}/{total} group",
        "🔔 Reminder: sent to {sent}/{total} groups",
        progress.total,
    ).format(sent=progress.sent, total=progress.total)
    if progress.skipped:
        line += " " + ngettext(
            "({count} acknowledged before it went)",
            "({count} acknowledged before it went)",
            progress.skipped,
        ).format(count=progress.skipped)
    if progress.failed:
        line += " · " + _("not delivered: {count}").format(count=progress.failed)
    return esc(line)


def remind_question(notice_id: int, count: int) -> str:
    return esc(
        ngettext(
            "Send a reminder to the {count} group that has not pressed «✅ Received» for "
            "notice #{id}? On Telegram it arrives as a reply to the notice, with the button; on "
            "Zalo, as a new message.",
            "Send a reminder to the {count} groups that have not pressed «✅ Received» for "
            "notice #{id}? On Telegram it arrives as a reply to the notice, with the button; on "
            "Zalo, as a new message.",
            count,
        ).format(count=count, id=notice_id)
    )


def nobody_to_remind(notice_id: int) -> str:
    return esc(
        _("Every group that received notice #{id} has pressed «✅ Received» already.").format(
            id=notice_id
        )
    )


def reminding_text(notice_id: int, count: int) -> str:
    if not count:
        return nobody_to_remind(notice_id)
    return esc(
        ngettext(
            "🔔 Reminding {count} group of notice #{id}. The status message shows the progress.",
            "🔔 Reminding {count} groups of notice #{id}. The status message shows the progress.",
            count,
        ).format(count=count, id=notice_id)
    )


def not_remindable(notice_id: int, error: Conflict) -> str:
    reason = error.detail.get("reason")
    if reason == "recalled":
        text = _("Notice #{id} was recalled: there is nothing to remind of.")
    elif reason == "cancelled":
        text = _("Notice #{id} was cancelled: there is nothing to remind of.")
    else:
        text = _("Notice #{id} has not reached any group yet.")
    return esc(text.format(id=notice_id))


def deadline_line(deadline: datetime | None, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    if deadline is None:
        return esc(_("⏰ No deadline for «✅ Received»."))
    at = f"<b>{esc(when_text(deadline, timezone=timezone))}</b>"
    return esc(_("⏰ Groups should press «✅ Received» by {time}.")).format(time=at)


def escalation_summary(
    *,
    notice_id: int,
    title: str,
    acks: NoticeAcks,
    reminded: int,
    room: int,
    timezone: str = DEFAULT_TIMEZONE,
) -> str:
    """For the official, at the deadline: how many acknowledged, who has not, by area."""
    done = sum(len(a.acknowledged) for a in acks.areas)
    head = ngettext(
        "⏰ Deadline of notice #{id} «{title}»: {done}/{total} group pressed «✅ Received».",
        "⏰ Deadline of notice #{id} «{title}»: {done}/{total} groups pressed «✅ Received».",
        acks.total,
    ).format(id=notice_id, title=cut(title, 80), done=done, total=acks.total)
    lines = [esc(head)]
    if reminded:
        lines.append(
            esc(
                ngettext(
                    "🔔 Loa reminded the {count} group that has not, once more.",
                    "🔔 Loa reminded the {count} groups that have not, once more.",
                    reminded,
                ).format(count=reminded)
            )
        )
    used = _visible("\n".join(lines)) + 1
    block = acks_block(acks, room=room - used, timezone=timezone)
    return "\n".join([*lines, block] if block else lines)


def contacts_line(told: Sequence[str], unreachable: Sequence[str]) -> str:
    lines = []
    if told:
        lines.append(_("📞 Told the area contacts: {names}").format(names=", ".join(told)))
    if unreachable:
        lines.append(
            _(
                "📞 Could not tell {names}: they have not started a chat with Loa yet "
                "(ask them to open Loa and press Start)."
            ).format(names=", ".join(unreachable))
        )
    return esc("\n".join(lines))


def contact_text(*, notice_id: int, title: str, area: AreaAcks) -> str:
    """For an area's contact person (the khu phố head), in a private chat."""
    text = ngettext(
        "Hello {name}! The ward's notice #{id} «{title}»: {count} group of {area} has not "
        "pressed «✅ Received» yet: {groups}. Please remind them.",
        "Hello {name}! The ward's notice #{id} «{title}»: {count} groups of {area} have not "
        "pressed «✅ Received» yet: {groups}. Please remind them.",
        len(area.silent),
    ).format(
        name=cut(area.contact_name or "", 60),
        id=notice_id,
        title=cut(title, 80),
        count=len(area.silent),
        area=area.area_name,
        groups=_names(area.silent),
    )
    return esc(text)


# -- the deadline in the wizard -------------------------------------------------------

QUICK_DEADLINE_MINUTES = 120
QUICK_DEADLINE_HOUR = 17


def deadline_choices(
    choice: str, *, start: datetime, timezone: str = DEFAULT_TIMEZONE
) -> list[tuple[str, str, int, bool]]:
    """The quick deadlines under the confirm screen: (label, action, value, chosen)."""
    by = next_local_hour(start, QUICK_DEADLINE_HOUR, timezone=timezone)
    tomorrow = (
        by.astimezone(ZoneInfo(timezone)).date() > start.astimezone(ZoneInfo(timezone)).date()
    )
    before = _("Before {hour}h tomorrow") if tomorrow else _("Before {hour}h")
    return [
        (
            _("⏰ Within 2 hours"),
            "m",
            QUICK_DEADLINE_MINUTES,
            choice == by_minutes(QUICK_DEADLINE_MINUTES),
        ),
        (before.format(hour=QUICK_DEADLINE_HOUR), "by", int(by.timestamp()), choice == by_time(by)),
        (_("No deadline"), "none", 0, choice == NO_DEADLINE),
    ]


def deadline_choice_line(choice: str, *, start: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    chosen = chosen_deadline(choice, start=start)
    if isinstance(chosen, str):  # the ward's default, decided when it is sent
        return esc(
            _(
                "⏰ «✅ Received» deadline: the ward's default. Pick one below, or type it "
                "(«trong 2 giờ», «trước 17h»)."
            )
        )
    return deadline_line(chosen, timezone=timezone)
