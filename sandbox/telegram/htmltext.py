"""Text rules of the Bot API: the HTML parse mode, UTF-16 offsets and bot_command entities.

``parse_html`` validates a message written with ``parse_mode=HTML`` the way Telegram does
(a reasonable subset of tdlib's rules) and returns the plain text plus the entities
Telegram would report. Supported tags are Telegram's: b/strong, i/em, u/ins,
s/strike/del, code, pre, a, tg-spoiler (and span class="tg-spoiler"), blockquote,
tg-emoji; anything else is "Unsupported start tag". Tags must be properly nested and closed.

Entities: Telegram documents "All numerical HTML entities are supported. The API currently
supports only the following named HTML entities: &lt;, &gt;, &amp; and &quot;", and that
"All <, > and & symbols that are not a part of a tag or an HTML entity must be replaced with
the corresponding HTML entities". The sandbox enforces both: a bare ``&``, or a named entity
other than those four (&apos;, &nbsp;, ...), is "Character entity expected" (Telegram itself
may show such an ``&`` literally; refusing it catches the missing escape). Python's
``html.escape`` output (&amp; &lt; &gt; &quot; &#x27;) is accepted.

Every error reads "can't parse entities: ..." with the byte offset, as Telegram's do.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .errors import ApiError, bad_request

_SPECIAL = re.compile(r"[<&]")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_ATTR = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")
# A /command, optionally /command@username (group 1), as Telegram marks bot_command entities.
COMMAND = re.compile(r"(?:^|(?<=\s))/[A-Za-z0-9_]{1,64}(?:@([A-Za-z0-9_]{3,32}))?")

ENTITY_OF_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _cant_parse(text: str, index: int, what: str) -> ApiError:
    offset = len(text[:index].encode("utf-8"))
    return bad_request(f"can't parse entities: {what.format(offset=offset)}")


def _attrs(raw: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in _ATTR.finditer(raw):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        if value is None:
            value = m.group(4) or ""
        found[m.group(1).lower()] = html.unescape(value)
    return found


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Validate HTML-formatted text; return (plain text, entities) as Telegram reports them."""
    if "<" not in text and "&" not in text:
        return text, []
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    # open tags: [name, start offset (UTF-16), attributes, extra entity fields]
    stack: list[list[Any]] = []
    pos = 0
    u16 = 0
    while True:
        m = _SPECIAL.search(text, pos)
        end = m.start() if m else len(text)
        if end > pos:
            chunk = text[pos:end]
            out.append(chunk)
            u16 += utf16_len(chunk)
        if m is None:
            break
        i = m.start()
        if text[i] == "&":
            em = _ENTITY.match(text, i)
            if em is None:
                raise _cant_parse(text, i, "Character entity expected at byte offset {offset}")
            char = html.unescape(em.group(0))
            out.append(char)
            u16 += utf16_len(char)
            pos = em.end()
            continue
        tm = _TAG.match(text, i)
        if tm is None:
            raise _cant_parse(text, i, "Unclosed start tag at byte offset {offset}")
        closing, name, raw_attrs = tm.group(1), tm.group(2).lower(), tm.group(3)
        pos = tm.end()
        if not closing:
            attrs = _attrs(raw_attrs) if raw_attrs.strip() else {}
            if name not in ENTITY_OF_TAG or (name == "span" and attrs.get("class") != "tg-spoiler"):
                raise _cant_parse(
                    text, i, f'Unsupported start tag "{name}" at byte offset {{offset}}'
                )
            stack.append([name, u16, attrs, {}])
            continue
        if not stack:
            raise _cant_parse(text, i, "Unexpected end tag at byte offset {offset}")
        open_name, start, attrs, extra = stack.pop()
        if open_name != name:
            raise _cant_parse(
                text,
                i,
                f'Unmatched end tag at byte offset {{offset}}, expected "</{open_name}>", '
                f'found "</{name}>"',
            )
        length = u16 - start
        kind = ENTITY_OF_TAG[name]
        if name == "code" and stack and stack[-1][0] == "pre":
            language = attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1][3]["language"] = language[len("language-") :]
                continue
        if name == "a":
            if not attrs.get("href"):
                continue
            extra = {"url": attrs["href"]}
        elif name == "blockquote" and "expandable" in attrs:
            kind = "expandable_blockquote"
        elif name == "tg-emoji":
            extra = {"custom_emoji_id": attrs.get("emoji-id", "")}
        if length > 0:
            entities.append({"type": kind, "offset": start, "length": length, **extra})
    if stack:
        name = stack[-1][0]
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{name}\""
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities for every /command in a user's text, like Telegram marks them."""
    if "/" not in text:
        return []
    found = []
    for m in COMMAND.finditer(text):
        found.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group(0)),
            }
        )
    return found
