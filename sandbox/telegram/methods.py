"""Bot API method implementations: ``METHODS`` maps a lower-case method name to a coroutine
``(world, bot, params) -> result`` that returns the ``result`` object or raises ApiError.

``params`` holds the request's fields as sent: strings for form bodies (JSON-valued fields
such as reply_markup are JSON strings, as aiogram sends them) or typed values for JSON
bodies; the helpers below accept both.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import CHAT_NOT_FOUND, bad_request, forbidden
from .htmltext import parse_html
from .state import BotState, StoredMessage, World

Method = Callable[[World, BotState, dict[str, Any]], Awaitable[Any]]
METHODS: dict[str, Method] = {}

MAX_TEXT = 4096
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


def method(*names: str) -> Callable[[Method], Method]:
    def register(fn: Method) -> Method:
        for name in names:
            METHODS[name.lower()] = fn
        return fn

    return register


# ------------------------------------------------------------------------- parameters


def p_int(params: dict[str, Any], key: str, missing: str | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        if missing is not None:
            raise bad_request(missing)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {key} specified") from None


def p_bool(params: dict[str, Any], key: str) -> bool:
    value = params.get(key)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def p_json(params: dict[str, Any], key: str, what: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None
    return value


def chat_id_of(params: dict[str, Any]) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise bad_request("chat_id is empty")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(CHAT_NOT_FOUND) from None  # @usernames are not modelled


def resolve_chat(world: World, bot: BotState, chat_id: int) -> tuple[dict[str, Any], bool]:
    """The Chat object the bot may write to, and whether it is a group; else the error."""
    if chat_id > 0:
        chat = bot.private.get(chat_id)
        if chat is not None:
            return chat, False
        if chat_id in world.users:
            raise forbidden("bot can't initiate conversation with a user")
        raise bad_request(CHAT_NOT_FOUND)
    status = bot.groups.get(chat_id)
    group = world.chats.get(chat_id)
    if status is None or group is None:
        raise bad_request(CHAT_NOT_FOUND)
    if group.migrated_to is not None:
        raise bad_request(
            "group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": group.migrated_to},
        )
    if status == "kicked":
        raise forbidden(f"bot was kicked from the {group.type} chat")
    if status == "left":
        raise forbidden(f"bot is not a member of the {group.type} chat")
    return group.public, True


def prepare_text(params: dict[str, Any]) -> tuple[str, str | None, str, list[dict[str, Any]]]:
    """(text as sent, parse_mode, plain text, entities) or the Bot API error."""
    text = params.get("text")
    text = "" if text is None else str(text)
    parse_mode = params.get("parse_mode") or None
    if parse_mode is None:
        plain, entities = text, p_json(params, "entities", "message entities") or []
    else:
        mode = str(parse_mode).lower()
        if mode == "html":
            plain, entities = parse_html(text)
        elif mode in ("markdown", "markdownv2"):
            plain, entities = text, []
        else:
            raise bad_request("unsupported parse_mode")
    if not plain or plain.isspace():
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return text, parse_mode, plain, entities


def prepare_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = p_json(params, "reply_markup", "reply keyboard markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("BUTTON_TEXT_INVALID")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif not BUTTON_ACTIONS.intersection(button):
                raise bad_request("text buttons are unallowed in the inline keyboard")
    return markup


def markup_key(params: dict[str, Any], markup: dict[str, Any] | None) -> str:
    """What identifies a keyboard for duplicate counting: the JSON string as sent (one client
    serialises equal keyboards identically, and this skips a dumps per send), else canonical."""
    if markup is None:
        return ""
    raw = params.get("reply_markup")
    if isinstance(raw, str):
        return raw
    return json.dumps(markup, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stored(bot: BotState, chat_id: int, params: dict[str, Any], missing: str) -> StoredMessage:
    if params.get("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not modelled
    message_id = p_int(params, "message_id", "message identifier is not specified")
    log = bot.logs.get(chat_id)
    msg = log.messages.get(message_id) if log is not None and message_id is not None else None
    if msg is None:
        raise bad_request(missing)
    return msg


# ------------------------------------------------------------------------- methods


@method("getMe")
async def get_me(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    return {
        **bot.user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


@method("getUpdates")
async def get_updates(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    offset = p_int(params, "offset")
    limit = min(max(p_int(params, "limit") or 100, 1), 100)
    timeout = min(max(p_int(params, "timeout") or 0, 0), 50)
    allowed = p_json(params, "allowed_updates", "allowed updates")
    if allowed is not None:
        bot.allowed_updates = list(allowed) or None
    if offset:
        bot.confirm(offset)
    updates = bot.take(limit)
    if updates or timeout <= 0:
        return updates
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    generation = world.generation
    while not updates and not world.closing and world.generation == generation:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await bot.update_signal.wait(remaining)
        updates = bot.take(limit)
    return updates


@method("setWebhook")
async def set_webhook(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    url = params.get("url") or ""
    bot.webhook = {"url": str(url)}
    for key in ("max_connections", "ip_address"):
        if params.get(key) is not None:
            bot.webhook[key] = params[key]
    allowed = p_json(params, "allowed_updates", "allowed updates")
    if allowed is not None:
        bot.webhook["allowed_updates"] = allowed
    if p_bool(params, "drop_pending_updates"):
        bot.updates.clear()
    return True


@method("deleteWebhook")
async def delete_webhook(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    bot.webhook = {"url": ""}
    if p_bool(params, "drop_pending_updates"):
        bot.updates.clear()
    return True


@method("getWebhookInfo")
async def get_webhook_info(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    info = {"has_custom_certificate": False, "pending_update_count": len(bot.updates)}
    info.update(bot.webhook)
    if "max_connections" in info:
        info["max_connections"] = int(info["max_connections"])
    return info


def _commands_key(params: dict[str, Any]) -> str:
    scope = p_json(params, "scope", "bot command scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + str(params.get("language_code") or "")


@method("setMyCommands")
async def set_my_commands(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    commands = p_json(params, "commands", "bot commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse bot commands JSON object")
    for cmd in commands:
        name = cmd.get("command", "") if isinstance(cmd, dict) else ""
        if not (
            isinstance(name, str)
            and 1 <= len(name) <= 32
            and all(c.isascii() and (c.isalnum() or c == "_") for c in name)
        ):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(cmd.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    bot.commands[_commands_key(params)] = [
        {"command": c["command"].lower(), "description": str(c["description"])} for c in commands
    ]
    return True


@method("deleteMyCommands")
async def delete_my_commands(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    bot.commands.pop(_commands_key(params), None)
    return True


@method("getMyCommands")
async def get_my_commands(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    return bot.commands.get(_commands_key(params), [])


@method("sendMessage")
async def send_message(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    chat, is_group = resolve_chat(world, bot, chat_id)
    text, parse_mode, plain, entities = prepare_text(params)
    markup = prepare_markup(params)
    if world.limits.enabled:
        world.limits.check(bot.token, chat_id, is_group, time.monotonic())
    log = bot.log(chat_id)
    msg = StoredMessage(
        log.allocate_id(), chat_id, int(time.time()), text, parse_mode, plain, entities, markup
    )
    log.messages[msg.message_id] = msg
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


@method("editMessageText")
async def edit_message_text(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    chat, _ = resolve_chat(world, bot, chat_id)
    msg = stored(bot, chat_id, params, "message to edit not found")
    text, parse_mode, plain, entities = prepare_text(params)
    markup = prepare_markup(params)  # omitted = the keyboard is removed, as on Telegram
    if plain == msg.plain and entities == msg.entities and markup == msg.reply_markup:
        raise bad_request(NOT_MODIFIED)
    _remember_edit(msg)
    msg.text, msg.parse_mode, msg.plain, msg.entities = text, parse_mode, plain, entities
    msg.reply_markup = markup
    bot.stats.edited += 1
    return msg.telegram(bot, chat)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    chat, _ = resolve_chat(world, bot, chat_id)
    msg = stored(bot, chat_id, params, "message to edit not found")
    markup = prepare_markup(params)
    if markup == msg.reply_markup:
        raise bad_request(NOT_MODIFIED)
    _remember_edit(msg)
    msg.reply_markup = markup
    bot.stats.edited += 1
    return msg.telegram(bot, chat)


@method("deleteMessage")
async def delete_message(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    resolve_chat(world, bot, chat_id)
    msg = stored(bot, chat_id, params, "message to delete not found")
    del bot.logs[chat_id].messages[msg.message_id]
    return True


@method("answerCallbackQuery")
async def answer_callback_query(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    cq_id = str(params.get("callback_query_id") or "")
    record = world.callbacks.get(cq_id)
    if record is None or record.token != bot.token or record.answer is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.get("text")
    if text is not None and len(str(text)) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answer = {
        "text": None if text is None else str(text),
        "show_alert": p_bool(params, "show_alert"),
        "url": params.get("url"),
        "cache_time": p_int(params, "cache_time"),
    }
    world.callback_signal.notify()
    return True


@method("getChat")
async def get_chat(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat, _ = resolve_chat(world, bot, chat_id_of(params))
    return {**chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": NO_GIFTS}


@method("getChatMember")
async def get_chat_member(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    chat_id = chat_id_of(params)
    resolve_chat(world, bot, chat_id)
    user_id = p_int(params, "user_id", "user_id is empty")
    if user_id == bot.id:
        return bot.member(bot.groups.get(chat_id, "member"))
    user = world.users.get(user_id or 0)
    if user is None:
        raise bad_request("user not found")
    if chat_id > 0:
        if user_id != chat_id:
            raise bad_request("user not found")
        return bot.member("member", user)
    members = world.chats[chat_id].members
    return bot.member("member" if user_id in members else "left", user)


@method(
    "close",
    "logOut",
    "sendChatAction",
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
)
async def accept(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    return True
