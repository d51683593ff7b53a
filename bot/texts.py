"""What the bot says, assembled from catalog strings (every user-facing string is `_()`).

Every text here is HTML for Telegram's HTML parse mode: user text and names are escaped
with `html.escape`, and lengths are measured on the text a reader sees (Telegram's count,
in UTF-16 code units), never on the markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from broadcasts.errors import InvalidInput, PastTime
from broadcasts.failures import Failure, classify, failure_words
from broadcasts.i18n import DEFAULT_LOCALE, translations, transport_label
from broadcasts.models import NoticeStatus, Rendition
from broadcasts.notices import Progress, Withdrawal
from broadcasts.recurrence import is_repeat_text
from broadcasts.settings import DEFAULT_TIMEZONE
from broadcasts.timeparse import example_day
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES

BAR_WIDTH = 10


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-16 units, ending with "…" when it had to be cut."""
    if utf16_len(text) <= limit:
        return text
    kept, used = [], 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit - 1:
            break
        kept.append(char)
        used += width
    return "".join(kept) + "…"


def weekday(at: date) -> str:
    names = (
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    )
    return names[at.weekday()]


def when_text(at: datetime, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    """As a Vietnamese notice writes it: «7 giờ 30, thứ Bảy, ngày 05/12/2026»."""
    local = at.astimezone(ZoneInfo(timezone))
    clock = (
        _("{hour}:00").format(hour=local.hour)
        if local.minute == 0
        else _("{hour}:{minute}").format(hour=local.hour, minute=f"{local.minute:02d}")
    )
    return _("{clock}, {weekday}, {date}").format(
        clock=clock, weekday=weekday(local), date=local.strftime("%d/%m/%Y")
    )


def locale_name(locale: str) -> str:
    """The language's name as it reads mid-sentence ("tiếng Anh")."""
    names = {
        "vi": _("Vietnamese"),
        "en": _("English"),
        "zh": _("Chinese"),
        "km": _("Khmer"),
    }
    return names.get(locale, locale)


def source_name(source: str) -> str:
    return {
        "ai": _("AI"),
        "offline": _("automatic summary"),
        "edited": _("edited by you"),
        "cap": _("from the upstream alert"),
    }.get(source, source)


_WEEKDAY_DETAIL = re.compile(
    r"^(?P<said>.+?) \((?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4}): [^)]*\)$"
)


def _weekday_warning(detail: str) -> str:
    """«thứ Bảy, ngày 29/11/2026 (29/11/2026: Chủ nhật)» as a sentence that says it plainly."""
    m = _WEEKDAY_DETAIL.match(detail.strip())
    try:
        day = date(int(m["y"]), int(m["m"]), int(m["d"])) if m else None
    except ValueError:
        day = None
    if m is None or day is None:
        return _("The weekday and the date do not match: {detail}. Please check the date.").format(
            detail=detail
        )
    return _(
        "The original says “{said}”, but {date} is a {weekday}. "
        "Please check the date or the weekday."
    ).format(said=m["said"], date=day.strftime("%d/%m/%Y"), weekday=weekday(day))


def warning_text(code: str, detail: str, locale: str | None) -> str:
    """One review warning as the official reads it; an engine's detail in English (an AI
    error code, "disabled in settings") is never shown."""
    if code == "weekday_mismatch":
        return _weekday_warning(detail)
    texts = {
        "private_phone": _(
            "The notice shows a private phone number: {detail}. Do you want to mask it?"
        ),
        "private_id_number": _(
            "The notice shows the number of a person's ID card: {detail}. Do you want to mask it?"
        ),
        "ai_failed_fallback": _("The AI did not answer, so Loa shortened the text itself."),
        "ai_disabled": _(
            "The AI is not turned on: Loa shortens the text by picking its key sentences."
        ),
        "no_translation_offline": _(
            "Groups reading {language} will get the Vietnamese text, as Loa cannot translate "
            "yet. To write it yourself, press «✏️ Edit the {language} text»."
        ),
        "translation_missing": _(
            "The AI gave no {language} text: groups reading {language} will get the "
            "Vietnamese text. To write it yourself, press «✏️ Edit the {language} text»."
        ),
        "not_in_vietnamese": _(
            "The original is written in {source_language}, and Loa cannot translate it. "
            "Press «✏️ Edit the Vietnamese text» to write the Vietnamese text."
        ),
        "past_date": _("The text has a date that has already passed: {detail}. Please check it."),
        "missing_fact": _(
            "The text to be sent leaves out: {detail}. If they are needed, press "
            "«✏️ Edit the Vietnamese text» to add them."
        ),
    }
    if code == "missing_fact":
        detail = detail.split(": ", 1)[-1]  # the engine says "not in the summary: …"
    template = texts.get(code, _("Note: {detail}"))
    return template.format(
        detail=detail,
        language=locale_name(locale or ""),
        source_language=locale_name(detail),
    )


def failure_text(reason: str) -> str:
    """A failed delivery's stored reason as one plain sentence: what happened, what to do."""
    return failure_sentence(classify(reason))


def failure_sentence(failure: Failure) -> str:
    # The sentences live with the kinds (`broadcasts.failures`), for the dashboard too.
    return failure_words(failure, translations(get_i18n().current_locale))


def finding_text(finding: Mapping[str, object]) -> str:
    return _("“{value}” in the {language} text is not in the original. Please check it.").format(
        value=finding.get("value", ""), language=locale_name(str(finding.get("locale", "")))
    )


def rendition_block(r: Rendition, limit: int = TELEGRAM_CAPABILITIES.max_text) -> str:
    """A rendition as the official reviews it: its heading, then the text as it will go.

    The text is cut to what fits in one message as a reader counts it, then escaped, so
    that an `&` or a quote never pushes it over the limit or breaks an entity.
    """
    head = _("{language} version ({source})").format(
        language=locale_name(r.locale), source=source_name(r.source)
    )
    head = head[:1].upper() + head[1:]
    body = cut(r.text, limit - utf16_len(head) - 2)
    return f"<b>{esc(head)}</b>\n\n{esc(body)}"


def review_footer(
    *,
    warnings: Iterable[tuple[str, str, str | None]],
    renditions: Iterable[Rendition],
    hint: str = "",
    urgent: bool = False,
) -> str:
    lines = [hint] if hint else []
    if urgent:
        lines.append(
            esc(_("🚨 URGENT: the groups will see this notice marked urgent, and it goes first."))
        )
    lines.append(_("👆 This is what the groups will receive. Check it, then choose who gets it."))
    for code, detail, locale in warnings:
        lines.append("⚠️ " + esc(warning_text(code, detail, locale)))
    flagged = [f for r in renditions if not r.confirmed for f in r.findings]
    for f in flagged[:10]:
        lines.append("❗ " + esc(finding_text(f)))
    if flagged:
        lines.append(esc(_("If it is right, press “✔️ I checked the facts”; if not, edit it.")))
    return cut_lines(lines)


def cut_lines(lines: Sequence[str], limit: int = TELEGRAM_CAPABILITIES.max_text) -> str:
    """Whole lines (each already HTML) while they fit; the text of a line is short."""
    kept: list[str] = []
    used = 0
    for line in lines:
        used += utf16_len(html.unescape(line)) + 1
        if used > limit:
            break
        kept.append(line)
    return "\n".join(kept)


def bar(done: int, total: int) -> str:
    filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def transport_name(transport: str) -> str:
    """«Telegram» / «Zalo» in the language the screen is drawn in (from the catalogs)."""
    try:
        locale = get_i18n().current_locale
    except LookupError:
        locale = DEFAULT_LOCALE
    return transport_label(transport, locale)


def transports_line(by_transport: Sequence[tuple[str, int, int, int]]) -> str:
    """«📨 Telegram: đã gửi 8/8, đã nhận 5 · Zalo: đã gửi 4/4, đã nhận 2»."""
    counts = [
        _("{transport}: sent {sent}/{total}, acknowledged {acknowledged}").format(
            transport=transport_name(name), sent=sent, total=total, acknowledged=acknowledged
        )
        for name, total, sent, acknowledged in by_transport
    ]
    return esc("📨 " + " · ".join(counts))


def status_text(
    *,
    notice_id: int,
    title: str,
    progress: Progress,
    scheduled_at: datetime | None,
    timezone: str = DEFAULT_TIMEZONE,
    approval: str = "",
    repeat: str | None = None,
) -> str:
    held = approval_state(approval) if progress.status in ("draft", "cancelled") else None
    status = held or {
        "draft": _("draft"),
        "scheduled": _("scheduled"),
        "dispatching": _("sending"),
        "done": (
            ngettext(
                "finished, {count} group did not receive it",
                "finished, {count} groups did not receive it",
                progress.failed,
            ).format(count=progress.failed)
            if progress.failed
            else _("finished")
        ),
        "cancelled": _("cancelled"),
    }.get(progress.status, progress.status)
    lines = [
        _("📣 <b>Notice #{id}</b>: {title}").format(id=notice_id, title=esc(cut(title, 200))),
        _("Status: {status}").format(status=status),
    ]
    if repeat is not None:
        lines.append(_("🔁 Repeats: {repeat}").format(repeat=esc(repeat)))
    if progress.status == "scheduled" and scheduled_at is not None:
        at = when_text(scheduled_at, timezone=timezone)
        if repeat is not None:
            lines.append(_("Next time: {time}").format(time=at))
        else:
            lines.append(_("Will be sent at {time}").format(time=at))
    if progress.occurrence is not None:
        lines.append(_("Time no. {number}:").format(number=progress.occurrence + 1))
    if progress.status == "draft" and approval == "pending":
        lines.append(
            _("Will be sent at {time}, once approved").format(
                time=when_text(scheduled_at, timezone=timezone)
            )
            if scheduled_at is not None
            else _("Will be sent as soon as it is approved")
        )
    if progress.total:
        done = progress.sent + progress.failed + progress.cancelled
        lines.append(f"{bar(done, progress.total)} {done}/{progress.total}")
        lines.append(
            _("Sent: {sent} · Failed: {failed} · Waiting: {pending}").format(
                sent=progress.sent, failed=progress.failed, pending=progress.pending
            )
        )
        groups = ngettext("{done}/{total} group", "{done}/{total} groups", progress.total).format(
            done=progress.acknowledged_channels, total=progress.total
        )
        people = ngettext("{count} person", "{count} people", progress.acknowledgements).format(
            count=progress.acknowledgements
        )
        lines.append(_("Acknowledged: {groups} ({people})").format(groups=groups, people=people))
        if progress.by_transport:
            lines.append(transports_line(progress.by_transport))
    elif progress.status in ("dispatching", "done"):
        lines.append(_("No active group chat in the chosen areas."))
    for title_, reason in progress.failures[:5]:
        lines.append("✖️ " + esc(cut(f"{title_}: {failure_text(reason)}", 300)))
    return "\n".join(lines)


def withdrawal_text(w: Withdrawal | None, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    """What /huy (or «❌ Hủy») did, truthfully, whatever the notice's state."""
    if w is None:
        return _("There is no notice being written or waiting to be sent.")
    if w.cancelled and w.sent and w.scheduled_at is not None:  # a recurring notice stopped
        return _(
            "Notice #{id} will not be sent again (the next time was {time}). Groups that "
            "received it earlier keep it."
        ).format(id=w.notice_id, time=when_text(w.scheduled_at, timezone=timezone))
    if w.cancelled and w.was == NoticeStatus.scheduled and w.scheduled_at is not None:
        return _(
            "Notice #{id} is cancelled (it was to be sent at {time}). No group received it."
        ).format(id=w.notice_id, time=when_text(w.scheduled_at, timezone=timezone))
    if w.cancelled:
        return _("Notice #{id} is discarded; it was not sent to any group.").format(id=w.notice_id)
    if w.was == NoticeStatus.cancelled:
        return _("Notice #{id} was cancelled earlier.").format(id=w.notice_id)
    if w.was == NoticeStatus.dispatching:
        return ngettext(
            "Notice #{id} is being sent ({sent}/{total} group) and can no longer be "
            "cancelled. To correct it, send a new notice.",
            "Notice #{id} is being sent ({sent}/{total} groups) and can no longer be "
            "cancelled. To correct it, send a new notice.",
            w.total,
        ).format(id=w.notice_id, sent=w.sent, total=w.total)
    return ngettext(
        "Notice #{id} was already sent to {sent} group and cannot be cancelled. "
        "To correct it, send a new notice.",
        "Notice #{id} was already sent to {sent} groups and cannot be cancelled. "
        "To correct it, send a new notice.",
        w.sent,
    ).format(id=w.notice_id, sent=w.sent)


def time_example(day: date) -> str:
    """How an official types a time on `day`: «7h30 2/12»."""
    return f"7h30 {day.day}/{day.month}"


def time_prompt(example: date) -> str:
    """The time prompt, its example a day ahead («7h30 2/12»)."""
    return esc(
        _("Type the time and the day, for example {example}, or press a button below.")
    ).format(example=f"<b>{time_example(example)}</b>")


def retime_prompt(notice_id: int, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    """Asking for a scheduled notice's new time, its example a day ahead."""
    example = time_example(example_day(timezone=timezone))
    return esc(
        _("Type the new time for notice #{id}, for example {example}. /cancel keeps the old time.")
    ).format(id=notice_id, example=example)


def time_error_text(error: InvalidInput, typed: str, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    """Why a typed time was refused: unreadable, or already past (maybe meant next year)."""
    at, next_year = error.detail.get("at"), error.detail.get("next_year")
    if isinstance(error, PastTime) and isinstance(next_year, datetime):
        return esc(_("“{text}” this year has passed. Did you mean {next}?")).format(
            text=esc(cut(typed, 100)), next=when_text(next_year, timezone=timezone)
        )
    if isinstance(error, PastTime) and isinstance(at, datetime):
        return esc(_("{time} has already passed. Please choose a later time.")).format(
            time=when_text(at, timezone=timezone)
        )
    example = time_example(example_day(timezone=timezone))  # always ahead
    return esc(_("Loa could not read “{text}”. Please type it like {example}.")).format(
        text=esc(cut(typed, 100)), example=example
    )


def repeat_error_text(error: InvalidInput, typed: str) -> str:
    """Why a typed repeat was refused, with an example that works."""
    if error.detail.get("reason") == "rrule_bounds":
        return esc(_("The end date in “{text}” is before the first time. Please check it.")).format(
            text=esc(cut(typed, 100))
        )
    return esc(_("Loa could not read “{text}”. Please type it like {weekly} or {monthly}.")).format(
        text=esc(cut(typed, 100)),
        # What the reader understands, typed as an official types it (Vietnamese).
        weekly="<b>thứ Năm hằng tuần 18h</b>",
        monthly="<b>ngày 1 hằng tháng 8h</b>",
    )


def typed_time_error(error: InvalidInput, typed: str, timezone: str = DEFAULT_TIMEZONE) -> str:
    """Why a typed time or repeat (`broadcasts.compose.read_when`) was refused."""
    if is_repeat_text(typed):
        return repeat_error_text(error, typed)
    return time_error_text(error, typed, timezone=timezone)


def drop_question(
    notice_id: int, at: datetime, *, timezone: str = DEFAULT_TIMEZONE, repeated: bool = False
) -> str:
    """`repeated`: a recurring notice that went out before; cancelling stops what is to come."""
    if repeated:
        text = _(
            "Stop repeating notice #{id}? The next time would be {time}; it is not sent again."
        )
    else:
        text = _("Cancel notice #{id}, to be sent at {time}? No group has received it yet.")
    return esc(text).format(id=notice_id, time=f"<b>{esc(when_text(at, timezone=timezone))}</b>")


def move_question(notice_id: int, at: datetime, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    return esc(_("Move notice #{id} to {time}?")).format(
        id=notice_id, time=f"<b>{esc(when_text(at, timezone=timezone))}</b>"
    )


def moved_text(notice_id: int, at: datetime, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    return esc(_("✅ Notice #{id} will now be sent at {time}.")).format(
        id=notice_id, time=esc(when_text(at, timezone=timezone))
    )


# -- correcting and recalling a sent notice (bot/handlers/amend.py) ---------------------


def correction_prompt(notice_id: int, groups: int) -> str:
    text = ngettext(
        "✏️ Correcting notice #{id}: send the whole corrected text (tip: long-press the "
        "notice → Copy, edit it, send it). Loa will change it in the {count} group that "
        "received it; where Telegram does not allow that, a «Correction» goes under the "
        "old notice as a reply.",
        "✏️ Correcting notice #{id}: send the whole corrected text (tip: long-press the "
        "notice → Copy, edit it, send it). Loa will change it in the {count} groups that "
        "received it; where Telegram does not allow that, a «Correction» goes under the "
        "old notice as a reply.",
        groups,
    )
    return esc(text).format(id=notice_id, count=groups)


def correction_question(notice_id: int, groups: int) -> str:
    text = ngettext(
        "👆 This is what the {count} group will read instead of notice #{id}. Send the correction?",
        "👆 This is what the {count} groups will read instead of notice #{id}. Send the "
        "correction?",
        groups,
    )
    return esc(text).format(id=notice_id, count=groups)


def recall_question(notice_id: int, groups: int, old: int) -> str:
    text = ngettext(
        "Recall notice #{id}? Loa will delete it in the {count} group that received it.",
        "Recall notice #{id}? Loa will delete it in the {count} groups that received it.",
        groups,
    ).format(id=notice_id, count=groups)
    rule = _(
        "Telegram lets Loa delete only notices sent less than 48 hours ago: a group that "
        "received it earlier gets a short line «Notice #{id} has been recalled.» instead."
    ).format(id=notice_id)
    lines = [text, rule]
    if old:
        lines.append(
            ngettext(
                "{count} group received it more than 48 hours ago.",
                "{count} groups received it more than 48 hours ago.",
                old,
            ).format(count=old)
        )
    return esc("\n".join(lines))


def amend_started(kind: str, notice_id: int, groups: int) -> str:
    if kind == "recall":
        text = ngettext(
            "🗑 Recalling notice #{id} in {count} group…",
            "🗑 Recalling notice #{id} in {count} groups…",
            groups,
        )
    else:
        text = ngettext(
            "✏️ Correcting notice #{id} in {count} group…",
            "✏️ Correcting notice #{id} in {count} groups…",
            groups,
        )
    return esc(text.format(id=notice_id, count=groups))


def amend_progress(kind: str, done: int, failed: int, total: int) -> str:
    """The status message's line: «✏️ Đính chính: 8/12 nhóm»."""
    groups = ngettext("{done}/{total} group", "{done}/{total} groups", total).format(
        done=done, total=total
    )
    line = (_("🗑 Recall: {groups}") if kind == "recall" else _("✏️ Correction: {groups}")).format(
        groups=groups
    )
    if failed:
        line += " · " + ngettext(
            "{count} group could not be reached", "{count} groups could not be reached", failed
        ).format(count=failed)
    return esc(line)


def amend_done(kind: str, notice_id: int, done: int, failed: int, total: int) -> str:
    if kind == "recall":
        text = ngettext(
            "✅ Notice #{id} is recalled in {done}/{total} group.",
            "✅ Notice #{id} is recalled in {done}/{total} groups.",
            total,
        )
    else:
        text = ngettext(
            "✅ Notice #{id} is corrected in {done}/{total} group.",
            "✅ Notice #{id} is corrected in {done}/{total} groups.",
            total,
        )
    lines = [text.format(id=notice_id, done=done, total=total)]
    if failed:
        lines.append(
            ngettext(
                "{count} group could not be reached: the status message says why.",
                "{count} groups could not be reached: the status message says why.",
                failed,
            ).format(count=failed)
        )
    return esc("\n".join(lines))


def amend_refused(reason: str, notice_id: int) -> str:
    """Why a notice cannot be corrected or recalled (`broadcasts.corrections` reasons),
    as plain text (a press's alert)."""
    if reason == "recalled":
        text = _("Notice #{id} has been recalled already.")
    elif reason == "sending":
        text = _("Notice #{id} is still going out. Please correct it once it has been sent.")
    else:
        text = _("Notice #{id} has not reached any group, so there is nothing to change there.")
    return text.format(id=notice_id)


# Approval («lãnh đạo phường duyệt»): the approvers' requests, their decisions, and what the
# official who wrote the notice is told.


def approval_state(approval: str) -> str | None:
    """The status word of a notice held by approval, None when approval does not hold it."""
    return {
        "pending": _("⏳ Waiting for approval"),
        "changes": _("✏️ Changes requested"),
        "rejected": _("❌ Rejected"),
    }.get(approval)


def writer_name(name: str | None) -> str:
    return name or _("the ward's system (API)")


def approval_request_text(
    *,
    notice_id: int,
    writer: str | None,
    title: str,
    areas: Sequence[str],
    groups: int,
    at: datetime | None,
    urgent: bool,
    timezone: str = DEFAULT_TIMEZONE,
) -> str:
    """What an approver reads above «✅ Duyệt / ✏️ Yêu cầu sửa / ❌ Từ chối» (the notice's
    renditions, as the groups will see them, are the messages just above)."""
    names = ", ".join(areas[:8]) + ("…" if len(areas) > 8 else "")
    reach = ngettext("To: {names} ({count} group)", "To: {names} ({count} groups)", groups).format(
        names=esc(cut(names, 600)), count=groups
    )
    when = (
        _("When: as soon as it is approved")
        if at is None
        else _("When: {time}").format(time=esc(when_text(at, timezone=timezone)))
    )
    lines = [
        _("📝 <b>Notice #{id} needs your approval</b>").format(id=notice_id),
        _("Written by: {name}").format(name=esc(writer_name(writer))),
        _("Title: {title}").format(title=esc(cut(title, 200))),
        reach,
        when,
    ]
    if urgent:
        lines.append(esc(_("🚨 Marked urgent.")))
    lines.append(esc(_("👆 The messages above are what the groups will receive.")))
    return "\n".join(lines)


def rendition_heading(locale: str) -> str:
    return esc(_("Groups reading {language} will receive:").format(language=locale_name(locale)))


def skipped_text(
    *, notice_id: int, writer: str | None, title: str, groups: int, timezone: str = DEFAULT_TIMEZONE
) -> str:
    """Telling an approver an urgent notice went out without waiting (the ward allows it)."""
    return esc(
        ngettext(
            "🚨 Urgent notice #{id} by {name} ({title}) is being sent to {count} group "
            "without waiting for approval, as the ward allows for urgent notices.",
            "🚨 Urgent notice #{id} by {name} ({title}) is being sent to {count} groups "
            "without waiting for approval, as the ward allows for urgent notices.",
            groups,
        ).format(id=notice_id, name=writer_name(writer), title=cut(title, 200), count=groups)
    )


def decided_text(
    *, notice_id: int, decision: str, by: str | None, reason: str = "", late: bool = False
) -> str:
    """A request once decided (by anyone): who decided what; no buttons any more (plain
    text: an alert shows it as it is, a message escapes it)."""
    name = by or _("someone")
    texts = {
        "approved": _("✅ Notice #{id} was approved by {name}."),
        "changes": _("✏️ {name} asked for changes to notice #{id}: “{reason}”."),
        "rejected": _("❌ Notice #{id} was rejected by {name}: “{reason}”."),
    }
    template = texts.get(decision, _("Notice #{id} no longer waits for approval."))
    text = template.format(id=notice_id, name=name, reason=cut(reason, 300))
    if decision == "approved" and late:
        text += " " + _("Its time had passed, so it is being sent now.")
    return text


def decided_for_writer(
    *,
    notice_id: int,
    decision: str,
    by: str | None,
    reason: str = "",
    at: datetime | None = None,
    late: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
) -> str:
    """What the official who wrote the notice is told about the decision."""
    name = by or _("the ward's leader")
    if decision == "approved":
        if late:
            text = _(
                "✅ {name} approved notice #{id}. The chosen time had passed, so Loa is "
                "sending it now."
            )
        elif at is not None:
            text = _("✅ {name} approved notice #{id}. It will be sent at {time}.")
        else:
            text = _("✅ {name} approved notice #{id}. Loa is sending it now.")
    elif decision == "changes":
        text = _(
            "✏️ {name} asked for changes to notice #{id}: “{reason}”. Press «✏️ Edit and "
            "send again» to change it; it goes to approval again."
        )
    else:
        text = _(
            "❌ {name} rejected notice #{id}: “{reason}”. It was cancelled and sent to no group."
        )
    time = when_text(at, timezone=timezone) if at is not None else ""
    return esc(text.format(id=notice_id, name=name, reason=cut(reason, 300), time=time))


def reason_prompt(notice_id: int, decision: str) -> str:
    if decision == "changes":
        text = _(
            "Type briefly what should change in notice #{id}; its writer will read it. "
            "/cancel to decide later."
        )
    else:
        text = _(
            "Type briefly why notice #{id} is rejected; its writer will read it. "
            "/cancel to decide later."
        )
    return esc(text.format(id=notice_id))


def unchanged_text(notice_id: int) -> str:
    """«Nothing changed» after the official says no to a question about a notice."""
    return esc(_("Nothing changed: notice #{id} stays as it was.").format(id=notice_id))
