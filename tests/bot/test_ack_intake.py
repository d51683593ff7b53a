"""Which updates the Đã nhận fast path takes (`bot.ack_intake.read_press`): a press as
Telegram sends it, with the button's callback data, and nothing else. Anything it does not
recognise goes through aiogram as before, so it must decline rather than guess."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiogram.types import Update

from bot.ack_intake import AckPress, press_of, read_press

PRESS: dict[str, Any] = {
    "update_id": 41,
    "callback_query": {
        "id": "4242",
        "from": {"id": 8601, "is_bot": False, "first_name": "Lan", "last_name": "Trần"},
        "chat_instance": "-77",
        "data": "ack:19",
        "message": {
            "message_id": 5,
            "date": 1_767_225_600,
            "chat": {"id": -1001, "type": "supergroup", "title": "Nhóm BT-KP1"},
            "text": "Cúp điện",
        },
    },
}
TAKEN = AckPress(41, "4242", 19, -1001, 5, 8601, "Lan", "Trần")


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    update = copy.deepcopy(PRESS)
    node = update
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return update


def test_a_press_is_read_as_aiogram_reads_it() -> None:
    assert read_press(PRESS) == TAKEN
    assert TAKEN.full_name == "Lan Trần"
    assert press_of(Update.model_validate(PRESS)) == TAKEN


def test_a_press_on_an_inline_message_has_no_chat() -> None:
    inline = _with(("callback_query", "message"), KeyError)
    assert read_press(inline) == AckPress(41, "4242", 19, None, None, 8601, "Lan", "Trần")


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": {"message_id": 1}},
        _with(("callback_query", "data"), "amend:19"),
        _with(("callback_query", "data"), "ack:0"),
        _with(("callback_query", "data"), "ack:+19"),
        _with(("callback_query", "data"), KeyError),
        _with(("update_id",), "41"),
        _with(("update_id",), True),
        _with(("callback_query", "id"), 4242),
        _with(("callback_query", "from"), KeyError),
        _with(("callback_query", "from", "id"), "8601"),
        _with(("callback_query", "from", "first_name"), None),
        _with(("callback_query", "from", "last_name"), 7),
        _with(("callback_query", "message"), "5"),
        _with(("callback_query", "message", "chat"), KeyError),
        _with(("callback_query", "message", "chat", "id"), 1.5),
        _with(("callback_query", "message", "message_id"), KeyError),
    ],
)
def test_anything_else_is_left_to_aiogram(update: dict[str, Any]) -> None:
    assert read_press(update) is None
