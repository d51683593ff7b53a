"""One error router: known domain errors get a plain answer; nothing else leaks to users."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

from broadcasts.errors import CodeRejected, Conflict, InvalidInput, LoaError, NotFound

log = logging.getLogger(__name__)


def explain(error: Exception) -> str:
    if isinstance(error, CodeRejected):
        return _(
            "This code cannot be used (it is wrong, already used or expired). "
            "Please ask the ward for a new code."
        )
    if isinstance(error, InvalidInput):
        return _("That did not work: the information is not valid. Please check it and try again.")
    if isinstance(error, Conflict | NotFound):
        return _("This notice can no longer be changed. Send a new text to start again.")
    return _("Sorry, something went wrong. Please try again in a moment.")


async def on_error(event: ErrorEvent) -> None:
    error = event.exception
    if not isinstance(error, LoaError):
        log.error("unhandled error in update %s", event.update.update_id, exc_info=error)
    text = explain(error)
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


def make_router() -> Router:
    router = Router(name=__name__)
    router.error.register(on_error)
    return router
