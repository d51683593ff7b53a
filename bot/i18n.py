"""Bot texts through gettext catalogs (Babel): Vietnamese first, English too."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware

from broadcasts.i18n import DEFAULT_LOCALE, DOMAIN, LOCALES_DIR


def make_i18n(*, default_locale: str = DEFAULT_LOCALE) -> I18n:
    """`default_locale` is `Settings.default_locale`: the language for people not yet known."""
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


class OfficialLocaleMiddleware(I18nMiddleware):
    """Speaks the official's chosen language; everyone else (groups, leaders) gets the default
    locale (Vietnamese unless `LOA_DEFAULT_LOCALE` says otherwise).

    Telegram's `language_code` is not used: many Vietnamese phones are set to English, and
    the ward's working language is Vietnamese.
    """

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        official = data.get("official")
        default = self.i18n.default_locale
        locale = getattr(official, "locale", None) or default
        return locale if locale in self.i18n.available_locales else default
