"""``SandboxClient``: typed async Python access to the sandbox's control API (httpx based).

    async with SandboxClient(sandbox.url) as sb:
        await sb.private_message(TOKEN, {"id": 42, "first_name": "Lan"}, "/start")
        msgs = await sb.messages(TOKEN, 42, wait_count=1)

Control-API errors raise :class:`SandboxError` (status and the server's message).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal, NotRequired, TypedDict

import httpx


class User(TypedDict):
    """A person in the sandbox; only ``id`` is required (first_name defaults to "User {id}")."""

    id: int
    first_name: NotRequired[str]
    last_name: NotRequired[str]
    username: NotRequired[str]
    language_code: NotRequired[str]


UserLike = User | Mapping[str, Any]


class MediaItem(TypedDict):
    """A file a person sends: "photo", "document" or "voice", and its bytes."""

    kind: Literal["photo", "document", "voice"]
    data: bytes
    file_name: NotRequired[str]
    mime_type: NotRequired[str]


class SandboxError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"sandbox answered {status}: {message}")
        self.status = status
        self.message = message


class SandboxClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/_sandbox/", timeout=timeout, trust_env=False
        )
        self._files = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/", timeout=timeout, trust_env=False
        )

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._files.aclose()

    async def _call(
        self,
        verb: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        wait: float = 0.0,
        allow_404: bool = False,
    ) -> Any:
        resp = await self._http.request(
            verb, path, json=body, params=params, timeout=self._timeout + wait
        )
        if allow_404 and resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            try:
                message = str(resp.json().get("error", resp.text))
            except ValueError:
                message = resp.text
            raise SandboxError(resp.status_code, message)
        return resp.json()

    async def _obj(
        self, verb: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result = await self._call(verb, path, body)
        if not isinstance(result, dict):
            raise SandboxError(200, f"expected a JSON object from {path}, got {result!r}")
        return result

    # ------------------------------------------------------------------ acting as people

    async def private_message(
        self, token: str, user: UserLike, text: str, reply_to_message_id: int | None = None
    ) -> dict[str, Any]:
        """A person writes to the bot (``POST private_message``); returns {update_id,
        message_id, chat_id}."""
        body: dict[str, Any] = {"token": token, "user": dict(user), "text": text}
        if reply_to_message_id is not None:
            body["reply_to_message_id"] = reply_to_message_id
        return await self._obj("POST", "private_message", body)

    async def private_media(
        self,
        token: str,
        user: UserLike,
        items: list[MediaItem],
        caption: str | None = None,
    ) -> dict[str, Any]:
        """A person sends the bot a file, or an album of 2-10 photos or documents (``POST
        private_media``); returns {update_ids, message_ids, file_ids, media_group_id}."""
        body: dict[str, Any] = {
            "token": token,
            "user": dict(user),
            "items": [
                {
                    "kind": item["kind"],
                    "data": base64.b64encode(item["data"]).decode("ascii"),
                    "file_name": item.get("file_name", ""),
                    "mime_type": item.get("mime_type", ""),
                }
                for item in items
            ],
        }
        if caption is not None:
            body["caption"] = caption
        return await self._obj("POST", "private_media", body)

    async def download(self, token: str, file_path: str) -> bytes:
        """A file's bytes as a bot downloads them (``GET /file/bot<token>/<file_path>``)."""
        resp = await self._files.get(f"file/bot{token}/{file_path}")
        if resp.status_code >= 400:
            raise SandboxError(resp.status_code, resp.text)
        return resp.content

    async def add_bot_to_group(
        self,
        token: str,
        title: str,
        by_user: UserLike,
        type: Literal["group", "supergroup"] = "group",
        chat_id: int | None = None,
        admin: bool = False,
        is_forum: bool = False,
    ) -> int:
        """Create a group (or reuse ``chat_id``) and add the bot (``POST groups``); returns
        the chat id. ``is_forum`` makes a forum supergroup (``type`` is then supergroup)."""
        body: dict[str, Any] = {
            "token": token,
            "title": title,
            "by_user": dict(by_user),
            "type": "supergroup" if is_forum else type,
            "admin": admin,
            "is_forum": is_forum,
        }
        if chat_id is not None:
            body["chat_id"] = chat_id
        return int((await self._call("POST", "groups", body))["chat_id"])

    async def group_message(
        self,
        token: str,
        chat_id: int,
        user: UserLike,
        text: str,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """A member writes in a group, in a forum topic if ``message_thread_id`` (``POST
        group_message``); returns {update_id, message_id, chat_id, delivered}: under privacy
        mode the bot may not get it (``delivered`` false, ``update_id`` None)."""
        body: dict[str, Any] = {"token": token, "chat_id": chat_id, "user": dict(user)}
        body["text"] = text
        if message_thread_id is not None:
            body["message_thread_id"] = message_thread_id
        if reply_to_message_id is not None:
            body["reply_to_message_id"] = reply_to_message_id
        return await self._obj("POST", "group_message", body)

    async def remove_bot(
        self,
        token: str,
        chat_id: int,
        by_user: UserLike | None = None,
        status: Literal["kicked", "left"] = "kicked",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"token": token, "chat_id": chat_id, "status": status}
        if by_user is not None:
            body["by_user"] = dict(by_user)
        return await self._obj("POST", "remove_bot", body)

    async def migrate(self, token: str, chat_id: int) -> int:
        """Upgrade a group to a supergroup; returns the new chat id."""
        return int(
            (await self._call("POST", "migrate", {"token": token, "chat_id": chat_id}))[
                "new_chat_id"
            ]
        )

    async def press(
        self,
        token: str,
        chat_id: int,
        message_id: int,
        user: UserLike,
        data: str | None = None,
        forge: bool = False,
    ) -> str:
        """Press an inline button (default: the first) (``POST press``); returns the
        callback_query id. ``forge``: send ``data`` even if no button has it."""
        body: dict[str, Any] = {
            "token": token,
            "chat_id": chat_id,
            "message_id": message_id,
            "user": dict(user),
            "forge": forge,
        }
        if data is not None:
            body["data"] = data
        return str((await self._call("POST", "press", body))["callback_query_id"])

    # ------------------------------------------------------------------ running groups

    async def set_forum(self, chat_id: int, enabled: bool = True) -> None:
        """Turn topics on (or off) in a supergroup (``POST forum``)."""
        await self._call("POST", "forum", {"chat_id": chat_id, "enabled": enabled})

    async def create_topic(self, chat_id: int, name: str, by_user: UserLike | None = None) -> int:
        """Create a forum topic (``POST topics``); returns its message_thread_id."""
        body: dict[str, Any] = {"chat_id": chat_id, "name": name}
        if by_user is not None:
            body["by_user"] = dict(by_user)
        return int((await self._call("POST", "topics", body))["message_thread_id"])

    async def close_topic(
        self, chat_id: int, message_thread_id: int | None = None, closed: bool = True
    ) -> None:
        """Close (``closed=False``: reopen) a topic, or General when no thread is given
        (``POST close_topic``); bots then get TOPIC_CLOSED there."""
        body: dict[str, Any] = {"chat_id": chat_id, "closed": closed}
        if message_thread_id is not None:
            body["message_thread_id"] = message_thread_id
        await self._call("POST", "close_topic", body)

    async def restrict_bot(
        self, token: str, chat_id: int, permissions: Mapping[str, bool]
    ) -> dict[str, Any]:
        """Restrict the bot in a group, e.g. {"can_send_messages": False} (``POST
        restrict_bot``); all rights granted lifts it. Returns {update_id, chat_id, status}."""
        body = {"token": token, "chat_id": chat_id, "permissions": dict(permissions)}
        return await self._obj("POST", "restrict_bot", body)

    async def set_permissions(self, chat_id: int, permissions: Mapping[str, bool]) -> None:
        """A group's default member permissions (``POST permissions``); {"can_send_messages":
        False} makes it read-only for all but admins."""
        body = {"chat_id": chat_id, "permissions": dict(permissions)}
        await self._call("POST", "permissions", body)

    async def promote(self, chat_id: int, user: UserLike, admin: bool = True) -> None:
        """Make a group member an administrator (``POST promote``), or a member again."""
        body = {"chat_id": chat_id, "user": dict(user), "admin": admin}
        await self._call("POST", "promote", body)

    async def age(
        self, token: str, chat_id: int, seconds: int, message_id: int | None = None
    ) -> list[int]:
        """Make the bot's messages in a chat (or one) `seconds` older; their ids."""
        body: dict[str, Any] = {"token": token, "chat_id": chat_id, "seconds": seconds}
        if message_id is not None:
            body["message_id"] = message_id
        aged: list[int] = (await self._obj("POST", "age", body))["aged"]
        return aged

    async def set_privacy(self, token: str, enabled: bool) -> None:
        """@BotFather's /setprivacy (``POST privacy``): applies in groups joined afterwards."""
        await self._call("POST", "privacy", {"token": token, "enabled": enabled})

    # ------------------------------------------------------------------ reading back

    async def callback_answer(
        self, callback_query_id: str, wait: float = 5.0
    ) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery ({text, show_alert, ...}), or None if none came."""
        answer: dict[str, Any] | None = await self._call(
            "GET",
            f"callback_answers/{callback_query_id}",
            params={"wait": wait},
            wait=wait,
            allow_404=True,
        )
        return answer

    async def callback_times(self, token: str) -> dict[str, tuple[float, float | None]]:
        """Each callback query of the bot: (pressed, answered or None), sandbox clock."""
        found: dict[str, list[Any]] = await self._call(
            "GET", "callback_times", params={"token": token}
        )
        return {cq: (float(p), None if a is None else float(a)) for cq, (p, a) in found.items()}

    async def messages(
        self, token: str, chat_id: int, wait_count: int | None = None, wait: float = 5.0
    ) -> list[dict[str, Any]]:
        """The bot's messages in a chat; with ``wait_count`` wait until at least that many."""
        params: dict[str, Any] = {"token": token, "chat_id": chat_id}
        if wait_count is not None:
            params.update(wait_count=wait_count, wait=wait)
        found: list[dict[str, Any]] = await self._call(
            "GET", "messages", params=params, wait=wait if wait_count is not None else 0.0
        )
        return found

    async def stats(self, token: str | None = None) -> dict[str, Any]:
        """Counters (``GET stats``), for one bot or all: sent, edited, rejected_429,
        rejected_429_per_chat, errors_by_code, per_chat, duplicates."""
        stats: dict[str, Any] = await self._call(
            "GET", "stats", params={"token": token} if token else None
        )
        return stats

    async def rejected_429(self, token: str, chat_id: int) -> int:
        """How many requests of this bot to this chat were refused with 429."""
        stats = await self.stats(token)
        return int(stats["rejected_429_per_chat"].get(str(chat_id), 0))

    # ------------------------------------------------------------------ knobs

    async def set_limits(
        self,
        enabled: bool = True,
        per_bot_per_second: int = 30,
        per_group_per_minute: int = 20,
        per_chat_per_second: float = 1.0,
        chat_burst: int = 3,
        why: str | None = None,
    ) -> dict[str, Any]:
        """Set the flood limits (``POST limits``; Telegram's are the defaults and are on
        from the start). A caller that loosens them says ``why``."""
        return await self._obj(
            "POST",
            "limits",
            {
                "enabled": enabled,
                "per_bot_per_second": per_bot_per_second,
                "per_group_per_minute": per_group_per_minute,
                "per_chat_per_second": per_chat_per_second,
                "chat_burst": chat_burst,
                "why": why,
            },
        )

    async def limits(self) -> dict[str, Any]:
        """The flood limits in force (``GET limits``), with ``telegram``: true if strict."""
        return await self._obj("GET", "limits")

    async def set_callback_timeout(self, seconds: float) -> None:
        """How long after a press answerCallbackQuery is accepted (``POST settings``)."""
        await self._call("POST", "settings", {"callback_timeout": seconds})

    async def add_fault(
        self,
        kind: Literal["429", "403", "400_not_found", "5xx", "delay", "migrate"],
        token: str | None = None,
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
        status: int | None = None,
        delay: float | None = None,
        description: str | None = None,
        method: str | None = None,
    ) -> dict[str, Any]:
        """Inject a fault (times=0: until cleared); returns the fault as registered."""
        body: dict[str, Any] = {"kind": kind, "times": times}
        for key, value in (
            ("token", token),
            ("chat_id", chat_id),
            ("retry_after", retry_after),
            ("status", status),
            ("delay", delay),
            ("description", description),
            ("method", method),
        ):
            if value is not None:
                body[key] = value
        return await self._obj("POST", "faults", body)

    async def clear_faults(self) -> int:
        return int((await self._call("DELETE", "faults"))["cleared"])

    async def reset(self) -> None:
        await self._call("POST", "reset", {})

    async def health(self) -> bool:
        return bool((await self._call("GET", "health"))["ok"])
