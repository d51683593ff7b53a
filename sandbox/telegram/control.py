"""The control API under ``/_sandbox/``: JSON over HTTP that lets a program act as people.

People write to bots privately or in groups, add and remove bots, upgrade groups to
supergroups and press inline buttons; each action queues the Update Telegram would send.
Tests then read back what the bots did (messages, callback answers, stats), switch flood
limits on, and inject faults. Mistakes answer 400 ``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .errors import ControlError
from .htmltext import command_entities
from .state import ACTIVE, BotState, Chat, World, private_chat

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ControlError(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be an integer") from None


def _float(value: Any, name: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return max(0.0, min(float(value), 600.0))
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be a number") from None


def _text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise ControlError("text must be a non-empty string")
    return text


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


class Control:
    def __init__(self, world: World) -> None:
        self.world = world

    # ------------------------------------------------------------------ people

    async def private_message(self, body: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        bot = world.control_bot(body.get("token"))
        user = world.remember(body.get("user"))
        text = _text(body)
        chat = bot.private[user["id"]] = private_chat(user)
        update_id, message_id = world.user_message(bot, chat, user, text, command_entities(text))
        return {"update_id": update_id, "message_id": message_id, "chat_id": user["id"]}

    async def groups(self, body: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        bot = world.control_bot(body.get("token"))
        by_user = world.remember(body.get("by_user"))
        chat_type = body.get("type") or "group"
        if chat_type not in ("group", "supergroup"):
            raise ControlError('type must be "group" or "supergroup"')
        title = str(body.get("title") or "Group")
        chat_id = body.get("chat_id")
        if chat_id is None:
            chat = Chat(world.new_chat_id(chat_type), chat_type, title, by_user)
            world.chats[chat.id] = chat
        else:
            chat_id = _int(chat_id, "chat_id")
            if chat_id >= 0:
                raise ControlError("a group's chat_id must be negative")
            chat = world.chats.get(chat_id) or Chat(chat_id, chat_type, title, by_user)
            world.chats[chat_id] = chat
        if chat.migrated_to is not None:
            raise ControlError(f"chat {chat.id} was migrated to {chat.migrated_to}")
        old = bot.groups.get(chat.id, "left")
        if old in ACTIVE:
            raise ControlError(f"the bot is already in chat {chat.id}")
        chat.members.add(by_user["id"])
        new = "administrator" if body.get("admin") else "member"
        update_id = world.member_update(bot, chat, by_user, old, new)
        return {"chat_id": chat.id, "update_id": update_id}

    def _active_group(self, bot: BotState, chat_id: Any) -> Chat:
        chat = self.world.group(_int(chat_id, "chat_id"))
        if chat.migrated_to is not None:
            raise ControlError(f"chat {chat.id} was migrated to {chat.migrated_to}")
        status = bot.groups.get(chat.id)
        if status not in ACTIVE:
            raise ControlError(f"the bot is not in chat {chat.id} (status {status})")
        return chat

    async def group_message(self, body: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        bot = world.control_bot(body.get("token"))
        chat = self._active_group(bot, body.get("chat_id"))
        user = world.remember(body.get("user"))
        text = _text(body)
        chat.members.add(user["id"])
        update_id, message_id = world.user_message(
            bot, chat.public, user, text, command_entities(text)
        )
        return {"update_id": update_id, "message_id": message_id, "chat_id": chat.id}

    async def remove_bot(self, body: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        bot = world.control_bot(body.get("token"))
        chat = self._active_group(bot, body.get("chat_id"))
        status = body.get("status") or "kicked"
        if status not in ("kicked", "left"):
            raise ControlError('status must be "kicked" or "left"')
        by = body.get("by_user")
        by_user = world.remember(by) if by is not None else (chat.creator or bot.user)
        old = bot.groups[chat.id]
        update_id = world.member_update(bot, chat, by_user, old, status)
        return {"update_id": update_id, "chat_id": chat.id}

    async def migrate(self, body: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        if body.get("token") is not None:
            world.control_bot(body["token"])
        by = body.get("by_user")
        new_id = world.migrate(
            _int(body.get("chat_id"), "chat_id"), world.remember(by) if by is not None else None
        )
        return {"new_chat_id": new_id}

    async def press(self, body: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        bot = world.control_bot(body.get("token"))
        chat_id = _int(body.get("chat_id"), "chat_id")
        message_id = _int(body.get("message_id"), "message_id")
        user = world.remember(body.get("user"))
        log = bot.logs.get(chat_id)
        msg = log.messages.get(message_id) if log is not None else None
        if msg is None:
            raise ControlError(f"the bot has no message {message_id} in chat {chat_id}")
        buttons = [
            b.get("callback_data")
            for row in (msg.reply_markup or {}).get("inline_keyboard", [])
            for b in row
            if isinstance(b, dict) and b.get("callback_data")
        ]
        data = body.get("data")
        if data is None:
            if not buttons:
                raise ControlError(f"message {message_id} has no callback buttons")
            data = buttons[0]
        elif data not in buttons:
            raise ControlError(f"message {message_id} has no button with data {data!r}")
        if chat_id > 0:
            chat = bot.private.get(chat_id) or private_chat(world.users.get(chat_id, user))
        else:
            chat = world.group(chat_id).public
            world.chats[chat_id].members.add(user["id"])
        cq_id = world.new_callback_id(bot.token)
        update_id = bot.push_update(
            "callback_query",
            {
                "id": cq_id,
                "from": user,
                "message": msg.telegram(bot, chat),
                "chat_instance": str(abs(chat_id) * 31 + bot.id),
                "data": data,
            },
        )
        return {"callback_query_id": cq_id, "update_id": update_id}

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

    async def messages(self, request: web.Request) -> web.Response:
        world = self.world
        q = request.query
        bot = world.control_bot(q.get("token"))
        chat_id = _int(q.get("chat_id"), "chat_id")
        log = bot.log(chat_id)
        if q.get("wait_count"):
            count = _int(q["wait_count"], "wait_count")
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
        return web.json_response(out)

    # ------------------------------------------------------------------ knobs

    async def limits(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.world.limits.configure(body)

    async def get_limits(self, request: web.Request) -> web.Response:
        return web.json_response(self.world.limits.describe())

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
        "limits",
        "reset",
    ):
        r.add_post(f"{p}/{name}", _post(getattr(c, name)))
    r.add_post(f"{p}/faults", _post(c.add_fault))
    r.add_delete(f"{p}/faults", _get(c.clear_faults))
    r.add_get(f"{p}/faults", _get(c.list_faults))
    r.add_get(f"{p}/limits", _get(c.get_limits))
    r.add_get(f"{p}/callback_answers/{{cq_id}}", _get(c.callback_answer))
    r.add_get(f"{p}/messages", _get(c.messages))
    r.add_get(f"{p}/stats", _get(c.stats))
    r.add_get(f"{p}/health", _get(c.health))
