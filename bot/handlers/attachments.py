"""An official sends a photo, an album, a document or a voice note, with or without a
caption: the files are checked (before any download, on the sizes Telegram reports),
downloaded through aiogram, kept in Loa's store with this bot's file ids, and the caption,
or the text the bot then asks for, goes through the compose flow as usual.

An album comes as one update per file with one `media_group_id`: the first starts a
gather of `album_gather_seconds` in the background (the updates may be handled one after
the other), then all go into one notice.
"""

from __future__ import annotations

import asyncio
import logging
from io import BytesIO

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import official_only
from bot.services import Services
from bot.views import plain, show_review
from bot.wizard import Compose, Wizard, load, save, warnings_of
from broadcasts.attachments import (
    add_attachment,
    attachments_of,
    check_attachment,
    kinds_summary,
    store_file,
    store_path,
)
from broadcasts.compose import prepare_draft
from broadcasts.db import session_scope
from broadcasts.errors import AttachmentRejected
from broadcasts.models import Official


class Attaching(StatesGroup):
    text = State()  # files received, waiting for the notice's text


class HeldFile(BaseModel):
    kind: str
    file_name: str
    mime_type: str
    storage_key: str
    file_ref: str


class HeldFiles(BaseModel):
    files: list[HeldFile] = Field(default_factory=list)


log = logging.getLogger(__name__)
_albums: dict[tuple[int, str], list[Message]] = {}
_gathering: set[asyncio.Task[None]] = set()


def _described(message: Message) -> tuple[str, str, str, str, int | None]:
    """(kind, file id, file name, MIME type, size) of the file a message carries."""
    if message.photo:
        photo = message.photo[-1]
        return (
            "photo",
            photo.file_id,
            f"anh-{photo.file_unique_id}.jpg",
            "image/jpeg",
            photo.file_size,
        )
    if message.voice is not None:
        voice = message.voice
        return "voice", voice.file_id, "ghi-am.ogg", voice.mime_type or "audio/ogg", voice.file_size
    doc = message.document
    assert doc is not None
    return "document", doc.file_id, doc.file_name or "", doc.mime_type or "", doc.file_size


