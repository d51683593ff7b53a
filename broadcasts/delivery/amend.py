"""Correcting and recalling a sent notice in one chat: the engine's handlers for the
`correction` and `recall` delivery rows (registered in `followups.HANDLERS`).

A correction edits every part the notice delivery sent (`job.target_refs`) to the new
rendering: the same header (the ward, the date the notice went out), a «✏️ Đã đính chính»
line at the end, the acknowledge button of the notice delivery (`job.parent_id`) on the
last part. Where the platform cannot edit (no edits, the message is gone or too old to
edit, or the new text needs another number of parts than were sent), it replies to the
original with «✏️ Đính chính thông báo #N:» and the new text, the button under it (and,
when links are on, the notice delivery's acknowledgement link, as the edit keeps it).

A recall deletes every part when the notice went out within the transport's
`delete_window_seconds`; otherwise, or where the platform refuses a delete, it replies
«Thông báo #N đã được thu hồi». A part someone deleted already counts as deleted.

Everything is read from the transport's capabilities: on Zalo (no edits, no deletes, no
buttons, no replies) a correction is a new message «✏️ Đính chính thông báo #N: …» cut
within its 2,000 characters, ending with how to acknowledge by a reply («Trả lời 1 …»),
and a recall the one line «Thông báo #N đã được thu hồi.»; neither names a message to
answer, as the platform cannot.

Each call goes through `Sender.call` (the same limits, pauses and timeout as a send) and
each failure through `Sender.failed` (the same classes and retries). On a retry the parts
already done (`job.sent_refs`) are skipped. The recorded outcome: status sent or failed,
`provider_message_ref` the edited / deleted parts and the reply sent, and in `error` a
note of how it went: "edited", "replied", "deleted" or "posted" (see `Note`).
"""

from __future__ import annotations

import html
from datetime import UTC
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING

from broadcasts import message as group_message
from broadcasts.delivery.claims import Job, NoticeTexts
from broadcasts.delivery.files import ack_link_line
from broadcasts.delivery.outcomes import Outcome, Result
from broadcasts.delivery.split import text_length
from broadcasts.errors import ChatMigrated, MessageRejected
from broadcasts.i18n import ack_label, ack_reply_hint, translations
from broadcasts.transports.base import Markup, OutgoingMessage, Transport

if TYPE_CHECKING:
    from broadcasts.delivery.engine import Sender


_MAX_MIGRATIONS = 3


class Note(StrEnum):
    """What a follow-up did in its chat, kept in `Delivery.error` of a sent row."""

    edited = "edited"  # every part edited in place
    replied = "replied"  # «Đính chính» sent as a reply
    deleted = "deleted"  # every part deleted
    posted = "posted"  # «đã được thu hồi» sent as a reply


def corrected_marker(locale: str) -> str:
    _ = translations(locale).gettext
    return _("✏️ Corrected")


def correction_heading(locale: str, notice_id: int) -> str:
    _ = translations(locale).gettext
    return _("✏️ Correction to notice #{id}:").format(id=notice_id)


def recall_note(locale: str, notice_id: int) -> str:
    _ = translations(locale).gettext
    return _("Notice #{id} has been recalled.").format(id=notice_id)


def _rendered(notice: NoticeTexts, locale: str, limit: int, markup: Markup) -> list[str]:
    text = notice.text_for(locale) or ""
    sent_at = notice.sent_at
    if sent_at is None:
        raise ValueError("a sent notice has a sending time")
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    return group_message.render_group_message(
        text=text,
        sender=notice.sender,
        sent_at=sent_at,
        urgent=notice.urgent,
        limit=limit,
        locale=locale if locale in notice.texts else "vi",
        markup=markup,
    )


def _markup(transport: Transport) -> Markup:
    return "html" if "html" in transport.capabilities.markups else "plain"


def _esc(value: str, markup: Markup) -> str:
    return html.escape(value) if markup == "html" else value


def edited_parts(
    notice: NoticeTexts, locale: str, transport: Transport, ack_url: str | None = None
) -> list[str]:
    """The group message as corrected: the new rendering, the marker on the last part
    (after the delivery's acknowledgement link, when links are on, which the edit keeps)."""
    markup = _markup(transport)
    marker = _esc(corrected_marker(locale), markup)
    if ack_url is not None:
        marker = f"{_esc(ack_link_line(locale, ack_url), markup)}\n\n{marker}"
    room = transport.capabilities.max_text - text_length(marker) - 2
    parts = _rendered(notice, locale, room, markup)
    if parts:
        parts[-1] = f"{parts[-1]}\n\n{marker}"
    return parts


def reply_parts(
    notice: NoticeTexts,
    locale: str,
    notice_id: int,
    transport: Transport,
    ack_url: str | None = None,
) -> list[str]:
    """«✏️ Đính chính thông báo #N:» and the new rendering, as messages to send; without
    buttons, the last one ends with how to acknowledge by a reply; with `ack_url` (links
    on), with the notice delivery's acknowledgement link after that."""
    markup = _markup(transport)
    heading = correction_heading(locale, notice_id)
    heading = f"<b>{_esc(heading, markup)}</b>" if markup == "html" else heading
    shown = locale if locale in notice.texts else "vi"
    lines = [] if transport.capabilities.has_buttons else [_esc(ack_reply_hint(shown), markup)]
    if ack_url is not None:
        lines.append(_esc(ack_link_line(locale, ack_url), markup))
    hint = "\n\n".join(lines)
    room = (
        transport.capabilities.max_text
        - text_length(heading)
        - 2
        - (text_length(hint) + 2 if hint else 0)
    )
    parts = _rendered(notice, locale, room, markup)
    if parts:
        parts[0] = f"{heading}\n\n{parts[0]}"
        if hint:
            parts[-1] = f"{parts[-1]}\n\n{hint}"
    return parts


