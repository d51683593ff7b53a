"""The message a group receives: who sends it and when, the title, «🚨 KHẨN» if it cannot
wait, the body, and the key facts — readable at a glance on a phone.

    📢 Phường Bến Thành · thứ Bảy, 28/11/2026
    🚨 KHẨN: Cảnh báo triều cường            (bold; the marker only for urgent notices)

    Các tuyến đường … có thể ngập sâu từ 20 đến 40 cm.

    🕒 Thời gian: 17 giờ – 20 giờ, Chủ nhật, ngày 15/11/2026
    📞 Liên hệ: …

`render_group_message` takes a rendition's text as the AI step writes it (title, blank
line, body, blank line, «Label: value» lines — or any text an official wrote) and returns
it in Telegram's HTML parse mode with every piece of user text escaped, or as plain text
for a transport without markup. No part exceeds `limit` characters as the platform
counts them (UTF-16 code units, after entity parsing).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from broadcasts.ai.formatting import LABELS, babel_locale, labels
from broadcasts.ai.wording import capitalised, day_vi
from broadcasts.delivery.split import split_text, text_length
from broadcasts.i18n import translations
from broadcasts.timeparse import TZ
from broadcasts.transports.base import Markup

ICONS = {"when": "🕒", "where": "📍", "who": "👥", "action": "✅", "contact": "📞"}
SENDER_ICON = "📢"
URGENT_ICON = "🚨"
MAX_TITLE_CHARS = 150
_KEY_OF_LABEL = {label: key for names in LABELS.values() for key, label in names.items()}
_URGENT_PREFIX = re.compile(r"^\s*(?:khẩn(?:\s+cấp)?|hỏa\s+tốc|urgent)\s*[:!–-]?\s*", re.I)


def _split(text: str) -> tuple[str, str, list[tuple[str, str, str]]]:
    """(title, body, [(key, label, value)]) of a rendition's text."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    facts: list[tuple[str, str, str]] = []
    if len(paragraphs) > 1:
        found = [
            re.match(r"^([^:\n]{2,30}):\s+(.+)$", line) for line in paragraphs[-1].splitlines()
        ]
        matches = [m for m in found if m and m.group(1) in _KEY_OF_LABEL]
        if len(matches) == len(found):
            facts = [(_KEY_OF_LABEL[m.group(1)], m.group(1), m.group(2)) for m in matches]
            paragraphs.pop()
    title = ""
    if paragraphs and "\n" not in paragraphs[0] and len(paragraphs[0]) <= MAX_TITLE_CHARS:
        title = paragraphs.pop(0)
    return title, "\n\n".join(paragraphs), facts


def rendition_parts(text: str) -> tuple[str, str, list[tuple[str, str, str]]]:
    """A rendition's title, body and key facts [(key, label, value)], as groups see them
    (the CAP export's headline and instruction come from here)."""
    return _split(text)


def visible_length(rendered: str, markup: Markup = "html") -> int:
    """The length of a rendered message as the platform counts it (its text after markup)."""
    if markup == "html":
        rendered = html.unescape(re.sub(r"</?b>", "", rendered))
    return text_length(rendered)


def _day(sent: date, locale: str) -> str:
    if locale.split("-")[0].lower() == "vi":
        return day_vi(sent).replace("ngày ", "")
    return str(format_date(sent, "full", locale=babel_locale(locale)))


def render_group_message(
    *,
    text: str,
    sender: str,
    sent_at: datetime | date,
    urgent: bool,
    limit: int,
    locale: str = "vi",
    markup: Markup = "html",
    tz: ZoneInfo = TZ,
) -> list[str]:
    """The message(s) a group receives for one rendition (see the module docstring).

    `sender` is the ward's name as residents know it; `sent_at` the moment of sending
    (an aware datetime, shown as a local date) or the date itself; `limit` the
    transport's longest message. Almost always one message; a text too long for one is
    cut between paragraphs or sentences (`broadcasts.delivery.split`), the header on the
    first part and the key facts on the last, so that markup is never cut in two."""
    if isinstance(sent_at, datetime):
        if sent_at.tzinfo is None:
            raise ValueError("sent_at must be an aware datetime")
        sent_on = sent_at.astimezone(tz).date()
    else:
        sent_on = sent_at
    title, body, facts = _split(text)
    word = labels(locale).get("urgent", "URGENT")
    if urgent:
        title = _URGENT_PREFIX.sub("", title)
        title = f"{URGENT_ICON} {word}: {capitalised(title)}" if title else f"{URGENT_ICON} {word}"

    def esc(value: str) -> str:
        return html.escape(value) if markup == "html" else value

    def bold(value: str) -> str:
        return f"<b>{esc(value)}</b>" if markup == "html" else value

    def visible(rendered: str) -> int:
        return visible_length(rendered, markup)

    head = f"{SENDER_ICON} {bold(sender)} · {esc(_day(sent_on, locale))}"
    if title:
        head += "\n" + bold(title)
    tail = "\n".join(f"{ICONS.get(k, '•')} {bold(label + ':')} {esc(v)}" for k, label, v in facts)
    whole = "\n\n".join(part for part in (head, esc(body), tail) if part)
    if visible(whole) <= limit:
        return [whole]
    # Too long for one message: cut the body, never the markup.
    room = limit - max(visible(head), visible(tail)) - 2
    if room < limit // 4:  # a title or key facts too long to frame it: plain text then
        return [esc(part) for part in split_text(text, limit)]
    pieces = [esc(piece) for piece in split_text(body, room)] or [""]
    pieces[0] = "\n\n".join(p for p in (head, pieces[0]) if p)
    pieces[-1] = "\n\n".join(p for p in (pieces[-1], tail) if p)
    return pieces


def acknowledged_text(
    part: str,
    *,
    first_name: str,
    first_at: datetime,
    others: int,
    locale: str,
    limit: int,
    markup: Markup = "html",
    tz: ZoneInfo = TZ,
) -> str:
    """The message that carries the Đã nhận button, once people have pressed it: `part`
    as delivered, then a line with who pressed first, when (local time), and how many
    more did: «✅ Đã nhận: Ông Chín (08:14) và 2 người khác».

    The whole stays within `limit` as the platform counts it: a long name is shortened,
    and a part with no room left for the line comes back unchanged."""
    if first_at.tzinfo is None:  # stored as UTC
        first_at = first_at.replace(tzinfo=UTC)
    catalog = translations(locale)
    clock = first_at.astimezone(tz).strftime("%H:%M")
    if others:
        template = catalog.ngettext(
            "✅ Received: {name} ({time}) and {count} other",
            "✅ Received: {name} ({time}) and {count} others",
            others,
        )
    else:
        template = catalog.gettext("✅ Received: {name} ({time})")
    name = " ".join(first_name.split()) or "?"
    frame = template.format(name="", time=clock, count=others)
    room = limit - visible_length(part, markup) - 2 - text_length(frame)
    if room < 1:
        return part
    if text_length(name) > room:
        name = _shortened(name, room)
    line = template.format(name=name, time=clock, count=others)
    return f"{part}\n\n{html.escape(line) if markup == 'html' else line}"


def _shortened(text: str, room: int) -> str:
    """`text` in at most `room` UTF-16 units, ending with «…»."""
    kept: list[str] = []
    used = 0
    for char in text:
        width = text_length(char)
        if used + width > room - 1:
            break
        kept.append(char)
        used += width
    return "".join(kept) + "…"
