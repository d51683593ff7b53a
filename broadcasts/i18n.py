"""Where the gettext catalogs live: one set for every text a person reads, in the domain,
so that the bot, the delivery engine (the Đã nhận button, failure reasons) and the API
translate from the same place."""

from __future__ import annotations

from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "vi"
