"""One error router: known errors get a plain answer, shown once; nothing leaks to users.

A press is answered at most once (Telegram refuses a second answer): an error on a press
that was not answered yet becomes an alert on it; otherwise, and for messages, the
answer is a message in the chat, through the outbox like everything else.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, ErrorEvent
from aiogram.utils.i18n import gettext as _

from bot.press import Press
from bot.services import Services
from bot.views import plain
from broadcasts.errors import (
    CodeRejected,
    Conflict,
    InvalidInput,
    LoaError,
    NoApprover,
    NotAllowed,
    NotFound,
    NoticeTooComplex,
    NoticeTooLong,
    TooManyAttempts,
)
from broadcasts.models import NoticeStatus, utcnow

log = logging.getLogger(__name__)


def _conflict(error: Conflict) -> str:
    status, notice_id = error.detail.get("status"), error.detail.get("notice_id")
    if status == NoticeStatus.cancelled and notice_id:
        return _("Notice #{id} was cancelled earlier.").format(id=notice_id)
    if status in (NoticeStatus.dispatching, NoticeStatus.done) and notice_id:
        return _("Notice #{id} has already gone out and can no longer be changed.").format(
            id=notice_id
        )
    return _("This notice can no longer be changed. Send /notices to see where it stands.")


def _code_rejected(reason: str) -> str:
    if reason == "used":
        return _(
            "This code has already been used (each code works once). If you registered "
            "with it, there is nothing more to do; if not, please ask the ward for a new code."
        )
    if reason == "expired":
        return _("This code has expired. Please ask the ward for a new code.")
    return _(
        "This code is not right. Please check it (it looks like AB12CD34) or ask the "
        "ward for a new code."
    )


def _minutes_left(until: object) -> int:
    if not isinstance(until, datetime):
        return 15
    return max(1, math.ceil((until - utcnow()).total_seconds() / 60))


def explain(error: Exception) -> str:
    if isinstance(error, TooManyAttempts):
        return _(
            "Too many wrong codes have been typed. Please wait {minutes} minutes, then "
            "send the code again."
        ).format(minutes=_minutes_left(error.detail.get("until")))
    if isinstance(error, CodeRejected) and error.detail.get("reason") == "other_ward":
        return _(
            "This code belongs to another ward, so this ward's Loa cannot use it. "
            "Please ask your own ward for a code."
        )
    if isinstance(error, CodeRejected):
        return _code_rejected(str(error.detail.get("reason", "")))
    if isinstance(error, NoticeTooLong):
        return _(
            "This notice is too long: Loa reads at most {limit} characters, and it has "
            "{length}. Please shorten it (or split it in two) and send it again."
        ).format(limit=error.detail.get("limit", "?"), length=error.detail.get("length", "?"))
    if isinstance(error, NoticeTooComplex):
        return _(
            "Loa could not prepare this notice in time. Please try again, or send a shorter text."
        )
    if isinstance(error, NoApprover):
        return _(
            "This ward's notices must be approved by a ward leader before they go out, but "
            "no leader has been given the approver role in Loa yet. Please ask the person in "
            "charge of Loa at the ward to assign one, then press «✅ Send» again."
        )
    if isinstance(error, NotAllowed) and error.detail.get("reason") == "not_approver":
        return _("Only the ward's leaders who approve notices can do this.")
    if isinstance(error, NotAllowed) and error.detail.get("reason") == "not_writer":
        return _("Only the official who wrote this notice can edit it.")
    if isinstance(error, InvalidInput) and error.detail.get("reason") == "no_reason":
        return _("Please type a short reason, so the writer knows what to do.")
    if isinstance(error, InvalidInput) and error.detail.get("reason") == "time_passed":
        return _("The chosen time has passed. Press «🕑 Change the time» to choose another.")
    if isinstance(error, InvalidInput) and ({"area_code", "code"} & error.detail.keys()):
        return _("This code is not for this ward's Loa. Please ask the ward for the right code.")
    if isinstance(error, InvalidInput):
        return _("That did not work: the information is not valid. Please check it and try again.")
    if isinstance(error, Conflict):
        return _conflict(error)
    if isinstance(error, NotFound):
        return _("This notice does not exist (any more). Send /notices to see yours.")
    if isinstance(error, TelegramAPIError):
        return _(
            "Telegram did not take Loa's next message. Send any text to see the step "
            "again, or /cancel to drop the notice."
        )
    return _("Sorry, something went wrong. Please try again in a moment.")


async def on_error(
    event: ErrorEvent,
    services: Services,
    press: Press | None = None,
    event_chat: Chat | None = None,
) -> None:
    await tell_error(
        event.exception,
        update_id=event.update.update_id,
        services=services,
        press=press,
        chat_id=event_chat.id if event_chat is not None else None,
    )


async def tell_error(
    error: Exception,
    *,
    update_id: int,
    services: Services,
    press: Press | None,
    chat_id: int | None,
) -> None:
    """The error as an alert on the press if it can still be answered, else as a message
    in the chat (also for the Đã nhận presses taken ahead of aiogram, `bot.ack_intake`)."""
    if not isinstance(error, LoaError):
        log.error("error in update %s", update_id, exc_info=error)
    text = explain(error)
    if press is not None and await press.answer(text, alert=True):
        return
    if chat_id is None:
        return
    try:
        await services.outbox.send(chat_id, plain(text))
    except TelegramAPIError as exc:  # the chat takes nothing from us now: nothing more to do
        log.warning("error reply to chat %s not sent: %s", chat_id, exc)


def make_router() -> Router:
    router = Router(name=__name__)
    router.error.register(on_error)
    return router
