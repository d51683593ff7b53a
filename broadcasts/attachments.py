"""Files sent with a notice: checked, kept in Loa's own store, remembered per bot.

Each file is stored once under `AttachmentSettings.dir`, named by its sha256 (so a second
transport, or a bot that never saw it, can send it), with an `attachment` row per notice
and position (an album's order). `attachment_file` keeps each bot's own file id, so a bot
sends a file it has sent (or received) before by id instead of uploading it again.

What may go: photos (JPEG, PNG, WebP), documents (PDF, Word, Excel, OpenDocument, plain
text) and voice notes (OGG/Opus), at most `max_files` per notice, photos up to
`max_photo_bytes` and other files up to `max_file_bytes`. A refusal is an
`AttachmentRejected` whose `reason` says which rule, and it changes nothing.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.errors import AttachmentRejected
from broadcasts.models import (
    Attachment,
    AttachmentFile,
    AttachmentKind,
    Notice,
    NoticeStatus,
)
from broadcasts.notices import get_notice
from broadcasts.settings import AttachmentSettings
from broadcasts.tenancy import CITY, Tenant

# The document types a ward sends (công văn as PDF or Word, lists as Excel), by extension.
DOCUMENT_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".txt": "text/plain",
}
PHOTO_TYPES: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
VOICE_TYPES: dict[str, str] = {".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg"}
_TYPES = {
    AttachmentKind.photo: PHOTO_TYPES,
    AttachmentKind.document: DOCUMENT_TYPES,
    AttachmentKind.voice: VOICE_TYPES,
}
# What a person calls each type, for the review screen («📎 2 ảnh, 1 tệp PDF»).
_LABELS = {".doc": "Word", ".docx": "Word", ".xls": "Excel", ".xlsx": "Excel"}


def _extension(file_name: str) -> str:
    return Path(file_name).suffix.lower()


def normalise_type(*, kind: str, file_name: str, mime_type: str) -> tuple[str, str]:
    """(file name, MIME type) of an acceptable file; AttachmentRejected("type") if not."""
    try:
        wanted = _TYPES[AttachmentKind(kind)]
    except ValueError:
        raise AttachmentRejected(f"unknown attachment kind {kind!r}", reason="type") from None
    mime = (mime_type or "").split(";", 1)[0].strip().lower()
    ext = _extension(file_name)
    if ext not in wanted:
        by_mime = {m: e for e, m in wanted.items()}
        if mime not in by_mime:
            allowed = ", ".join(sorted({e.lstrip(".").upper() for e in wanted}))
            raise AttachmentRejected(
                f"this {kind} type is not accepted (allowed: {allowed})",
                reason="type",
                allowed=allowed,
            )
        ext = by_mime[mime]
        file_name = (file_name or kind) + ext if not file_name.lower().endswith(ext) else file_name
    return file_name or f"{kind}{ext}", wanted[ext]


def size_limit(kind: str, settings: AttachmentSettings) -> int:
    return settings.max_photo_bytes if kind == AttachmentKind.photo else settings.max_file_bytes


def check_attachment(
    *,
    kind: str,
    file_name: str,
    mime_type: str,
    size: int | None,
    count: int,
    settings: AttachmentSettings,
) -> tuple[str, str]:
    """Whether one more file (the notice has `count`) may go: its name and MIME type, else
    AttachmentRejected. `size` None: not known yet (checked again when stored)."""
    name, mime = normalise_type(kind=kind, file_name=file_name, mime_type=mime_type)
    if count >= settings.max_files:
        raise AttachmentRejected(
            f"a notice takes at most {settings.max_files} files",
            reason="too_many",
            limit=settings.max_files,
        )
    if size is not None:
        if size <= 0:
            raise AttachmentRejected("the file is empty", reason="empty")
        limit = size_limit(kind, settings)
        if size > limit:
            raise AttachmentRejected(
                f"the file is {size} bytes; a {kind} may be at most {limit} bytes",
                reason="too_big",
                limit=limit,
            )
    return name, mime


def store_path(settings: AttachmentSettings, storage_key: str) -> Path:
    return settings.dir / storage_key


def store_file(settings: AttachmentSettings, data: bytes) -> tuple[str, str]:
    """Keep `data` in the store under its sha256; (digest, storage key)."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}"
    path = store_path(settings, key)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)  # never a half-written file under its final name
    return digest, key


