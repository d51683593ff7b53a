"""What the bot says, assembled from catalog strings (every user-facing string is `_()`)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime

from broadcasts.models import Rendition
from broadcasts.notices import Progress
from broadcasts.settings import DEFAULT_TIMEZONE

BAR_WIDTH = 10


def local_time(at: datetime, locale: str = "vi", *, timezone: str = DEFAULT_TIMEZONE) -> str:
    return format_datetime(at.astimezone(ZoneInfo(timezone)), "HH:mm dd/MM/yyyy", locale=locale)


def locale_name(locale: str) -> str:
    names = {
        "vi": _("Vietnamese"),
        "en": _("English"),
        "zh": _("Chinese"),
        "km": _("Khmer"),
    }
    return names.get(locale, locale)


def source_name(source: str) -> str:
    return {"ai": _("AI"), "offline": _("automatic summary"), "edited": _("edited by you")}.get(
        source, source
    )


def warning_text(code: str, detail: str, locale: str | None) -> str:
    texts = {
        "private_phone": _(
            "The notice shows a private phone number ({detail}). Do you want to mask it?"
        ),
        "private_id_number": _(
            "The notice shows a citizen ID number ({detail}). Do you want to mask it?"
        ),
        "ai_failed_fallback": _(
            "The AI service did not answer properly, so the automatic summary is used ({detail})."
        ),
        "ai_disabled": _("External AI is turned off: the automatic summary is used."),
        "no_translation_offline": _(
            "No translation service is set up: groups reading "
            "{language} will get the Vietnamese text."
        ),
        "translation_missing": _(
            "The AI gave no {language} text: those groups will get the Vietnamese text."
        ),
        "weekday_mismatch": _(
            "The weekday and the date do not match: {detail}. Please check the original."
        ),
        "missing_fact": _("The summary leaves out: {detail}. Edit it if they matter."),
    }
    if code == "missing_fact":
        detail = detail.split(": ", 1)[-1]  # the engine says "not in the summary: …"
    template = texts.get(code, _("Note: {detail}"))
    return template.format(detail=detail, language=locale_name(locale or ""))


def finding_text(finding: Mapping[str, object]) -> str:
    return _("“{value}” in the {language} text is not in your original.").format(
        value=finding.get("value", ""), language=locale_name(str(finding.get("locale", "")))
    )


def rendition_block(r: Rendition) -> str:
    head = _("<b>{language}</b> ({source})").format(
        language=locale_name(r.locale), source=source_name(r.source)
    )
    return f"{head}\n\n{html.escape(r.text)}"


def review_footer(
    *, warnings: Iterable[tuple[str, str, str | None]], renditions: Iterable[Rendition]
) -> str:
    lines = [_("<b>Please check the text above before sending.</b>")]
    for code, detail, locale in warnings:
        lines.append("⚠️ " + html.escape(warning_text(code, detail, locale)))
    flagged = [f for r in renditions if not r.confirmed for f in r.findings]
    for f in flagged:
        lines.append("❗ " + html.escape(finding_text(f)))
    if flagged:
        lines.append(_("Edit the text, or press “I checked the facts” if it is correct."))
    return "\n".join(lines)


def bar(done: int, total: int) -> str:
    filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def status_text(
    *,
    notice_id: int,
    title: str,
    progress: Progress,
    scheduled_at: datetime | None,
    timezone: str = DEFAULT_TIMEZONE,
) -> str:
    status = {
        "draft": _("draft"),
        "scheduled": _("scheduled"),
        "dispatching": _("sending"),
        "done": _("finished"),
        "cancelled": _("cancelled"),
    }.get(progress.status, progress.status)
    lines = [
        _("📣 <b>Notice #{id}</b>: {title}").format(id=notice_id, title=html.escape(title)),
        _("Status: {status}").format(status=status),
    ]
    if progress.status == "scheduled" and scheduled_at is not None:
        at = local_time(scheduled_at, timezone=timezone)
        lines.append(_("Will be sent at {time}").format(time=at))
    if progress.total:
        done = progress.sent + progress.failed + progress.cancelled
        lines.append(f"{bar(done, progress.total)} {done}/{progress.total}")
        lines.append(
            _("Sent: {sent} · Failed: {failed} · Waiting: {pending}").format(
                sent=progress.sent, failed=progress.failed, pending=progress.pending
            )
        )
        lines.append(
            _("Acknowledged: {groups}/{total} groups ({people} people)").format(
                groups=progress.acknowledged_channels,
                total=progress.total,
                people=progress.acknowledgements,
            )
        )
    elif progress.status in ("dispatching", "done"):
        lines.append(_("No active group chat in the chosen areas."))
    for title_, reason in progress.failures[:5]:
        lines.append("✖️ " + html.escape(f"{title_}: {reason}"))
    return "\n".join(lines)
