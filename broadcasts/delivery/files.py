"""What a group receives for a notice with attachments: the steps of one delivery.

A step is one request to the transport: a text part, one file (perhaps with the whole
message as its caption), or an album. With one file and a message that fits a caption
(`NoticeTexts.caption_for`), the file carries the message and the acknowledge button.
Otherwise the files go first (photos, or documents, in albums of up to `max_album`; a
voice note alone), then the message; the button rides on the last text part, as an album
cannot carry one. A transport that cannot send files gets the message with a line naming
the attachments (`attachment_line`), in the chat's language, or, when links are on
(`DeliveryLinks`), each file's signed download link (a photo sent by that link where the
transport fetches photos by URL, as Zalo does); then the acknowledgement link.

`Step.size` is how many messages the step leaves in the chat, so that a retry skips the
steps whose message ids are already in `job.sent_refs`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from broadcasts.delivery.claims import FileInfo, NoticeTexts
from broadcasts.delivery.split import split_text, text_length
from broadcasts.i18n import translations
from broadcasts.links import LinkMaker
from broadcasts.models import AttachmentKind
from broadcasts.transports.base import Markup, OutgoingFile, TransportCapabilities


@dataclass(frozen=True, slots=True)
class Step:
    text: str = ""
    files: tuple[FileInfo, ...] = ()
    ack: bool = False
    urls: tuple[str, ...] = ()  # each file's signed link, for a transport that fetches URLs

    @property
    def size(self) -> int:
        return max(1, len(self.files))


@dataclass(frozen=True, slots=True)
class DeliveryLinks:
    """One delivery's signed links (`broadcasts.links.LinkMaker`): its acknowledgement
    page and, for a transport that cannot send files, each file's download."""

    ack_url: str | None = None
    file_urls: dict[int, str] = field(default_factory=dict)  # attachment id -> link


def delivery_links(
    maker: LinkMaker | None,
    delivery_id: int,
    notice: NoticeTexts,
    capabilities: TransportCapabilities,
) -> DeliveryLinks | None:
    """A delivery's signed links: its acknowledgement page, and each file's download
    where the transport cannot send files; None when links are off."""
    if maker is None:
        return None
    file_urls = (
        {}
        if capabilities.can_send_files
        else {f.attachment_id: maker.file_url(delivery_id, f.attachment_id) for f in notice.files}
    )
    return DeliveryLinks(ack_url=maker.ack_url(delivery_id), file_urls=file_urls)


def outgoing(
    info: FileInfo, bot_id: int, store: Path | None, url: str | None = None
) -> OutgoingFile:
    """The file as this bot sends it: by its own file id when it has one, else uploaded
    (or fetched by the platform from `url`)."""
    ref = info.refs.get(bot_id)
    path = None if ref or store is None else str(store / info.storage_key)
    return OutgoingFile(
        kind=info.kind,
        file_name=info.file_name,
        mime_type=info.mime_type,
        file_ref=ref,
        path=path,
        url=url,
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


def ack_link_line(locale: str, url: str) -> str:
    """«Hoặc bấm: <link>»: the acknowledgement link under a delivered notice."""
    return translations(locale).gettext("Or press: {link}").format(link=url)


def _tail(
    notice: NoticeTexts,
    locale: str,
    capabilities: TransportCapabilities,
    links: DeliveryLinks | None,
    markup: Markup,
) -> tuple[str, list[Step]]:
    """The lines this delivery adds under its message (the files it names or links, its
    acknowledgement link) and the photo steps a transport fetching URLs sends first."""
    lines: list[str] = []
    photos: list[Step] = []
    if notice.files and not capabilities.can_send_files:
        urls = links.file_urls if links is not None else {}
        named = [f for f in notice.files if f.attachment_id not in urls]
        for info in notice.files:
            url = urls.get(info.attachment_id)
            if url is None:
                continue
            if info.kind == AttachmentKind.photo and capabilities.photo_by_url:
                photos.append(Step(files=(info,), urls=(url,)))
            else:
                lines.append(f"📎 {info.file_name}: {url}")
        if named:
            lines.insert(0, attachment_line(named, locale))
    if links is not None and links.ack_url is not None:
        lines.append(ack_link_line(locale, links.ack_url))
    tail = "\n".join(lines)
    return (html.escape(tail, quote=False) if markup == "html" else tail), photos


def plan(
    notice: NoticeTexts,
    locale: str,
    capabilities: TransportCapabilities,
    links: DeliveryLinks | None = None,
) -> tuple[list[Step], Markup] | None:
    """The steps of one delivery and their markup; None when there is no text.

    The delivery's own lines (`_tail`) end its last text part, whose room the rendering
    keeps free (`reserve`: every delivery's links are as long); lines too long for that
    go as a message of their own, with the button."""
    markup: Markup = "html" if "html" in capabilities.markups else "plain"
    tail, photos = _tail(notice, locale, capabilities, links, markup)
    reserve = text_length(tail) + 2 if tail else 0
    alone = reserve > capabilities.max_text // 2
    if alone:
        reserve = 0
    rendered = notice.parts_for(locale, capabilities, reserve=reserve)
    if rendered is None:
        return None
    parts, markup = rendered
    steps: list[Step] = list(photos)
    if notice.files and capabilities.can_send_files:
        caption = notice.caption_for(locale, capabilities, reserve=reserve)
        if caption is not None and not alone:
            text = f"{caption}\n\n{tail}" if tail else caption
            return [Step(text=text, files=notice.files, ack=True)], markup
        steps.extend(Step(files=group) for group in _albums(notice.files, capabilities.max_album))
    texts = list(parts)
    if tail and alone:
        texts.extend(split_text(tail, capabilities.max_text))
    elif tail and texts:
        texts[-1] = f"{texts[-1]}\n\n{tail}"
    steps.extend(Step(text=p, ack=i == len(texts) - 1) for i, p in enumerate(texts))
    return steps, markup
