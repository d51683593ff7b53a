"""The control API under ``/_sandbox/``: JSON over HTTP that lets a program act as people.

Acting (``POST``, JSON body; see :mod:`.people` for each one's fields and answer):
``private_message``, ``private_media`` (photos, documents, voice notes, albums:
:func:`.media.private_media`), ``groups`` (add the bot to a new or known group, optionally a forum),
``group_message`` (optionally in a topic or as a reply; privacy mode applies), ``remove_bot``,
``migrate``, ``press`` (``forge`` to send callback data no button has), ``forum`` (topics on
or off), ``topics`` (create one), ``close_topic`` (a topic or General; ``closed`` false
reopens), ``restrict_bot`` (the bot's own rights in a group), ``permissions`` (a group's
default rights: read-only groups), ``promote`` (a member made administrator), ``privacy``
(@BotFather's /setprivacy).

Reading back (``GET``): ``messages?token&chat_id[&wait_count&wait]`` (the bot's messages in a
chat, with their topic and edits), ``callback_answers/{id}?wait``, ``callback_times?token``
(each callback query's press and answer times), ``stats?token`` (sent, edited, 429s in total
and per chat in ``rejected_429_per_chat``, errors by code, per-chat counts, duplicates),
``limits``, ``settings``, ``faults``, ``health``.

Time: ``POST age`` ({token, chat_id, seconds, message_id?}) makes the bot's messages in a
chat (or one of them) that many seconds older, so a test reaches Telegram's 48-hour delete
window without waiting for it.

Knobs: ``POST limits`` (Telegram's flood limits, on by default; looser values should come
with a ``why``), ``POST settings`` ({"callback_timeout": seconds}), ``POST faults`` /
``DELETE faults`` (:mod:`.faults`), ``POST reset`` (forget everything but the settings).
Mistakes answer 400 ``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import media
from .errors import ControlError
from .people import People, as_int
from .state import World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _float(value: Any, name: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return max(0.0, min(float(value), 600.0))
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be a number") from None


async def _wait(world: World, signal: Any, done: Callable[[], bool], seconds: float) -> None:
    """Long-poll helper: return when ``done()`` or after ``seconds``, reset or shutdown."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    generation = world.generation
    while not done() and not world.closing and world.generation == generation:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        await signal.wait(remaining)


