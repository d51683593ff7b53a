"""The file methods: sendPhoto, sendDocument, sendVoice, sendMediaGroup and getFile, with
downloads at ``/file/bot<token>/<file_path>`` (:mod:`.botapi`) and :mod:`.files`' store.

The same order of checks as sendMessage (chat, posting rights, topic, reply target), then
the caption, the keyboard and the file, then the flood limits; a refusal stores nothing and
consumes no quota. Telegram's rules, with its wording:

* caption: at most 1024 characters after entity parsing, else "message caption is too
  long"; it may be empty;
* a file is an upload (multipart, ``attach://<part>`` or the part itself), or a
  ``file_id`` this bot received: another bot's, an unknown one or a URL (the sandbox has no
  web) is "wrong file identifier/HTTP URL specified"; a ``file_id`` of another kind is
  "can't use file of type Photo as Document" (TDLib's words);
* uploads: empty is "file must be non-empty"; over 50 MB is HTTP 413 "Request Entity Too
  Large" (api.telegram.org); a photo over 10 MB is "photo is too big" (the sandbox's
  words; Telegram's limit, its wording unpublished); a photo that is not a JPEG, PNG, GIF,
  WebP or BMP is "IMAGE_PROCESS_FAILED"; a document's MIME type is guessed from its name;
* sendMediaGroup: 2-10 items (the Bot API's documented range; none is "there are no
  messages to send", more than 10 "too many messages to send as an album", one is
  refused as "media group must have 2-10 items", the sandbox's words: the rule is
  documented, the live server's answer to a single item is not); photos and documents
  are not mixed ("document can't be mixed with other media types"); a voice note is not
  an album item ('can't parse InputMedia: type "voice" is unsupported'); the method
  takes no ``reply_markup`` (the official server reads none; the sandbox refuses one so
  that a bot counting on a button under an album finds out). An album costs one send of
  the flood limits, and its messages share a ``media_group_id``;
* getFile: a file over 20 MB is "file is too big" (the cloud server does not serve them).

People send files too (``POST /_sandbox/private_media``, :func:`private_media`): the bot
gets one update per file, an album's sharing a ``media_group_id``.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import mimetypes
import time
from typing import Any

from .chats import check_can_post, reply_target, resolve_chat, topic_of
from .content import prepare_markup
from .errors import ApiError, ControlError, bad_request
from .files import FileRecord
from .htmltext import parse_html, utf16_len
from .model import BotState, StoredMessage, private_chat
from .params import chat_id_of, method, p_int, p_json
from .state import World

MB = 1024 * 1024
MAX_CAPTION = 1024
MAX_UPLOAD = 50 * MB  # multipart uploads through api.telegram.org
MAX_PHOTO = 10 * MB
MAX_DOWNLOAD = 20 * MB  # getFile on the cloud server
MAX_REQUEST_BYTES = MAX_UPLOAD + 2 * MB  # the HTTP body: one upload and its form
ALBUM = (2, 10)

CAPTION_TOO_LONG = "message caption is too long"
WRONG_FILE = "wrong file identifier/HTTP URL specified"
FILE_TOO_BIG = "file is too big"
TOO_LARGE = ApiError(413, "Request Entity Too Large")
_TYPE_NAMES = {"photo": "Photo", "document": "Document", "voice": "VoiceNote"}
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
_group_ids = itertools.count(13_000_000_000_000_001)


def is_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def prepare_caption(
    params: dict[str, Any], key: str = "caption"
) -> tuple[str, str | None, str, list[dict[str, Any]]]:
    """(caption as sent, parse_mode, plain text, entities); "" is no caption."""
    raw = params.get(key)
    text = "" if raw is None else str(raw)
    parse_mode = params.get("parse_mode") or None
    if parse_mode is None:
        plain = text
        entities = p_json(params, f"{key}_entities", "message entities") or []
    elif str(parse_mode).lower() == "html":
        plain, entities = parse_html(text)
    else:
        raise bad_request("unsupported parse_mode")
    if len(plain) > MAX_CAPTION // 2 and utf16_len(plain) > MAX_CAPTION:
        raise bad_request(CAPTION_TOO_LONG)
    return text, parse_mode, plain, entities


class Pending:
    """A file a send names: known already (``record``) or uploaded with it (``data``)."""

    __slots__ = ("kind", "record", "data", "file_name", "mime_type")

    def __init__(
        self, kind: str, record: FileRecord | None, data: bytes = b"", file_name: str = ""
    ) -> None:
        self.kind = kind
        self.record = record
        self.data = data
        self.file_name = file_name
        self.mime_type = ""

    def store(self, world: World, bot: BotState) -> FileRecord:
        if self.record is not None:
            return self.record
        self.record = world.files.add(
            owner=bot.token,
            kind=self.kind,
            data=self.data,
            file_name=self.file_name,
            mime_type=self.mime_type,
        )
        return self.record


def input_file(
    world: World, bot: BotState, params: dict[str, Any], value: Any, kind: str
) -> Pending:
    if isinstance(value, str) and value.startswith("attach://"):
        value = params.get(value[len("attach://") :])
        if not isinstance(value, bytes):
            raise bad_request("can't parse InputMedia: media not found")
    if isinstance(value, bytes):
        if not value:
            raise bad_request("file must be non-empty")
        if len(value) > MAX_UPLOAD:
            raise TOO_LARGE
        if kind == "photo":
            if len(value) > MAX_PHOTO:
                raise bad_request("photo is too big")
            if not is_image(value):
                raise bad_request("IMAGE_PROCESS_FAILED")
        pending = Pending(kind, None, bytes(value), str(getattr(value, "filename", "") or ""))
        if kind == "document":
            pending.mime_type = mimetypes.guess_type(pending.file_name)[0] or ""
        return pending
    if not isinstance(value, str) or not value:
        raise bad_request(f"there is no {kind} in the request")
    record = world.files.by_id.get(value)
    if record is None or record.owner != bot.token:
        raise bad_request(WRONG_FILE)
    if record.kind != kind:
        raise bad_request(
            f"can't use file of type {_TYPE_NAMES[record.kind]} as {_TYPE_NAMES[kind]}"
        )
    return Pending(kind, record)


def _target(world: World, bot: BotState, params: dict[str, Any]) -> tuple[int, Any, Any, Any]:
    chat_id = chat_id_of(params)
    chat, group = resolve_chat(world, bot, chat_id)
    if group is not None:
        check_can_post(bot, group)
    log = bot.log(chat_id)
    reply = None
    if "reply_parameters" in params or "reply_to_message_id" in params:
        reply = reply_target(bot, log, chat, params)
    thread = params.get("message_thread_id")
    if thread or (group is not None and group.is_forum):
        thread = topic_of(group, p_int(params, "message_thread_id"), reply)
    return chat_id, (chat, group), reply, thread


def _post(
    world: World,
    bot: BotState,
    chat_id: int,
    where: tuple[Any, Any],
    reply: Any,
    thread: Any,
    items: list[tuple[Pending, tuple[str, str | None, str, list[dict[str, Any]]]]],
    markup: dict[str, Any] | None,
) -> list[StoredMessage]:
    chat, group = where
    limits = world.limits
    if limits.enabled:
        limits.check(bot.token, chat_id, group is not None, world.clock())
    log = bot.log(chat_id)
    group_id = str(next(_group_ids)) if len(items) > 1 else None
    out: list[StoredMessage] = []
    for pending, (text, parse_mode, plain, entities) in items:
        record = pending.store(world, bot)
        msg = StoredMessage(
            log.allocate_id(), chat_id, int(time.time()), text, parse_mode, plain, entities, markup
        )
        msg.media = (record.kind, record.telegram())
        msg.media_group_id = group_id
        if thread:
            msg.thread_id = thread
        msg.reply_to = reply
        log.messages[msg.message_id] = msg
        out.append(msg)
    if group is not None:
        group.last_bot = bot.id
    bot.stats.sent += len(out)
    bot.stats.per_chat[chat_id] = bot.stats.per_chat.get(chat_id, 0) + len(out)
    log.signal.notify()
    return out


async def _send_one(world: World, bot: BotState, params: dict[str, Any], kind: str) -> Any:
    chat_id, where, reply, thread = _target(world, bot, params)
    caption = prepare_caption(params)
    markup = prepare_markup(params)
    pending = input_file(world, bot, params, params.get(kind), kind)
    (msg,) = _post(world, bot, chat_id, where, reply, thread, [(pending, caption)], markup)
    return msg.telegram(bot, where[0])


@method("sendPhoto")
async def send_photo(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    return await _send_one(world, bot, params, "photo")


@method("sendDocument")
async def send_document(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    return await _send_one(world, bot, params, "document")


@method("sendVoice")
async def send_voice(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    return await _send_one(world, bot, params, "voice")


@method("sendMediaGroup")
async def send_media_group(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id, where, reply, thread = _target(world, bot, params)
    if params.get("reply_markup"):
        raise bad_request("sendMediaGroup takes no reply_markup")
    media = p_json(params, "media", "media")
    if not media:
        raise bad_request("there are no messages to send")
    if not isinstance(media, list):
        raise bad_request("can't parse media JSON object")
    if len(media) > ALBUM[1]:
        raise bad_request("too many messages to send as an album")
    if len(media) < ALBUM[0]:
        raise bad_request("media group must have 2-10 items")
    items = []
    kinds = set()
    for item in media:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in ("photo", "document"):
            raise bad_request(f'can\'t parse InputMedia: type "{kind}" is unsupported')
        kinds.add(kind)
        caption = prepare_caption(item)
        items.append((input_file(world, bot, params, item.get("media"), kind), caption))
    if len(kinds) > 1:
        raise bad_request("document can't be mixed with other media types")
    sent = _post(world, bot, chat_id, where, reply, thread, items, None)
    return [msg.telegram(bot, where[0]) for msg in sent]


@method("getFile")
async def get_file(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    file_id = params.get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise bad_request("file_id not specified")
    record = world.files.by_id.get(file_id)
    if record is None or record.owner != bot.token:
        raise bad_request(WRONG_FILE)
    if record.size > MAX_DOWNLOAD:
        raise bad_request(FILE_TOO_BIG)
    return {
        "file_id": record.file_id,
        "file_unique_id": record.unique_id,
        "file_size": record.size,
        "file_path": record.path,
    }


# ---------------------------------------------------------------- people send files


def _item(raw: Any) -> tuple[str, bytes, str, str]:
    if not isinstance(raw, dict):
        raise ControlError("each item must be an object {kind, data, file_name?, mime_type?}")
    kind = raw.get("kind")
    if kind not in ("photo", "document", "voice"):
        raise ControlError('kind must be "photo", "document" or "voice"')
    try:
        data = base64.b64decode(str(raw.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ControlError("data must be base64") from None
    if not data:
        raise ControlError("data must not be empty")
    return kind, data, str(raw.get("file_name") or ""), str(raw.get("mime_type") or "")


async def private_media(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """{token, user, items: [{kind, data (base64), file_name?, mime_type?}], caption?}: a
    person sends the bot a photo, a document or a voice note, or an album of photos or
    documents (2-10 items, the caption on the first) -> {update_ids, message_ids,
    media_group_id, file_ids}. [private_media]"""
    bot = world.control_bot(body.get("token"))
    user = world.remember(body.get("user"))
    raw_items = body.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise ControlError("items must be a non-empty list")
    items = [_item(raw) for raw in raw_items]
    if len(items) > 1:
        kinds = {kind for kind, *_ in items}
        if not ALBUM[0] <= len(items) <= ALBUM[1] or "voice" in kinds or len(kinds) > 1:
            raise ControlError("an album is 2-10 photos or 2-10 documents")
    caption = str(body.get("caption") or "")
    if utf16_len(caption) > MAX_CAPTION:
        raise ControlError("a caption is at most 1024 characters")
    chat = bot.private[user["id"]] = private_chat(user)
    log = bot.log(user["id"])
    group_id = str(next(_group_ids)) if len(items) > 1 else None
    out: dict[str, Any] = {"update_ids": [], "message_ids": [], "file_ids": []}
    for index, (kind, data, file_name, mime_type) in enumerate(items):
        record = world.files.add(
            owner=bot.token, kind=kind, data=data, file_name=file_name, mime_type=mime_type
        )
        mid = log.allocate_id()
        msg: dict[str, Any] = {
            "message_id": mid,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            kind: [record.telegram()] if kind == "photo" else record.telegram(),
        }
        if group_id is not None:
            msg["media_group_id"] = group_id
        if caption and index == 0:
            msg["caption"] = caption
        log.people[mid] = msg
        log.seen.add(mid)
        out["update_ids"].append(bot.push_update("message", msg))
        out["message_ids"].append(mid)
        out["file_ids"].append(record.file_id)
    out["media_group_id"] = group_id
    out["chat_id"] = user["id"]
    return out
