"""The Zalo sandbox's control side under ``/_sandbox/``, and ``ZaloControl``, its client.

Acting (``POST``, JSON): ``bots`` {token, account_name, can_join_groups} (a bot made at
Zalo Bot Creator), ``private_message`` {token, from {id, display_name}, text | photo,
quote}, ``groups`` {token, title} (refused without can_join_groups; the leader accepts at
once), ``group_message`` {token, chat_id, from, text, quote} (seen by the bot only with an
@mention or a quote-reply of its own message), ``block`` {token, chat_id}, ``quota``
{token, remaining (null: no limit)}, ``faults`` {token, status, count}, ``duplicates``
{token, count}.

Reading back (``GET``): ``messages?token&chat_id`` (what the chat received from the bot),
``stats?token`` (sent, rejected_429, errors, pending events, webhook POST statuses).
Mistakes answer 400 ``{"error": "..."}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from .state import Chat, ControlError, ZaloWorld, new_id

Handler = Callable[[ZaloWorld, dict[str, Any]], Any]


def _bots(world: ZaloWorld, body: dict[str, Any]) -> Any:
    token = body.get("token")
    if not isinstance(token, str):
        raise ControlError("token is required")
    name = str(body.get("account_name") or f"bot.{token.split(':')[0]}")
    bot = world.add_bot(token, name, bool(body.get("can_join_groups", False)))
    return bot.info()


def _person(body: dict[str, Any]) -> dict[str, Any]:
    person = body.get("from")
    if not isinstance(person, dict):
        raise ControlError("from {id, display_name} is required")
    return person


def _private_message(world: ZaloWorld, body: dict[str, Any]) -> Any:
    bot = world.control_bot(body.get("token"))
    person = _person(body)
    chat_id = str(person.get("id", ""))
    chat = bot.chats.get(chat_id)
    if chat is None:  # in a private chat, Zalo's chat id is the person's id
        chat = bot.chats[chat_id] = Chat(chat_id, "PRIVATE", str(person.get("display_name", "")))
    event = world.incoming(
        bot, chat, person, text=body.get("text"), photo=body.get("photo"), quote=body.get("quote")
    )
    return {"chat_id": chat_id, "seen": event is not None, "event": event}


def _groups(world: ZaloWorld, body: dict[str, Any]) -> Any:
    bot = world.control_bot(body.get("token"))
    if not bot.can_join_groups:
        raise ControlError("this bot cannot join groups (can_join_groups is false)")
    chat = Chat(new_id(), "GROUP", str(body.get("title", "")))
    bot.chats[chat.id] = chat
    return {"chat_id": chat.id}


def _group_message(world: ZaloWorld, body: dict[str, Any]) -> Any:
    bot = world.control_bot(body.get("token"))
    chat = bot.chats.get(str(body.get("chat_id")))
    if chat is None or chat.chat_type != "GROUP":
        raise ControlError("unknown group (make it with POST /_sandbox/groups)")
    event = world.incoming(bot, chat, _person(body), text=body.get("text"), quote=body.get("quote"))
    return {"seen": event is not None, "event": event}


def _block(world: ZaloWorld, body: dict[str, Any]) -> Any:
    bot = world.control_bot(body.get("token"))
    chat = bot.chats.get(str(body.get("chat_id")))
    if chat is None:
        raise ControlError("unknown chat")
    chat.blocked = True
    return {}


def _quota(world: ZaloWorld, body: dict[str, Any]) -> Any:
    bot = world.control_bot(body.get("token"))
    remaining = body.get("remaining")
    if remaining is not None and (not isinstance(remaining, int) or remaining < 0):
        raise ControlError("remaining must be a count, or null for no limit")
    bot.quota = remaining
    return {}


def _faults(world: ZaloWorld, body: dict[str, Any]) -> Any:
    bot = world.control_bot(body.get("token"))
    status, count = body.get("status"), body.get("count", 1)
    if not isinstance(status, int) or not 400 <= status <= 599 or not isinstance(count, int):
        raise ControlError("status must be an HTTP error code and count a number")
    bot.faults.extend([status] * count)
    return {}


def _duplicates(world: ZaloWorld, body: dict[str, Any]) -> Any:
    bot = world.control_bot(body.get("token"))
    count = body.get("count")
    if not isinstance(count, int) or not 0 <= count <= 10:
        raise ControlError("count must be 0 to 10")
    bot.duplicates = count
    return {}


ACTIONS: dict[str, Handler] = {
    "bots": _bots,
    "private_message": _private_message,
    "groups": _groups,
    "group_message": _group_message,
    "block": _block,
    "quota": _quota,
    "faults": _faults,
    "duplicates": _duplicates,
}


def setup(app: web.Application, world: ZaloWorld) -> None:
    def action(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def route(request: web.Request) -> web.Response:
            try:
                body = await request.json()
                if not isinstance(body, dict):
                    raise ControlError("the body must be a JSON object")
                return web.json_response(handler(world, body))
            except ControlError as exc:
                return web.json_response({"error": str(exc)}, status=400)
            except ValueError:
                return web.json_response({"error": "the body must be JSON"}, status=400)

        return route

    async def messages(request: web.Request) -> web.Response:
        try:
            bot = world.control_bot(request.query.get("token"))
        except ControlError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        chat = bot.chats.get(request.query.get("chat_id", ""))
        return web.json_response(chat.received if chat else [])

    async def stats(request: web.Request) -> web.Response:
        try:
            bot = world.control_bot(request.query.get("token"))
        except ControlError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(
            {
                "sent": bot.sent,
                "rejected_429": bot.rejected_429,
                "errors": bot.errors,
                "pending_events": len(bot.events),
                "webhook_posts": bot.webhook_posts,
                "webhook_url": bot.webhook_url,
            }
        )

    for name, handler in ACTIONS.items():
        app.router.add_post(f"/_sandbox/{name}", action(handler))
    app.router.add_get("/_sandbox/messages", messages)
    app.router.add_get("/_sandbox/stats", stats)


class ZaloControl:
    """Acts as Zalo users against a running sandbox (``async with ZaloControl(url)``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ZaloControl:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def _post(self, name: str, **body: Any) -> Any:
        assert self._session is not None, "use ZaloControl as an async context manager"
        async with self._session.post(f"{self.url}/_sandbox/{name}", json=body) as response:
            data = await response.json()
            if response.status != 200:
                raise ControlError(data.get("error", response.status))
            return data

    async def _get(self, name: str, **query: str) -> Any:
        assert self._session is not None, "use ZaloControl as an async context manager"
        async with self._session.get(f"{self.url}/_sandbox/{name}", params=query) as response:
            return await response.json()

    async def add_bot(self, token: str, name: str, *, can_join_groups: bool = False) -> Any:
        return await self._post(
            "bots", token=token, account_name=name, can_join_groups=can_join_groups
        )

    async def say(
        self, token: str, person: dict[str, str], text: str, *, quote: str | None = None
    ) -> str:
        """A private message from `person`; returns the chat id (the person's id)."""
        data = await self._post(
            "private_message", token=token, text=text, quote=quote, **{"from": person}
        )
        return str(data["chat_id"])

    async def send_photo(self, token: str, person: dict[str, str], photo: str) -> str:
        """A private photo from `person` (no text); returns the chat id."""
        data = await self._post("private_message", token=token, photo=photo, **{"from": person})
        return str(data["chat_id"])

    async def add_group(self, token: str, title: str) -> str:
        return str((await self._post("groups", token=token, title=title))["chat_id"])

    async def group_say(
        self,
        token: str,
        chat_id: str,
        person: dict[str, str],
        text: str,
        *,
        quote: str | None = None,
    ) -> bool:
        """A message in a group; True if the bot sees it (a mention or a quote-reply)."""
        data = await self._post(
            "group_message",
            token=token,
            chat_id=chat_id,
            text=text,
            quote=quote,
            **{"from": person},
        )
        return bool(data["seen"])

    async def block(self, token: str, chat_id: str) -> None:
        await self._post("block", token=token, chat_id=chat_id)

    async def set_quota(self, token: str, remaining: int | None) -> None:
        await self._post("quota", token=token, remaining=remaining)

    async def fail_next(self, token: str, status: int, count: int = 1) -> None:
        await self._post("faults", token=token, status=status, count=count)

    async def duplicate_webhooks(self, token: str, count: int) -> None:
        await self._post("duplicates", token=token, count=count)

    async def messages(self, token: str, chat_id: str) -> list[dict[str, Any]]:
        return list(await self._get("messages", token=token, chat_id=chat_id))

    async def stats(self, token: str) -> dict[str, Any]:
        return dict(await self._get("stats", token=token))