class Control(People):
    """Every control endpoint: the actions of :class:`.people.People`, reading back, knobs."""

    async def private_media(self, body: dict[str, Any]) -> dict[str, Any]:
        return await media.private_media(self.world, body)

    # ------------------------------------------------------------------ reading back

    async def callback_answer(self, request: web.Request) -> web.Response:
        world = self.world
        record = world.callbacks.get(request.match_info["cq_id"])
        if record is None:
            return web.json_response({"error": "unknown callback query"}, status=404)
        wait = _float(request.query.get("wait"), "wait", 0.0)
        await _wait(world, world.callback_signal, lambda: record.answer is not None, wait)
        if record.answer is None:
            return web.json_response({"error": "not answered"}, status=404)
        return web.json_response(record.answer)

    async def callback_times(self, request: web.Request) -> web.Response:
        """Every callback query of a bot: {id: [pressed, answered or null]} on the sandbox's
        clock (seconds), for measuring press -> answerCallbackQuery latency."""
        bot = self.world.control_bot(request.query.get("token"))
        return web.json_response(
            {
                cq_id: [record.created, record.answered]
                for cq_id, record in self.world.callbacks.items()
                if record.token == bot.token
            }
        )

    async def messages(self, request: web.Request) -> web.Response:
        world = self.world
        q = request.query
        bot = world.control_bot(q.get("token"))
        chat_id = as_int(q.get("chat_id"), "chat_id")
        log = bot.log(chat_id)
        if q.get("wait_count"):
            count = as_int(q["wait_count"], "wait_count")
            wait = _float(q.get("wait"), "wait", 5.0)
            await _wait(world, log.signal, lambda: len(log.messages) >= count, wait)
        return web.json_response([m.control() for m in log.messages.values()])

    async def stats(self, request: web.Request) -> web.Response:
        token = request.query.get("token")
        if token:
            bot = self.world.bots.get(token)
            bots = [bot] if bot is not None else []
        else:
            bots = list(self.world.bots.values())
        out: dict[str, Any] = {
            "sent": 0,
            "edited": 0,
            "rejected_429": 0,
            "errors_by_code": {},
            "per_chat": {},
            "rejected_429_per_chat": {},
            "duplicates": 0,
        }
        for bot in bots:
            s = bot.stats
            out["sent"] += s.sent
            out["edited"] += s.edited
            out["rejected_429"] += s.rejected_429
            out["duplicates"] += s.duplicates
            for code, n in s.errors_by_code.items():
                out["errors_by_code"][str(code)] = out["errors_by_code"].get(str(code), 0) + n
            for chat_id, n in s.per_chat.items():
                out["per_chat"][str(chat_id)] = out["per_chat"].get(str(chat_id), 0) + n
            limited = out["rejected_429_per_chat"]
            for chat_id, n in s.per_chat_429.items():
                limited[str(chat_id)] = limited.get(str(chat_id), 0) + n
        return web.json_response(out)

    # ------------------------------------------------------------------ time

    async def age(self, body: dict[str, Any]) -> dict[str, Any]:
        """{token, chat_id, seconds, message_id?}: move message dates back by `seconds`."""
        bot = self.world.control_bot(body.get("token"))
        chat_id = as_int(body.get("chat_id"), "chat_id")
        seconds = as_int(body.get("seconds"), "seconds")
        if seconds < 0:
            raise ControlError("seconds must not be negative")
        messages = bot.log(chat_id).messages
        wanted = body.get("message_id")
        if wanted is not None:
            one = messages.get(as_int(wanted, "message_id"))
            if one is None:
                raise ControlError("no such message of the bot in this chat", status=404)
            chosen = [one]
        else:
            chosen = list(messages.values())
        for msg in chosen:
            msg.date -= seconds
        return {"aged": [m.message_id for m in chosen]}

    # ------------------------------------------------------------------ knobs

    async def limits(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.world.limits.configure(body)

    async def get_limits(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.limits.describe())

    async def settings(self, body: dict[str, Any]) -> dict[str, Any]:
        """{callback_timeout?}: seconds a callback query may be answered after the press."""
        if "callback_timeout" in body:
            self.world.callback_timeout = _float(body["callback_timeout"], "callback_timeout", 15)
        return {"callback_timeout": self.world.callback_timeout}

    async def get_settings(self, request: web.Request) -> web.Response:
        return web.json_response({"callback_timeout": self.world.callback_timeout})

    async def add_fault(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("token") is not None:
            self.world.control_bot(body["token"])
        return self.world.faults.add(body).describe()

    async def clear_faults(self, request: web.Request) -> web.Response:
        return web.json_response({"cleared": self.world.faults.clear()})

    async def list_faults(self, request: web.Request) -> web.Response:
        return web.json_response([f.describe() for f in self.world.faults.faults])

    async def reset(self, body: dict[str, Any]) -> dict[str, Any]:
        self.world.reset()
        return {"ok": True}

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})


def _post(fn: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        body: Any = {}
        if request.body_exists:
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "body must be JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        try:
            return web.json_response(await fn(body))
        except ControlError as e:
            return web.json_response({"error": e.message}, status=e.status)

    return handler


def _get(fn: Handler) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except ControlError as e:
            return web.json_response({"error": e.message}, status=e.status)

    return handler


def setup(app: web.Application, world: World) -> None:
    c = Control(world)
    r = app.router
    p = "/_sandbox"
    for name in (
        "private_message",
        "groups",
        "group_message",
        "remove_bot",
        "migrate",
        "press",
        "forum",
        "topics",
        "close_topic",
        "restrict_bot",
        "permissions",
        "promote",
        "privacy",
        "age",
        "limits",
        "settings",
        "reset",
    ):
        r.add_post(f"{p}/{name}", _post(getattr(c, name)))
    r.add_post(f"{p}/private_media", _post(c.private_media))
    r.add_post(f"{p}/faults", _post(c.add_fault))
    r.add_delete(f"{p}/faults", _get(c.clear_faults))
    r.add_get(f"{p}/faults", _get(c.list_faults))
    r.add_get(f"{p}/limits", _get(c.get_limits))
    r.add_get(f"{p}/settings", _get(c.get_settings))
    r.add_get(f"{p}/callback_answers/{{cq_id}}", _get(c.callback_answer))
    r.add_get(f"{p}/callback_times", _get(c.callback_times))
    r.add_get(f"{p}/messages", _get(c.messages))
    r.add_get(f"{p}/stats", _get(c.stats))
    r.add_get(f"{p}/health", _get(c.health))
