"""/baocao: a signed link to the ward's dashboard, valid for a day (an official only)."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.outbox import Screen
from bot.services import Services
from bot.texts import esc
from broadcasts.dashboard_access import LINK_SECONDS, official_link
from broadcasts.models import Official


async def report_link(message: Message, official: Official | None, services: Services) -> None:
    if official is None:
        text = esc(_("Only registered ward officials can see notices."))
    elif (link := official_link(settings=services.settings, official=official)) is None:
        text = esc(
            _(
                "The dashboard is not set up yet. Please ask the person in charge of Loa at "
                "the ward to set it up."
            )
        )
    else:
        text = _(
            '📊 <a href="{link}">Open the ward\'s dashboard</a>: every notice, who has '
            "received it, and who has not. The link works for {hours} hours; please do not "
            "share it."
        ).format(link=html.escape(link, quote=True), hours=LINK_SECONDS // 3600)
    await services.outbox.send(message.chat.id, Screen(text))


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(report_link, Command("baocao", "report"))
    return router
