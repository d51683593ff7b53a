"""``SandboxClient``: typed async Python access to the sandbox's control API (httpx based).

    async with SandboxClient(sandbox.url) as sb:
        await sb.private_message(TOKEN, {"id": 42, "first_name": "Lan"}, "/start")
        msgs = await sb.messages(TOKEN, 42, wait_count=1)

Control-API errors raise :class:`SandboxError` (status and the server's message).
"""

from __future__ import annotations

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

    # ------------------------------------------------------------------ acting as people

    async def private_message(self, token: str, user: UserLike, text: str) -> dict[str, int]:
        """A person writes to the bot; returns {update_id, message_id, chat_id}."""
        return await self._call(
            "POST", "private_message", {"token": token, "user": dict(user), "text": text}
        )

    async def add_bot_to_group(
        self,
        token: str,
        title: str,
        by_user: UserLike,
        type: Literal["group", "supergroup"] = "group",
        chat_id: int | None = None,
        admin: bool = False,
    ) -> int:
        """Create a group (or reuse ``chat_id``) and add the bot; returns the chat id."""
        body: dict[str, Any] = {
            "token": token,
            "title": title,
            "by_user": dict(by_user),
            "type": type,
            "admin": admin,
        }
        if chat_id is not None:
            body["chat_id"] = chat_id
        return int((await self._call("POST", "groups", body))["chat_id"])

    async def group_message(
        self, token: str, chat_id: int, user: UserLike, text: str
    ) -> dict[str, int]:
        """A member writes in a group; returns {update_id, message_id, chat_id}."""
        return await self._call(
            "POST",
            "group_message",
            {"token": token, "chat_id": chat_id, "user": dict(user), "text": text},
        )

    async def remove_bot(
        self,
        token: str,
        chat_id: int,
        by_user: UserLike | None = None,
        status: Literal["kicked", "left"] = "kicked",
    ) -> dict[str, int]:
        body: dict[str, Any] = {"token": token, "chat_id": chat_id, "status": status}
        if by_user is not None:
            body["by_user"] = dict(by_user)
        return await self._call("POST", "remove_bot", body)

    async def migrate(self, token: str, chat_id: int) -> int:
        """Upgrade a group to a supergroup; returns the new chat id."""
        return int(
            (await self._call("POST", "migrate", {"token": token, "chat_id": chat_id}))[
                "new_chat_id"
            ]
        )

    async def press(
        self, token: str, chat_id: int, message_id: int, user: UserLike, data: str | None = None
    ) -> str:
        """Press an inline button (default: the first); returns the callback_query id."""
        body: dict[str, Any] = {
            "token": token,
            "chat_id": chat_id,
            "message_id": message_id,
            "user": dict(user),
        }
        if data is not None:
            body["data"] = data
        return str((await self._call("POST", "press", body))["callback_query_id"])

    # ------------------------------------------------------------------ reading back

    async def callback_answer(
        self, callback_query_id: str, wait: float = 5.0
    ) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery ({text, show_alert, ...}), or None if none came."""
        return await self._call(
            "GET",
            f"callback_answers/{callback_query_id}",
            params={"wait": wait},
            wait=wait,
            allow_404=True,
        )

    async def messages(
        self, token: str, chat_id: int, wait_count: int | None = None, wait: float = 5.0
    ) -> list[dict[str, Any]]:
        """The bot's messages in a chat; with ``wait_count`` wait until at least that many."""
        params: dict[str, Any] = {"token": token, "chat_id": chat_id}
        if wait_count is not None:
            params.update(wait_count=wait_count, wait=wait)
        return await self._call(
            "GET", "messages", params=params, wait=wait if wait_count is not None else 0.0
        )

    async def stats(self, token: str | None = None) -> dict[str, Any]:
        return await self._call("GET", "stats", params={"token": token} if token else None)

    # ------------------------------------------------------------------ knobs

    async def set_limits(
        self,
        enabled: bool = True,
        per_bot_per_second: int = 30,
        per_group_per_minute: int = 20,
        per_chat_per_second: float = 1.0,
        chat_burst: int = 3,
    ) -> dict[str, Any]:
        return await self._call(
            "POST",
            "limits",
            {
                "enabled": enabled,
                "per_bot_per_second": per_bot_per_second,
                "per_group_per_minute": per_group_per_minute,
                "per_chat_per_second": per_chat_per_second,
                "chat_burst": chat_burst,
            },
        )

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
        return await self._call("POST", "faults", body)

    async def clear_faults(self) -> int:
        return int((await self._call("DELETE", "faults"))["cleared"])

    async def reset(self) -> None:
        await self._call("POST", "reset", {})

    async def health(self) -> bool:
        return bool((await self._call("GET", "health"))["ok"])
