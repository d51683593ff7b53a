"""What a message may contain: text length after entity parsing, parse modes, keyboards.

* Text: 1-4096 characters *after* entity parsing (the plain text people see), else "message
  text is empty" / "message is too long". The length is counted in UTF-16 code units, the
  unit of Telegram's entity offsets; where a text has characters outside the BMP (emoji)
  this is at least as strict as counting characters. Whitespace-only text is empty.
* parse_mode: "HTML" is parsed for real (:mod:`.htmltext`). "Markdown" and "MarkdownV2" are
  not implemented and are refused with "unsupported parse_mode" rather than accepted
  unparsed (a sandbox that passed them through would hide escaping bugs). No parse_mode:
  the text is plain, with optional ``entities``.
* Captions (1024) are checked by the file methods (:mod:`.media`).
* Inline keyboards: at most 100 buttons in total, else "reply markup is too long" (the limit
  Telegram's users report; Telegram does not document one); every button needs a text
  ("BUTTON_TEXT_INVALID") and an action; callback_data is 1-64 bytes of UTF-8, else
  "BUTTON_DATA_INVALID". There is no per-row limit. An empty inline keyboard is no keyboard.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import (
    BUTTON_DATA_INVALID,
    MARKUP_TOO_LONG,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    bad_request,
)
from .htmltext import parse_html, utf16_len
from .params import p_json

MAX_TEXT = 4096
MAX_BUTTONS = 100
MAX_CALLBACK_DATA = 64
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


def prepare_text(params: dict[str, Any]) -> tuple[str, str | None, str, list[dict[str, Any]]]:
    """(text as sent, parse_mode, plain text, entities) or the Bot API error."""
    text = params.get("text")
    text = "" if text is None else str(text)
    parse_mode = params.get("parse_mode") or None
    if parse_mode is None:
        plain, entities = text, p_json(params, "entities", "message entities") or []
    elif str(parse_mode).lower() == "html":
        plain, entities = parse_html(text)
    else:
        raise bad_request("unsupported parse_mode")
    if not plain or plain.isspace():
        raise bad_request(TEXT_EMPTY)
    if len(plain) > MAX_TEXT // 2 and utf16_len(plain) > MAX_TEXT:
        raise bad_request(TEXT_TOO_LONG)
    return text, parse_mode, plain, entities


# Validated keyboards by the JSON string sent: one client sends the same keyboard to many
# chats, and parsing plus checking it was a tenth of a sendMessage. Stored messages share
# the dict, which nothing mutates (an edit replaces it).
_checked: dict[str, tuple[dict[str, Any] | None]] = {}
_CHECKED_MAX = 512


def prepare_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    raw = params.get("reply_markup")
    if isinstance(raw, str):
        known = _checked.get(raw)
        if known is not None:
            return known[0]
        markup = _check_markup(p_json(params, "reply_markup", "reply keyboard markup"))
        if len(_checked) >= _CHECKED_MAX:
            _checked.clear()
        _checked[raw] = (markup,)
        return markup
    return _check_markup(raw)


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request(MARKUP_TOO_LONG)
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("BUTTON_TEXT_INVALID")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not data:
                    raise bad_request(BUTTON_DATA_INVALID)
                if len(data) > MAX_CALLBACK_DATA // 4 and len(data.encode()) > MAX_CALLBACK_DATA:
                    raise bad_request(BUTTON_DATA_INVALID)
            elif not BUTTON_ACTIONS.intersection(button):
                raise bad_request("text buttons are unallowed in the inline keyboard")
    if not any(rows):
        return None
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
