"""Why a delivery failed, as a kind a person can be told about.

The engine stores a failed delivery's reason as the transport said it ("forbidden: bot was
kicked from the group chat", "gave up after 5 attempts: server error: Bad Gateway",
"channel inactive: bot removed from the group by …"). That text is for logs and the API;
what an official reads is one plain sentence per `FailureKind` (see `bot.texts`), chosen
here from the stored reason.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    removed = "removed"  # the bot was removed (kicked) from the group, or is not in it
    blocked = "blocked"  # a person's private chat blocked the bot
    no_rights = "no_rights"  # the bot may not send messages in the group
    chat_gone = "chat_gone"  # the chat no longer exists (deleted, deactivated, unknown)
    chat_moved = "chat_moved"  # the group became a new (super)group
    paused = "paused"  # the ward stopped sending to this chat
    rejected = "rejected"  # Telegram refused this message (too long, bad formatting)
    empty = "empty"  # there was nothing to send
    setup = "setup"  # the bot account or its transport is not set up right
    no_answer = "no_answer"  # Telegram could not be reached in time
    provider_error = "provider_error"  # Telegram answered with an error, again and again
    unknown = "unknown"


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    attempts: int | None = None  # how many times it was tried, when the engine gave up


_GAVE_UP = re.compile(r"^gave up after (\d+) attempts?:\s*", re.IGNORECASE)
_INACTIVE = re.compile(r"^channel inactive:\s*", re.IGNORECASE)

# Checked in this order, on the lower-cased reason: the first kind with a matching phrase.
_PHRASES: tuple[tuple[FailureKind, tuple[str, ...]], ...] = (
    (FailureKind.blocked, ("blocked by the user", "user is deactivated")),
    (
        FailureKind.removed,
        ("kicked", "bot removed", "removed from the group", "not a member", "bot was removed"),
    ),
    (
        FailureKind.no_rights,
        (
            "rights",
            "chat_write_forbidden",
            "may not send",
            "not allowed to send",
            "can't send messages",
        ),
    ),
    (FailureKind.chat_moved, ("moved to chat", "migrat", "upgraded to a supergroup")),
    (
        FailureKind.chat_gone,
        ("chat not found", "deactivated", "deleted", "peer_id_invalid", "channel not found"),
    ),
    (FailureKind.empty, ("nothing to send",)),
    (
        FailureKind.setup,
        ("unauthorized", "invalid bot token", "transport for bot account", "bot account"),
    ),
    (FailureKind.no_answer, ("timeout", "timed out", "network error", "noanswer", "connection")),
    (
        FailureKind.provider_error,
        ("server error", "telegram error", "temporaryfailure", "rate limited", "too many"),
    ),
    (FailureKind.rejected, ("bad request", "messagerejected", "too long", "parse entities")),
)


def classify(reason: str) -> Failure:
    """The kind of a stored failure reason, with the attempts made when the engine gave up."""
    text = reason.strip()
    attempts: int | None = None
    if m := _GAVE_UP.match(text):
        attempts, text = int(m.group(1)), text[m.end() :]
    if m := _INACTIVE.match(text):
        inner = classify(text[m.end() :]).kind
        return Failure(FailureKind.paused if inner is FailureKind.unknown else inner, attempts)
    lowered = text.lower()
    for kind, phrases in _PHRASES:
        if any(p in lowered for p in phrases):
            return Failure(kind, attempts)
    return Failure(FailureKind.unknown, attempts)


def failure_words(failure: Failure, t: gettext.NullTranslations) -> str:
    """One plain sentence for a person: what happened, what to do (from `t`'s catalog)."""
    kind, attempts = failure.kind, failure.attempts
    if kind is FailureKind.provider_error and attempts:
        return t.ngettext(
            "Telegram had an error; Loa tried {count} time without success.",
            "Telegram had an error; Loa tried {count} times without success.",
            attempts,
        ).format(count=attempts)
    if kind is FailureKind.no_answer and attempts:
        return t.ngettext(
            "Telegram could not be reached; Loa tried {count} time without success.",
            "Telegram could not be reached; Loa tried {count} times without success.",
            attempts,
        ).format(count=attempts)
    texts = {
        FailureKind.removed: t.gettext(
            "Loa was removed from the group – ask the group leader to add Loa back and send "
            "the registration code again."
        ),
        FailureKind.blocked: t.gettext("This person has blocked Loa – ask them to unblock it."),
        FailureKind.no_rights: t.gettext(
            "Loa may not send messages in the group – ask the group leader to allow Loa to "
            "send messages."
        ),
        FailureKind.chat_gone: t.gettext(
            "The group no longer exists on Telegram (it may have been deleted)."
        ),
        FailureKind.chat_moved: t.gettext(
            "The group moved to a new group on Telegram – ask the group leader to register "
            "the new group."
        ),
        FailureKind.paused: t.gettext("The ward has stopped sending notices to this group."),
        FailureKind.rejected: t.gettext(
            "Telegram did not accept this text (it may be too long). Please shorten it and "
            "send it again."
        ),
        FailureKind.empty: t.gettext("The notice had no text to send."),
        FailureKind.setup: t.gettext(
            "Loa's Telegram account is not set up right – ask the person in charge of Loa "
            "at the ward to check it."
        ),
        FailureKind.no_answer: t.gettext("Telegram could not be reached."),
        FailureKind.provider_error: t.gettext("Telegram had an error."),
    }
    return texts.get(kind, t.gettext("Loa could not send it to this group."))