async def count_attachments(*, session: AsyncSession, notice_id: int) -> int:
    row = await session.execute(
        select(func.count()).select_from(Attachment).where(col(Attachment.notice_id) == notice_id)
    )
    return int(row.scalar_one())


async def add_attachment(
    *,
    session: AsyncSession,
    notice_id: int,
    kind: str,
    file_name: str,
    mime_type: str,
    data: bytes,
    settings: AttachmentSettings,
    within: Tenant = CITY,
    bot_id: int | None = None,
    file_ref: str | None = None,
) -> Attachment:
    """Check and keep one more file of a notice still being prepared (a draft); with
    `bot_id` and `file_ref`, the id that bot knows it by. The caller commits."""
    notice: Notice = await get_notice(session=session, notice_id=notice_id, within=within)
    if notice.status != NoticeStatus.draft:
        raise AttachmentRejected(
            f"notice {notice_id} is {notice.status}: files go with a notice being prepared",
            reason="not_draft",
        )
    count = await count_attachments(session=session, notice_id=notice_id)
    name, mime = check_attachment(
        kind=kind,
        file_name=file_name,
        mime_type=mime_type,
        size=len(data),
        count=count,
        settings=settings,
    )
    digest, key = store_file(settings, data)
    attachment = Attachment(
        notice_id=notice_id,
        position=count,
        kind=AttachmentKind(kind).value,
        file_name=name[:255],
        mime_type=mime,
        size=len(data),
        sha256=digest,
        storage_key=key,
    )
    session.add(attachment)
    await session.flush()
    if bot_id is not None and file_ref:
        assert attachment.id is not None
        session.add(AttachmentFile(attachment_id=attachment.id, bot_id=bot_id, file_ref=file_ref))
        await session.flush()
    return attachment


async def attachments_of(*, session: AsyncSession, notice_id: int) -> list[Attachment]:
    rows = await session.execute(
        select(Attachment)
        .where(col(Attachment.notice_id) == notice_id)
        .order_by(col(Attachment.position), col(Attachment.id))
    )
    return list(rows.scalars())


async def remember_file_refs(
    *, session: AsyncSession, refs: Iterable[tuple[int, int, str]]
) -> None:
    """Keep (attachment id, bot id, file id) triples a send returned; known ones stay."""
    wanted = {(a, b): ref for a, b, ref in refs if ref}
    if not wanted:
        return
    known = await session.execute(
        select(col(AttachmentFile.attachment_id), col(AttachmentFile.bot_id)).where(
            col(AttachmentFile.attachment_id).in_({a for a, _ in wanted})
        )
    )
    for row in known:
        wanted.pop((row[0], row[1]), None)
    for (attachment_id, bot_id), ref in wanted.items():
        session.add(AttachmentFile(attachment_id=attachment_id, bot_id=bot_id, file_ref=ref))
    await session.flush()


def kinds_summary(attachments: Sequence[Attachment]) -> Counter[str]:
    """How many of each thing a person sees: "photo", "voice", or a document's type
    ("PDF", "Word", "Excel", ...)."""
    counts: Counter[str] = Counter()
    for a in attachments:
        if a.kind == AttachmentKind.document:
            ext = _extension(a.file_name)
            counts[_LABELS.get(ext, ext.lstrip(".").upper() or "file")] += 1
        else:
            counts[a.kind] += 1
    return counts


def guess_mime(file_name: str) -> str:
    return mimetypes.guess_type(file_name)[0] or ""
