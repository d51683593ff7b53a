"""aiogram's answer models, built once and kept for the life of the process.

aiogram parses every Bot API answer as `Response[<the method's result type>]`, a pydantic
generic model. pydantic caches such models in a `WeakValueDictionary`, and they sit in
reference cycles, so every full garbage collection drops the unused ones and the next
answer builds its model again: about 30 ms of CPU each time. In an acknowledgement storm
of 1,000 presses that happened 121 times, 3.6 s of the bot's CPU (a quarter of it; see
README, "Acknowledgement storm"). Holding a reference here keeps them built.
"""

from __future__ import annotations

from typing import Any

from aiogram import methods

# The methods Loa calls often: the bot's answers and edits, polling, the engine's sends.
_HOT = (
    methods.AnswerCallbackQuery,
    methods.DeleteMessage,
    methods.DeleteWebhook,
    methods.EditMessageCaption,
    methods.EditMessageReplyMarkup,
    methods.EditMessageText,
    methods.GetMe,
    methods.GetUpdates,
    methods.GetWebhookInfo,
    methods.SendDocument,
    methods.SendMediaGroup,
    methods.SendMessage,
    methods.SendPhoto,
    methods.SendVoice,
    methods.SetWebhook,
)

KEPT: tuple[Any, ...] = tuple(methods.Response[method.__returning__] for method in _HOT)  # type: ignore[name-defined]
