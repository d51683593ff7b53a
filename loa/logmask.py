"""Secrets never reach a log line: bot tokens, and the codes people type, are masked.

aiogram puts the request URL, `…/bot<TOKEN>/getUpdates`, into the errors it logs when the
Bot API server cannot be reached, and libraries log more at DEBUG. The mask is applied
where every record is made (`logging.setLogRecordFactory`), so it covers every logger,
aiogram's and aiohttp's included, whatever handlers are installed later (pytest's too):
the message is formatted once, masked, and the traceback text masked with it.

Masked: anything shaped like a Telegram token (`123456:AA…`, also after `bot`), every
token the process serves (`TokenMask.add`, however it is shaped), and the argument of
the commands that carry a code (`/start CODE`, `/dangky CODE`). Bound SQL values are
never logged (the engine hides them, and aiosqlite's DEBUG statements are off).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any
from urllib.parse import quote

HIDDEN = "***"
# Telegram's tokens: the bot's id, a colon (perhaps URL-encoded), 35 url-safe characters.
_TOKEN_SHAPE = re.compile(r"\d{3,15}(?::|%3A)[A-Za-z0-9_-]{30,}", re.IGNORECASE)
_CODE_COMMAND = re.compile(
    r"(/(?:start|dangky|register)(?:@\w{1,64})?[ \t]+)[^\s\"'\\,}]{1,64}", re.IGNORECASE
)


class TokenMask(logging.Filter):
    """Masks secrets in a record in place; a filter that never drops a record."""

    def __init__(self) -> None:
        super().__init__()
        self._known: set[str] = set()
        self._known_re: re.Pattern[str] | None = None

    def add(self, secret: str) -> None:
        """Mask this value wherever it appears from now on (a bot's token)."""
        if len(secret) >= 6 and secret not in self._known:
            # As written, and URL-encoded (a token in a query string: `token=1%3AAbc`).
            self._known |= {secret, quote(secret, safe="")}
            alternatives = sorted(self._known, key=len, reverse=True)
            self._known_re = re.compile("|".join(re.escape(s) for s in alternatives))

    def mask(self, text: str) -> str:
        if self._known_re is not None:
            text = self._known_re.sub(HIDDEN, text)
        text = _TOKEN_SHAPE.sub(HIDDEN, text)
        return _CODE_COMMAND.sub(lambda m: m.group(1) + HIDDEN, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: mask what there is
            message = str(record.msg)
        record.msg, record.args = self.mask(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


_mask: TokenMask | None = None


def install_token_mask() -> TokenMask:
    """Mask every record made from now on (once per process; later calls return it)."""
    global _mask
    if _mask is not None:
        return _mask
    mask = _mask = TokenMask()
    # aiosqlite logs every statement with its bound values at DEBUG (invite codes, names):
    # no mask can know those, so its DEBUG lines are not made at all.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        mask.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    return mask
