"""Where the gettext catalogs live: one set for every text a person reads, in the domain,
so that the bot, the delivery engine (the Đã nhận button, failure reasons) and the API
translate from the same place."""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

from babel.support import Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "vi"


@functools.lru_cache(maxsize=64)
def translations(locale: str) -> gettext.NullTranslations:
    """The catalog of `locale`; Vietnamese for a language without one."""
    return Translations.load(LOCALES_DIR, [locale, DEFAULT_LOCALE], DOMAIN)


def ack_label(locale: str) -> str:
    """The acknowledge button under a delivered notice, in the chat's language."""
    return translations(locale).gettext("✅ Received")


def transport_label(transport: str, locale: str) -> str:
    """A transport's short name, as officials read it («Telegram», «Zalo»)."""
    _ = translations(locale).gettext
    labels = {"telegram": _("Telegram"), "zalo": _("Zalo")}
    return labels.get(transport, transport)


def ack_reply_hint(locale: str) -> str:
    """The last line of a notice on a transport without buttons: how to acknowledge."""
    return translations(locale).gettext('Reply 1 or "received" to confirm.')
