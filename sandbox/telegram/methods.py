"""The Bot API methods: ``METHODS`` maps a lower-case method name to its coroutine.

The methods live by topic: :mod:`.updates` (getUpdates, webhooks), :mod:`.messages`
(sending, editing, deleting, answerCallbackQuery), :mod:`.media` (files: sendPhoto,
sendDocument, sendVoice, sendMediaGroup, getFile), :mod:`.chats` (getChat, getChatMember,
rights, topics); this module has the rest (getMe, commands, no-op settings) and imports the
others so that importing ``METHODS`` from here registers every method.
"""

from __future__ import annotations

import json
from typing import Any

from . import chats, media, messages, updates
from .errors import bad_request
from .model import BotState
from .params import METHODS, method, p_json
from .state import World

__all__ = ["METHODS", "chats", "media", "messages", "updates"]


@method("getMe")
async def get_me(world: World, bot: BotState, params: dict[str, Any]) -> Any:
    return {
        **bot.user,
        "can_join_groups": True,
        "can_read_all_group_messages": not bot.privacy,
        "supports_inline_queries": False,
    }


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