def refusal(exc: AttachmentRejected) -> str:
    limit = exc.detail.get("limit")
    if exc.reason == "too_big" and isinstance(limit, int):
        return _(
            "This file is too big: Loa can send files of up to {limit} MB. Please send a "
            "smaller one."
        ).format(limit=limit // (1024 * 1024))
    if exc.reason == "too_many":
        return _("A notice can carry at most {limit} files.").format(limit=limit)
    if exc.reason == "empty":
        return _("This file is empty. Please send it again.")
    return _(
        "Loa cannot send this kind of file. It sends photos, PDF, Word and Excel files, "
        "and voice messages."
    )


def summary_line(counts: dict[str, int]) -> str:
    items = []
    for label, n in counts.items():
        if label == "photo":
            items.append(ngettext("{n} photo", "{n} photos", n).format(n=n))
        elif label == "voice":
            items.append(ngettext("{n} voice note", "{n} voice notes", n).format(n=n))
        else:
            items.append(ngettext("{n} {type} file", "{n} {type} files", n).format(n=n, type=label))
    return _("📎 Attached: {files}").format(files=", ".join(items))


async def _take(bot: Bot, messages: list[Message], held: HeldFiles, services: Services) -> None:
    """Check every file, then download and keep them; AttachmentRejected changes nothing."""
    settings = services.settings.attachments
    described = [_described(m) for m in messages]
    for index, (kind, _ref, name, mime, size) in enumerate(described):
        check_attachment(
            kind=kind,
            file_name=name,
            mime_type=mime,
            size=size,
            count=len(held.files) + index,
            settings=settings,
        )
    for kind, ref, name, mime, _size in described:
        buffer = await bot.download(ref, destination=BytesIO())
        assert isinstance(buffer, BytesIO)
        data = buffer.getvalue()
        file_name, mime_type = check_attachment(
            kind=kind,
            file_name=name,
            mime_type=mime,
            size=len(data),
            count=len(held.files),
            settings=settings,
        )
        _digest, key = store_file(settings, data)
        held.files.append(
            HeldFile(
                kind=kind, file_name=file_name, mime_type=mime_type, storage_key=key, file_ref=ref
            )
        )


async def _start_notice(
    chat_id: int,
    text: str,
    held: HeldFiles,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    """The compose flow's first step, with the held files added to the new draft."""
    await services.outbox.send(chat_id, plain(_("⏳ Preparing the summary…")))
    draft = await prepare_draft(
        session=session,
        ward_id=official.ward_id,
        official_id=official.id,
        text=text,
        ai=services.settings.ai,
        actor=f"official:{official.id}:{official.name}",
    )
    notice_id = draft.notice.id or 0
    settings = services.settings.attachments
    for f in held.files:
        await add_attachment(
            session=session,
            notice_id=notice_id,
            kind=f.kind,
            file_name=f.file_name,
            mime_type=f.mime_type,
            data=store_path(settings, f.storage_key).read_bytes(),
            settings=settings,
            bot_id=services.bot_account_id,
            file_ref=f.file_ref,
        )
    attached = await attachments_of(session=session, notice_id=notice_id)
    wizard = Wizard(notice_id=notice_id, warnings=warnings_of(draft))
    await session.commit()
    await save(state, Compose.review, wizard)
    await services.outbox.send(chat_id, plain(summary_line(kinds_summary(attached))))
    await show_review(services.outbox, chat_id, session=session, wizard=wizard)


async def on_file(
    message: Message,
    bot: Bot,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    if message.media_group_id is None:
        await _received(message.chat.id, [message], bot, state, session, official, services)
        return
    # An album's files come as separate updates, possibly one after the other: the first
    # starts a short gather (outside this update's handling) that takes them all.
    key = (message.chat.id, message.media_group_id)
    if key in _albums:
        _albums[key].append(message)
        return
    _albums[key] = [message]
    task = asyncio.create_task(_gather(key, bot, state, official, services))
    _gathering.add(task)
    task.add_done_callback(_gathering.discard)


async def _gather(
    key: tuple[int, str], bot: Bot, state: FSMContext, official: Official, services: Services
) -> None:
    try:
        await asyncio.sleep(services.settings.attachments.album_gather_seconds)
        messages = sorted(_albums.pop(key, []), key=lambda m: m.message_id)
        async with session_scope(services.sessionmaker) as session:
            await _received(key[0], messages, bot, state, session, official, services)
    except Exception:  # a background task: nobody else would hear of it
        log.exception("an album of chat %s could not be taken", key[0])
        await services.outbox.send(
            key[0], plain(_("Sorry, something went wrong. Please try again in a moment."))
        )
    finally:
        _albums.pop(key, None)


async def _received(
    chat_id: int,
    messages: list[Message],
    bot: Bot,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    held = await load(state, HeldFiles) or HeldFiles()
    try:
        await _take(bot, messages, held, services)
    except AttachmentRejected as exc:
        await services.outbox.send(chat_id, plain(refusal(exc)))
        return
    caption = next((m.caption for m in messages if m.caption and m.caption.strip()), None)
    if caption is None:
        await save(state, Attaching.text, held)
        prompt = _(
            "Please send a few lines of text for this notice: Loa sends them with the "
            "file, as its summary."
        )
        await services.outbox.send(chat_id, plain(prompt))
        return
    await _start_notice(chat_id, caption, held, state, session, official, services)


async def on_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    official: Official,
    services: Services,
) -> None:
    held = await load(state, HeldFiles) or HeldFiles()
    await _start_notice(
        message.chat.id, message.text or "", held, state, session, official, services
    )


async def drop_files(message: Message, state: FSMContext, services: Services) -> None:
    """/huy while the bot waits for the text: the files go, no notice was made."""
    await state.clear()
    text = _("Dropped the files you sent. No notice was made, nothing was sent.")
    await services.outbox.send(message.chat.id, plain(text))


async def unsupported(message: Message, services: Services) -> None:
    """A video, an audio file, a sticker...: not something Loa sends."""
    refused = AttachmentRejected("not a file Loa sends", reason="type")
    await services.outbox.send(message.chat.id, plain(refusal(refused)))


async def mid_notice(message: Message, services: Services) -> None:
    """A file while another notice is being composed: it would belong to no notice."""
    text = _(
        "Loa takes files at the start of a notice. Finish the notice you are writing, or "
        "send /cancel, then send the file again."
    )
    await services.outbox.send(message.chat.id, plain(text))


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private", official_only)
    files = F.photo | F.document | F.voice
    starting = StateFilter(None, Attaching.text)
    router.message.register(on_file, starting, files)
    others = F.video | F.audio | F.animation | F.video_note | F.sticker
    router.message.register(unsupported, starting, others)
    router.message.register(mid_notice, files)
    router.message.register(drop_files, StateFilter(Attaching.text), Command("cancel", "huy"))
    router.message.register(on_text, StateFilter(Attaching.text), F.text & ~F.text.startswith("/"))
    return router
