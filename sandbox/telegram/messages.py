"""The methods that post, edit and delete messages, and answerCallbackQuery.

Order of checks in sendMessage (each refusal changes nothing and consumes no quota): the
chat (exists, the bot is in it), posting rights, the forum topic, the text, the keyboard,
the reply target, then the flood limits (:mod:`.limits`). Edits check the chat, the
message, the content, "message is not modified" (same plain text, entities and keyboard),
then the limits: an edit costs the same quota as a send. editMessageText on a message
without text is "there is no text in the message to edit", editMessageCaption on one
without a caption "there is no caption in the message to edit" (text messages are the
only ones kept here; a media module marks its own with a ``caption`` of its StoredMessage).

deleteMessage: a bot deletes its own messages only within 48 hours of sending them
(``DELETE_WINDOW_SECONDS``, measured on the message's ``date``, which the control endpoint
``age`` moves back), else "message can't be deleted for everyone"; a deleted message is
gone: editing or deleting it again is "message to edit not found" / "message to delete not
found".

answerCallbackQuery: a query can be answered once, within ``World.callback_timeout``
seconds (15 by default, like Telegram) of the press, on the world's clock; a second answer,
a late one, or another bot's query is "query is too old and response timeout expired or
query ID is invalid".
"""

from __future__ import annotations

import time
from typing import Any

from .chats import check_can_post, reply_target, resolve_chat, topic_of
from .content import markup_key, prepare_markup, prepare_text
from .errors import NOT_MODIFIED, QUERY_TOO_OLD, bad_request
from .htmltext import utf16_len
from .media import CAPTION_TOO_LONG, MAX_CAPTION
from .model import BotState, StoredMessage
from .params import chat_id_of, method, p_bool, p_int
from .state import World

DELETE_WINDOW_SECONDS = 48 * 3600
CANT_DELETE = "message can't be deleted for everyone"
NO_TEXT = "there is no text in the message to edit"
NO_CAPTION = "there is no caption in the message to edit"


def stored(bot: BotState, chat_id: int, params: dict[str, Any], missing: str) -> StoredMessage:
    if params.get("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not modelled
    message_id = p_int(params, "message_id", "message identifier is not specified")
    log = bot.logs.get(chat_id)
    msg = log.messages.get(message_id) if log is not None and message_id is not None else None
    if msg is None:
        raise bad_request(missing)
    return msg


@method("sendMessage")
async def send_message(world: World, bot: BotState, params: dict[str, Any]) -> Any:
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
    text, parse_mode, plain, entities = prepare_text(params)
    markup = prepare_markup(params)
    limits = world.limits
    if limits.enabled:
        limits.check(bot.token, chat_id, group is not None, world.clock())
    msg = StoredMessage(
        log.allocate_id(), chat_id, int(time.time()), text, parse_mode, plain, entities, markup
    )
    if thread:
        msg.thread_id = thread
    msg.reply_to = reply
    log.messages[msg.message_id] = msg
    if group is not None:
        group.last_bot = bot.id
    stats = bot.stats
    stats.sent += 1
    stats.per_chat[chat_id] = stats.per_chat.get(chat_id, 0) + 1
    fingerprint = hash((text, markup_key(params, markup)))
    if fingerprint in log.hashes:
        stats.duplicates += 1
    else:
        log.hashes.add(fingerprint)
    log.signal.notify()
    return msg.telegram(bot, chat)


def _remember_edit(msg: StoredMessage) -> None:
    msg.edits.append(
        {
            "text": msg.text,
            "parse_mode": msg.parse_mode,
            "reply_markup": msg.reply_markup,
            "date": msg.edit_date or msg.date,
        }
    )
    msg.edit_date = int(time.time())


def _edit_quota(world: World, bot: BotState, chat_id: int) -> None:
    limits = world.limits
    if limits.enabled:
        limits.check(bot.token, chat_id, chat_id < 0, world.clock())


def _has_caption(msg: StoredMessage) -> bool:
    # A photo / document / voice message (:mod:`.media`): its text is the caption.
    return msg.media is not None


@method("editMessageText")
async def edit_message_text(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    chat, _ = resolve_chat(world, bot, chat_id)
    msg = stored(bot, chat_id, params, "message to edit not found")
    if _has_caption(msg):
        raise bad_request(NO_TEXT)
    return _edit(world, bot, chat, chat_id, msg, params)


@method("editMessageCaption")
async def edit_message_caption(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    chat, _ = resolve_chat(world, bot, chat_id)
    msg = stored(bot, chat_id, params, "message to edit not found")
    if not _has_caption(msg):
        raise bad_request(NO_CAPTION)
    fields = dict(params, text=params.get("caption"))
    _, _, plain, _ = prepare_text(fields)
    if utf16_len(plain) > MAX_CAPTION:
        raise bad_request(CAPTION_TOO_LONG)
    return _edit(world, bot, chat, chat_id, msg, fields)


def _edit(
    world: World,
    bot: BotState,
    chat: dict[str, Any],
    chat_id: int,
    msg: StoredMessage,
    params: dict[str, Any],
) -> Any:
    text, parse_mode, plain, entities = prepare_text(params)
    markup = prepare_markup(params)  # omitted = the keyboard is removed, as on Telegram
    if plain == msg.plain and entities == msg.entities and markup == msg.reply_markup:
        raise bad_request(NOT_MODIFIED)
    _edit_quota(world, bot, chat_id)
    _remember_edit(msg)
    msg.text, msg.parse_mode, msg.plain, msg.entities = text, parse_mode, plain, entities
    msg.reply_markup = markup
    bot.stats.edited += 1
    bot.log(chat_id).signal.notify()
    return msg.telegram(bot, chat)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    chat, _ = resolve_chat(world, bot, chat_id)
    msg = stored(bot, chat_id, params, "message to edit not found")
    markup = prepare_markup(params)
    if markup == msg.reply_markup:
        raise bad_request(NOT_MODIFIED)
    _edit_quota(world, bot, chat_id)
    _remember_edit(msg)
    msg.reply_markup = markup
    bot.stats.edited += 1
    bot.log(chat_id).signal.notify()
    return msg.telegram(bot, chat)


@method("deleteMessage")
async def delete_message(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    resolve_chat(world, bot, chat_id)
    msg = stored(bot, chat_id, params, "message to delete not found")
    if time.time() - msg.date > DELETE_WINDOW_SECONDS:
        raise bad_request(CANT_DELETE)
    del bot.logs[chat_id].messages[msg.message_id]
    bot.log(chat_id).signal.notify()
    return True


@method("answerCallbackQuery")
async def answer_callback_query(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    cq_id = str(params.get("callback_query_id") or "")
    record = world.callbacks.get(cq_id)
    if (
        record is None
        or record.token != bot.token
        or record.answer is not None
        or world.clock() - record.created > world.callback_timeout
    ):
        raise bad_request(QUERY_TOO_OLD)
    text = params.get("text")
    if text is not None and len(str(text)) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answer = {
        "text": None if text is None else str(text),
        "show_alert": p_bool(params, "show_alert"),
        "url": params.get("url"),
        "cache_time": p_int(params, "cache_time"),
    }
    record.answered = world.clock()
    world.callback_signal.notify()
    return True
