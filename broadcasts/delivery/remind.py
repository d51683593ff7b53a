"""The `reminder` follow-up: a short message, with the Đã nhận button, to a group that
has not acknowledged a notice (queued by `broadcasts.reminders.remind_silent`).

It answers the notice's own message in that chat (the last of `job.target_refs`, the
part with the button) so the group sees what it is about, and carries the button with
the reminder's delivery id (on a transport without buttons or replies, Zalo, it is a
text naming the notice and ending with «Trả lời 1 hoặc "đã nhận" để xác nhận.», and a
reply to it counts for the notice): a press on it counts for the notice's channel and occurrence,
as the reminder's row carries both (`broadcasts.acks`). When links are on, it ends with the
notice delivery's own acknowledgement link («Hoặc bấm: …», `files.ack_link_line`), as the
notice did. It is sent with the Sender's
`deliver`, so the limits, retries and error classes are the notice's own.

A group that acknowledged after the reminder was queued is found when the reminder is
claimed (`mark_acknowledged`, one query per claimed batch) and the reminder is recorded
`cancelled` ("acknowledged before the reminder") instead of being sent.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.delivery.claims import Job, NoticeTexts
from broadcasts.delivery.files import ack_link_line
from broadcasts.delivery.outcomes import Outcome, Result
from broadcasts.delivery.split import split_text
from broadcasts.i18n import ack_reply_hint, translations
from broadcasts.models import Acknowledgement, DeliveryKind
from broadcasts.transports.base import Markup, Transport

if TYPE_CHECKING:
    from broadcasts.delivery.engine import Sender

ACKNOWLEDGED = "acknowledged before the reminder"
_TITLE_CHARS = 80
_CHUNK = 500


def reminder_text(
    *,
    notice_id: int,
    title: str,
    locale: str,
    markup: Markup,
    buttons: bool = True,
    ack_url: str | None = None,
) -> str:
    """«🔔 Nhắc lại: Thông báo #3 «Cắt điện …» chưa có ai bấm «✅ Đã nhận». …», in the
    chat's language; without `buttons`, how to acknowledge by a reply instead; with
    `ack_url` (links on), the notice delivery's «Hoặc bấm: <link>» as its last line."""
    catalog = translations(locale)
    title = " ".join(title.split())
    if len(title) > _TITLE_CHARS:
        title = title[: _TITLE_CHARS - 1].rstrip() + "…"
    if not buttons:
        if title:
            template = catalog.gettext(
                "🔔 Reminder: nobody has acknowledged notice #{id} «{title}» yet."
            )
        else:
            template = catalog.gettext("🔔 Reminder: nobody has acknowledged notice #{id} yet.")
        hint = ack_reply_hint(locale)
        template = f"{template}\n{hint.replace('{', '{{').replace('}', '}}')}"
    elif title:
        template = catalog.gettext(
            "🔔 Reminder: nobody has pressed «✅ Received» yet for notice #{id} «{title}». "
            "Group leader, please press the button below."
        )
    else:
        template = catalog.gettext(
            "🔔 Reminder: nobody has pressed «✅ Received» yet for notice #{id}. "
            "Group leader, please press the button below."
        )
    shown = html.escape(title) if markup == "html" else title
    text = template.format(id=notice_id, title=shown)
    if ack_url is not None:
        line = ack_link_line(locale, ack_url)
        text = f"{text}\n\n{html.escape(line, quote=False) if markup == 'html' else line}"
    return text


async def send_reminder(
    sender: Sender, job: Job, notice: NoticeTexts, transport: Transport
) -> Outcome:
    if job.acknowledged:
        return Outcome(
            job=job,
            result=Result.cancelled,
            at=sender.now(),
            attempts=job.attempts,
            error=ACKNOWLEDGED,
        )
    markup: Markup = "html" if "html" in transport.capabilities.markups else "plain"
    text = reminder_text(
        notice_id=job.notice_id,
        title=notice.title,
        locale=job.locale,
        markup=markup,
        buttons=transport.capabilities.has_buttons,
        # The notice delivery's own link: it counts for the same channel and occurrence.
        ack_url=sender.ack_url(job.parent_id) if job.parent_id is not None else None,
    )
    reply_to = next((ref for ref in reversed(job.target_refs) if ref), None)
    parts = split_text(text, transport.capabilities.max_text)
    return await sender.deliver(job, parts, transport, markup=markup, reply_to=reply_to)


async def mark_acknowledged(*, session: AsyncSession, jobs: Sequence[Job]) -> None:
    """Flag the claimed reminders whose group has acknowledged meanwhile."""
    reminders = [j for j in jobs if j.kind == DeliveryKind.reminder]
    if not reminders:
        return
    by_notice: dict[int, set[int]] = {}
    for job in reminders:
        by_notice.setdefault(job.notice_id, set()).add(job.channel_id)
    found: set[tuple[int, int, int]] = set()
    for notice_id, channels in by_notice.items():
        ids = sorted(channels)
        for start in range(0, len(ids), _CHUNK):
            rows = await session.execute(
                select(col(Acknowledgement.channel_id), col(Acknowledgement.occurrence))
                .where(
                    col(Acknowledgement.notice_id) == notice_id,
                    col(Acknowledgement.channel_id).in_(ids[start : start + _CHUNK]),
                )
                .distinct()
            )
            found.update((notice_id, channel_id, occ) for channel_id, occ in rows)
    for job in reminders:
        job.acknowledged = (job.notice_id, job.channel_id, job.occurrence) in found
