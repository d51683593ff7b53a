"""The method registry and the readers of request parameters.

``METHODS`` maps a lower-case Bot API method name to a coroutine ``(world, bot, params) ->
result`` that returns the ``result`` object or raises ApiError; the modules ``updates``,
``messages``, ``chats`` and ``methods`` register into it with ``@method``.

``params`` holds the request's fields as sent: strings for form bodies (JSON-valued fields
such as reply_markup are JSON strings, as aiogram sends them) or typed values for JSON
bodies; the readers below accept both.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .errors import CHAT_NOT_FOUND, bad_request

if TYPE_CHECKING:
    from .model import BotState
    from .state import World

Method = Callable[["World", "BotState", dict[str, Any]], Awaitable[Any]]
METHODS: dict[str, Method] = {}


def method(*names: str) -> Callable[[Method], Method]:
    def register(fn: Method) -> Method:
        for name in names:
            METHODS[name.lower()] = fn
        return fn

    return register


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
