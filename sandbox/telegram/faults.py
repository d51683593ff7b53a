"""Fault injection: one-shot or persistent answers injected before normal processing.

Faults (``POST /_sandbox/faults``) are filtered by token and/or chat id (and ``method``,
default sendMessage) and consumed in the order they were added. Kinds: "429" (retry_after),
"403", "400_not_found", "5xx" (status, default 502), "delay" (sleep, then process normally:
like a real timeout, the message is still delivered even if the client gave up) and
"migrate" (upgrade the basic group, then answer the migrate_to_chat_id 400; skipped for chats
that are not basic groups). ``description`` overrides the error text.

Telegram's flood limits are not faults: they live in :mod:`.limits` and are on by default.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .errors import ApiError, ControlError, bad_request, too_many_requests
from .limits import RateLimits

if TYPE_CHECKING:
    from .model import BotState
    from .state import World

__all__ = ["FAULT_KINDS", "Fault", "FaultBook", "RateLimits"]

FAULT_KINDS = ("429", "403", "400_not_found", "5xx", "delay", "migrate")


@dataclass
class Fault:
    id: int
    kind: str
    token: str | None = None
    chat_id: int | None = None
    method: str = "sendmessage"
    remaining: int | None = 1  # None = until cleared
    retry_after: int = 1
    status: int = 502
    delay: float = 1.0
    description: str | None = None
    fired: int = field(default=0)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "token": self.token,
            "chat_id": self.chat_id,
            "method": self.method,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
            "status": self.status,
            "delay": self.delay,
            "description": self.description,
            "fired": self.fired,
        }


class FaultBook:
    """Injected faults; ``active`` is False when empty so the hot path skips them."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._next_id = 1

    @property
    def active(self) -> bool:
        return bool(self.faults)

    def add(self, body: dict[str, Any]) -> Fault:
        kind = str(body.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ControlError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        try:
            times = int(body.get("times", 1))
            chat_id = body.get("chat_id")
            fault = Fault(
                id=self._next_id,
                kind=kind,
                token=body.get("token"),
                chat_id=int(chat_id) if chat_id is not None else None,
                method=str(body.get("method", "sendMessage")).lower(),
                remaining=None if times == 0 else times,
                retry_after=int(body.get("retry_after", 1)),
                status=int(body.get("status", 502)),
                delay=float(body.get("delay", 1.0)),
                description=body.get("description"),
            )
        except (TypeError, ValueError) as e:
            raise ControlError(f"bad fault: {e}") from e
        if times < 0 or (kind == "5xx" and not 500 <= fault.status <= 599):
            raise ControlError("times must be >= 0 and a 5xx status within 500..599")
        self._next_id += 1
        self.faults.append(fault)
        return fault

    def clear(self) -> int:
        n = len(self.faults)
        self.faults.clear()
        return n

    def _match(self, world: World, token: str, method: str, chat_id: Any) -> Fault | None:
        for fault in self.faults:
            if fault.method != method:
                continue
            if fault.token is not None and fault.token != token:
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            if fault.kind == "migrate":  # only basic groups can be upgraded
                chat = world.chats.get(chat_id) if isinstance(chat_id, int) else None
                if chat is None or chat.type != "group" or chat.migrated_to is not None:
                    continue
            return fault
        return None

    async def apply(self, world: World, bot: BotState, method: str, chat_id: Any) -> None:
        """Fire the first matching fault: raise its error, or sleep for a "delay"."""
        fault = self._match(world, bot.token, method, chat_id)
        if fault is None:
            return
        fault.fired += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)
        kind = fault.kind
        if kind == "delay":
            await asyncio.sleep(fault.delay)
            return
        if kind == "429":
            raise too_many_requests(fault.retry_after)
        if kind == "403":
            raise ApiError(403, fault.description or "Forbidden: bot was blocked by the user")
        if kind == "400_not_found":
            raise ApiError(400, fault.description or "Bad Request: chat not found")
        if kind == "5xx":
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Server Error"
            raise ApiError(fault.status, fault.description or phrase)
        new_id = world.migrate(chat_id)
        raise bad_request(
            "group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": new_id}
        )
