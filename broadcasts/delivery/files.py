"""What a group receives for a notice with attachments: the steps of one delivery.

A step is one request to the transport: a text part, one file (perhaps with the whole
message as its caption), or an album. With one file and a message that fits a caption
(`NoticeTexts.caption_for`), the file carries the message and the acknowledge button.
Otherwise the files go first (photos, or documents, in albums of up to `max_album`; a
voice note alone), then the message; the button rides on the last text part, as an album
cannot carry one. A transport that cannot send files gets the message with a line naming
the attachments (`attachment_line`), in the chat's language.

`Step.size` is how many messages the step leaves in the chat, so that a retry skips the
steps whose message ids are already in `job.sent_refs`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from broadcasts.delivery.claims import FileInfo, NoticeTexts
from broadcasts.i18n import translations
from broadcasts.models import AttachmentKind
from broadcasts.transports.base import Markup, OutgoingFile, TransportCapabilities


@dataclass(frozen=True, slots=True)
class Step:
    text: str = ""
    files: tuple[FileInfo, ...] = ()
    ack: bool = False

    @property
    def size(self) -> int:
        return max(1, len(self.files))


def outgoing(info: FileInfo, bot_id: int, store: Path | None) -> OutgoingFile:
    """The file as this bot sends it: by its own file id when it has one, else uploaded."""
    ref = info.refs.get(bot_id)
    path = None if ref or store is None else str(store / info.storage_key)
    return OutgoingFile(
        kind=info.kind,
        file_name=info.file_name,
        mime_type=info.mime_type,
        file_ref=ref,
        path=path,
    )


def attachment_line(files: Sequence[FileInfo], locale: str) -> str:
    """«📎 Kèm theo: 2 ảnh, cong-van.pdf»: the files a transport without files names."""
    t = translations(locale)
    photos = sum(1 for f in files if f.kind == AttachmentKind.photo)
    voices = sum(1 for f in files if f.kind == AttachmentKind.voice)
    names = [f.file_name for f in files if f.kind == AttachmentKind.document]
    items = []
    if photos:
        items.append(t.ngettext("{n} photo", "{n} photos", photos).format(n=photos))
    if voices:
        items.append(t.ngettext("{n} voice note", "{n} voice notes", voices).format(n=voices))
    items.extend(names)
    return t.gettext("📎 Attached: {files}").format(files=", ".join(items))


def _albums(files: Sequence[FileInfo], max_album: int) -> list[tuple[FileInfo, ...]]:
    groups: list[tuple[FileInfo, ...]] = []
    run: list[FileInfo] = []
    for info in files:
        if run and (info.kind != run[0].kind or len(run) >= max_album):
            groups.append(tuple(run))
            run = []
        if info.kind == AttachmentKind.voice or max_album < 2:
            groups.append((info,))
            continue
        run.append(info)
    if run:
        groups.append(tuple(run))
    # An album of one is a single file; sendMediaGroup takes 2-10.
    return groups


def plan(
    notice: NoticeTexts, locale: str, capabilities: TransportCapabilities
) -> tuple[list[Step], Markup] | None:
    """The steps of one delivery and their markup; None when there is no text."""
    if not notice.files or not capabilities.can_send_files:
        rendered = notice.parts_for(locale, capabilities)
        if rendered is None:
            return None
        parts, markup = rendered
        if notice.files and parts:
            line = attachment_line(notice.files, locale)
            line = html.escape(line, quote=False) if markup == "html" else line
            parts = (*parts[:-1], f"{parts[-1]}\n\n{line}")
        return [Step(text=p, ack=i == len(parts) - 1) for i, p in enumerate(parts)], markup
    rendered = notice.parts_for(locale, capabilities)
    if rendered is None:
        return None
    parts, markup = rendered
    caption = notice.caption_for(locale, capabilities)
    if caption is not None:
        return [Step(text=caption, files=notice.files, ack=True)], markup
    steps = [Step(files=group) for group in _albums(notice.files, capabilities.max_album)]
    steps.extend(Step(text=p, ack=i == len(parts) - 1) for i, p in enumerate(parts))
    return steps, markup