def _done(sender: Sender, job: Job, note: Note) -> Outcome:
    return Outcome(
        job=job, result=Result.sent, at=sender.now(), attempts=job.attempts + 1, error=note
    )


def _edited_so_far(job: Job) -> int:
    """How many leading parts of the original are edited / deleted (`job.sent_refs`)."""
    count = 0
    for done, target in zip(job.sent_refs, job.target_refs, strict=False):
        if done != target:
            break
        count += 1
    return count


async def correct(sender: Sender, job: Job, notice: NoticeTexts, transport: Transport) -> Outcome:
    """Edit the sent parts to the corrected text, else reply «Đính chính» to them."""
    label = ack_label(job.locale)
    markup = _markup(transport)
    ack_url = sender.ack_url(job.parent_id) if job.parent_id is not None else None
    parts = edited_parts(notice, job.locale, transport, ack_url)
    targets = job.target_refs
    editable = (
        transport.capabilities.can_edit
        and bool(targets)
        and all(targets)
        and len(parts) == len(targets)
        and _edited_so_far(job) == len(job.sent_refs)
    )
    reply_to: str | None = next((ref for ref in reversed(targets) if ref), None)
    while editable and len(job.sent_refs) < len(parts):
        index = len(job.sent_refs)
        last = index == len(parts) - 1
        outgoing = OutgoingMessage(
            chat_ref=job.chat_ref,
            topic_ref=job.topic_ref,
            text=parts[index],
            ack_delivery_id=job.parent_id if last else None,
            ack_label=label,
            markup=markup,
        )
        try:
            await sender.call(
                job, partial(transport.edit, targets[index], outgoing), transport=transport.name
            )
        except MessageRejected:
            editable = False  # gone, too old or not editable: answer it instead
        except ChatMigrated as exc:
            # The ids belong to the old group: post in the new one, replying to nothing.
            job.chat_ref = job.new_chat_ref = exc.new_chat_ref
            editable, reply_to = False, None
        except Exception as exc:
            return sender.failed(job, exc)
        else:
            job.sent_refs.append(targets[index])
    if editable:
        return _done(sender, job, Note.edited)
    replies = reply_parts(notice, job.locale, job.notice_id, transport, ack_url)
    return await _send(sender, job, transport, replies, reply_to, Note.replied, with_button=True)


async def recall(sender: Sender, job: Job, notice: NoticeTexts, transport: Transport) -> Outcome:
    """Delete the sent parts within the platform's window, else reply that it was recalled."""
    capabilities = transport.capabilities
    targets = job.target_refs
    window = capabilities.delete_window_seconds
    sent_at = job.target_sent_at
    in_window = sent_at is not None and (
        window is None or (sender.now() - sent_at).total_seconds() < window
    )
    deletable = (
        capabilities.can_delete
        and in_window
        and bool(targets)
        and all(targets)
        and _edited_so_far(job) == len(job.sent_refs)
    )
    reply_to: str | None = next((ref for ref in reversed(targets) if ref), None)
    while deletable and len(job.sent_refs) < len(targets):
        ref = targets[len(job.sent_refs)]
        try:
            await sender.call(
                job, partial(transport.delete, job.chat_ref, ref), transport=transport.name
            )
        except MessageRejected as exc:
            if "not found" not in exc.message.lower():
                deletable = False  # too old or not allowed: say it instead
                continue
        except ChatMigrated as exc:
            job.chat_ref = job.new_chat_ref = exc.new_chat_ref
            deletable, reply_to = False, None
            continue
        except Exception as exc:
            return sender.failed(job, exc)
        job.sent_refs.append(ref)  # deleted now, or by someone before
    if deletable:
        return _done(sender, job, Note.deleted)
    note = _esc(recall_note(job.locale, job.notice_id), _markup(transport))
    return await _send(sender, job, transport, [note], reply_to, Note.posted, with_button=False)


async def _send(
    sender: Sender,
    job: Job,
    transport: Transport,
    parts: list[str],
    reply_to: str | None,
    note: Note,
    *,
    with_button: bool,
) -> Outcome:
    """Send `parts` as a reply to `reply_to` (the first only), after what is done already."""
    markup = _markup(transport)
    label = ack_label(job.locale)
    done = len(job.sent_refs) - _edited_so_far(job)  # reply parts sent by an earlier try
    migrations = 0
    while done < len(parts):
        last = done == len(parts) - 1
        outgoing = OutgoingMessage(
            chat_ref=job.chat_ref,
            topic_ref=job.topic_ref,
            text=parts[done],
            ack_delivery_id=job.parent_id if with_button and last else None,
            ack_label=label,
            markup=markup,
            reply_to=reply_to if done == 0 and transport.capabilities.can_reply else None,
        )
        try:
            sent = await sender.call(
                job, partial(transport.send, outgoing), transport=transport.name
            )
        except ChatMigrated as exc:
            migrations += 1
            if migrations > _MAX_MIGRATIONS:
                return sender.retry_or_fail(job, "chat keeps migrating")
            job.chat_ref = job.new_chat_ref = exc.new_chat_ref
            reply_to = None
            continue
        except Exception as exc:
            return sender.failed(job, exc)
        job.sent_refs.append(sent.message_ref)
        done += 1
    return _done(sender, job, note)
