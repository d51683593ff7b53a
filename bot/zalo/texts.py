"""What the Zalo front reads in a message (commands) and what it answers (catalog texts).

Commands are typed, so they are read loosely: any case, with or without accents, with or
without a slash: «DK AB12CD34», «đăng ký AB12CD34», «/dangky AB12CD34»; «HUY DK», «hủy
đăng ký». Answers come from the Babel catalogs in the chat's language (Vietnamese first).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from broadcasts.errors import CodeRejected, TooManyAttempts
from broadcasts.i18n import translations
from broadcasts.models import utcnow
from broadcasts.reply_acks import folded

EXAMPLE_CODE = "AB12CD34"
_REGISTER = re.compile(r"^/?(?:dk|dang ky|dangky|register)(?:\s+(\S+))?$")
_OFFICIAL = re.compile(r"^/?(?:start|cb|can bo)\s+(\S+)$")
_UNREGISTER = re.compile(r"^/?(?:huy dk|huy dang ky|huydangky|unregister)$")


def _words(text: str) -> str:
    # Folded without punctuation, but a code keeps its letters and digits.
    return folded(text)


def register_code(text: str) -> str | None:
    """The code of «DK <code>»: "" when the command has no code, None if not the command."""
    match = _REGISTER.match(_words(text))
    if match is None:
        return None
    return (match.group(1) or "").upper()


def official_code(text: str) -> str | None:
    """The code of «/start <code>» (or «CB <code>»), the official's command on Telegram."""
    match = _OFFICIAL.match(_words(text))
    return match.group(1).upper() if match is not None else None


def is_unregister(text: str) -> bool:
    return _UNREGISTER.match(_words(text)) is not None


def without_mention(text: str, account_name: str) -> str:
    """A group message without the @mention that made Zalo show it to the bot."""
    return " ".join(text.replace(f"@{account_name}", " ").split())


def registered(locale: str, area: str) -> str:
    return (
        translations(locale)
        .gettext(
            "✅ Registered: this chat will receive the ward's notices for {area}. Whenever a "
            'notice arrives, please reply 1 or "received" so that the ward knows.'
        )
        .format(area=area)
    )


def already_registered(locale: str, area: str) -> str:
    return (
        translations(locale)
        .gettext("This chat is already registered for {area}.")
        .format(area=area)
    )


def code_missing(locale: str) -> str:
    return (
        translations(locale)
        .gettext("Please send the code too, like this: {command}")
        .format(command=f"DK {EXAMPLE_CODE}")
    )


def _minutes_left(until: object) -> int:
    if not isinstance(until, datetime):
        return 15
    return max(1, math.ceil((until - utcnow()).total_seconds() / 60))


def code_refused(locale: str, error: CodeRejected) -> str:
    """The same answers as the Telegram bot's for a refused code."""
    t = translations(locale)
    reason = str(error.detail.get("reason", ""))
    if isinstance(error, TooManyAttempts):
        return t.gettext(
            "Too many wrong codes have been typed. Please wait {minutes} minutes, then "
            "send the code again."
        ).format(minutes=_minutes_left(error.detail.get("until")))
    if reason == "other_ward":
        return t.gettext(
            "This code belongs to another ward, so this ward's Loa cannot use it. "
            "Please ask your own ward for a code."
        )
    if reason == "used":
        return t.gettext(
            "This code has already been used (each code works once). If you registered "
            "with it, there is nothing more to do; if not, please ask the ward for a new code."
        )
    if reason == "expired":
        return t.gettext("This code has expired. Please ask the ward for a new code.")
    return t.gettext(
        "This code is not right. Please check it (it looks like AB12CD34) or ask the "
        "ward for a new code."
    )


def unregistered(locale: str) -> str:
    return translations(locale).gettext(
        "Done: this chat will no longer receive the ward's notices. To receive them again, "
        "send DK with a new code from the ward."
    )


def not_registered(locale: str) -> str:
    return translations(locale).gettext("This chat is not registered to receive notices.")


def ack_recorded(locale: str) -> str:
    return translations(locale).gettext("Thank you, Loa has recorded it.")


def ack_repeated(locale: str) -> str:
    return translations(locale).gettext("You have already confirmed this notice. Thank you!")


def no_notice(locale: str) -> str:
    return translations(locale).gettext("There is no notice to confirm yet.")


def greeting(locale: str) -> str:
    return (
        translations(locale)
        .gettext(
            "Hello! This is Loa, the ward's notice channel. To receive the ward's notices "
            "here, send DK followed by the code from the ward, for example: {command}"
        )
        .format(command=f"DK {EXAMPLE_CODE}")
    )


def official_welcome(locale: str, name: str) -> str:
    return (
        translations(locale)
        .gettext(
            "Welcome, {name}! From now on you can send the ward's notices here. Paste the "
            "notice's text and send it: Loa summarises it, you choose the khu phố/tổ and send."
        )
        .format(name=name)
    )


def official_already(locale: str) -> str:
    return translations(locale).gettext(
        "You are registered already: just send the text of a notice here."
    )
