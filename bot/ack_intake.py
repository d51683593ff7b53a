"""Đã nhận presses taken ahead of aiogram's dispatch: the acknowledgement storm's hot path.

When a whole city presses at once, aiogram's dispatch of each update (its outer
middlewares, FSM context and event isolation, user context, the router tree and its
filters) cost more CPU than counting the press (README, "Acknowledgement storm"). A press
of the Đã nhận button needs none of it: no session, no official, no state, the group's
language. `AckIntake` recognises one by its callback data (`telegram_wire`) before
dispatch, from the raw JSON of a webhook post (no aiogram `Update` is built) or from the
`Update` that polling parsed, and takes it as the router's handler would
(`bot.handlers.acknowledge.take_press`): recorded with its batch, answered after the
commit on the lean path, the live messages refreshed. Errors go where the error router
sends them (`tell_error`). Anything else, or a press whose fields are not what Telegram
sends, goes through aiogram unchanged (`IntakeDispatcher.feed_update`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.handlers.acknowledge import take_press
from bot.handlers.errors import tell_error
from bot.press import Press
from bot.receiving import UpdateMonitor
from bot.services import Services
from broadcasts.acks import PressIn
from broadcasts.transports.telegram_wire import parse_ack_data


@dataclass(frozen=True, slots=True)
class AckPress:
    """A press of Đã nhận as Telegram sent it, the bot's account not yet filled in."""

    update_id: int
    query_id: str
    delivery_id: int
    chat_id: int | None  # None: the press came on an inline message (it cannot match)
    message_id: int | None
    person_id: int
    first_name: str
    last_name: str | None

    @property
    def full_name(self) -> str:  # as aiogram's `User.full_name`
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


def _int(value: Any) -> int | None:
    return value if type(value) is int else None  # not a bool, not a float


def read_press(update: Mapping[str, Any]) -> AckPress | None:
    """The Đã nhận press in a raw update (a webhook's JSON); None for anything else."""
    query = update.get("callback_query")
    if not isinstance(query, dict):
        return None
    data = query.get("data")
    delivery_id = parse_ack_data(data) if isinstance(data, str) else None
    user = query.get("from")
    if delivery_id is None or not isinstance(user, dict):
        return None
    update_id, person_id = _int(update.get("update_id")), _int(user.get("id"))
    query_id, first_name = query.get("id"), user.get("first_name")
    last_name = user.get("last_name")
    if (
        update_id is None
        or person_id is None
        or not isinstance(query_id, str)
        or not isinstance(first_name, str)
        or not (last_name is None or isinstance(last_name, str))
    ):
        return None
    chat_id = message_id = None
    message = query.get("message")
    if message is not None:
        chat = message.get("chat") if isinstance(message, dict) else None
        chat_id = _int(chat.get("id")) if isinstance(chat, dict) else None
        message_id = _int(message.get("message_id")) if isinstance(message, dict) else None
        if chat_id is None or message_id is None:
            return None
    return AckPress(
        update_id, query_id, delivery_id, chat_id, message_id, person_id, first_name, last_name
    )


def press_of(update: Update) -> AckPress | None:
    """The Đã nhận press in an update aiogram parsed (polling); None for anything else."""
    query = update.callback_query
    delivery_id = parse_ack_data(query.data) if query is not None and query.data else None
    if query is None or delivery_id is None:
        return None
    message = query.message
    return AckPress(
        update.update_id,
        query.id,
        delivery_id,
        message.chat.id if message else None,
        message.message_id if message else None,
        query.from_user.id,
        query.from_user.first_name,
        query.from_user.last_name,
    )


class AckIntake:
    """Takes the Đã nhận presses of the bots a dispatcher serves (by Telegram's bot id)."""

    def __init__(
        self, services: Mapping[int, Services], *, monitor: UpdateMonitor | None = None
    ) -> None:
        self._services = services
        self._monitor = monitor

    def serves(self, bot: Bot) -> bool:
        return bot.id in self._services

    async def take(self, bot: Bot, pressed: AckPress) -> None:
        """Count the press and answer it (or tell the error), as the router would."""
        if self._monitor is not None:
            self._monitor.saw_update()
        services = self._services[bot.id]
        press = Press(None, lean=(services.answers, pressed.query_id))
        i18n = services.i18n
        with i18n.context(), i18n.use_locale(i18n.default_locale):  # the group's language
            try:
                await take_press(
                    services,
                    press,
                    PressIn(
                        delivery_id=pressed.delivery_id,
                        bot_id=services.bot_account_id,
                        chat_ref=str(pressed.chat_id) if pressed.chat_id is not None else "",
                        message_ref=(
                            str(pressed.message_id) if pressed.message_id is not None else ""
                        ),
                        person_ref=str(pressed.person_id),
                        person_name=pressed.full_name,
                    ),
                    first_name=pressed.first_name,
                )
            except Exception as exc:  # the error router's answer: an alert, else a message
                await tell_error(
                    exc,
                    update_id=pressed.update_id,
                    services=services,
                    press=press,
                    chat_id=pressed.chat_id,
                )


class IntakeDispatcher(Dispatcher):
    """aiogram's dispatcher, with the Đã nhận presses taken before its middleware chain."""

    def __init__(self, *, intake: AckIntake | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.intake = intake

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        intake = self.intake
        if intake is not None and intake.serves(bot):
            pressed = press_of(update)
            if pressed is not None:
                await intake.take(bot, pressed)
                return None
        return await super().feed_update(bot, update, **kwargs)
