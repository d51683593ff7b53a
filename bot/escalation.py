"""Telling people about a notice's deadline (`broadcasts.reminders.Escalation`): each
area's contact person whose groups are silent, in a private chat, then the official, with
the summary and whom Loa could tell.

Telegram lets a bot write to a person only after that person has started a chat with it
(else 403 "bot can't initiate conversation with a user"): such a contact is not an
error, it is noted in the audit log and named to the official, who can ask them to
press Start. Everything goes through the bot's outbox, inside Telegram's limits.
"""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bot.ack_texts import contact_text, contacts_line, escalation_summary
from bot.keyboards import remind_keyboard
from bot.outbox import Screen
from bot.services import Services
from broadcasts.db import session_scope
from broadcasts.escalation import Escalation, note_contact_told
from broadcasts.models import Official
from broadcasts.reminders import GroupState
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES

log = logging.getLogger(__name__)


async def tell_escalation(services: Services, escalation: Escalation) -> None:
    told, unreachable = await _tell_contacts(services, escalation)
    async with session_scope(services.sessionmaker) as session:
        official = (
            await session.get(Official, escalation.official_id) if escalation.official_id else None
        )
    if official is None or not official.active or official.transport != "telegram":
        return
    if not official.user_ref.lstrip("-").isdigit():
        return
    with services.i18n.context(), services.i18n.use_locale(official.locale):
        footer = contacts_line(told, unreachable)
        room = TELEGRAM_CAPABILITIES.max_text - len(footer) - 16
        text = escalation_summary(
            notice_id=escalation.notice_id,
            title=escalation.title,
            acks=escalation.acks,
            reminded=escalation.reminded,
            room=room,
            timezone=services.settings.timezone,
        )
        text = "\n".join([text, footer]) if footer else text
        silent = escalation.acks.count(GroupState.silent)
        markup = remind_keyboard(
            escalation.notice_id, remind=bool(silent) and not escalation.reminded
        )
    try:
        await services.outbox.send(int(official.user_ref), Screen(text, markup))
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.warning("official %s not told of notice %s: %s", official.id, escalation.notice_id, exc)


async def _tell_contacts(services: Services, escalation: Escalation) -> tuple[list[str], list[str]]:
    told: list[str] = []
    unreachable: list[str] = []
    for area in escalation.contacts:
        ref = area.contact_ref or ""
        who = area.contact_name or area.area_name
        reason = ""
        if not ref.isdigit():
            reason = "the contact has no Telegram user id"
        else:
            with services.i18n.context(), services.i18n.use_locale(services.i18n.default_locale):
                text = contact_text(
                    notice_id=escalation.notice_id, title=escalation.title, area=area
                )
            try:
                await services.outbox.send(int(ref), Screen(text))
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                reason = exc.message  # e.g. never started the bot: Telegram's 403
        async with session_scope(services.sessionmaker) as session:
            await note_contact_told(
                session=session,
                notice_id=escalation.notice_id,
                ward_id=escalation.ward_id,
                area_code=area.area_code,
                contact_ref=ref,
                reached=not reason,
                reason=reason,
            )
        (unreachable if reason else told).append(
            f"{who} ({area.area_name})" if who != area.area_name else who
        )
    return told, unreachable
