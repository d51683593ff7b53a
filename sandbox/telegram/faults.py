"""Flood limits and fault injection for sendMessage (and, on request, other methods).

Limits (off by default; ``POST /_sandbox/limits``) model Telegram's documented flood rules:

* per bot: at most ``per_bot_per_second`` (30) sends within any sliding 1-second window;
* per group: at most ``per_group_per_minute`` (20) sends into one group within any sliding
  60-second window;
* per chat: a token bucket refilled at ``per_chat_per_second`` (1/s) holding up to
  ``chat_burst`` (3) tokens, i.e. short bursts of ~3 messages pass, a sustained rate above
  1/s does not; this matches what bots observe in practice better than a hard 1/s.

Both sliding windows are shortened by ``tolerance`` (20 ms) so that a client pacing itself at
exactly the limit is not punished for timer jitter. Only sends that would otherwise succeed
consume quota, and a rejected send does not consume any. A rejection answers 429 with
``retry_after`` = whole seconds until the blocking limit frees a slot (at least 1).

Faults (``POST /_sandbox/faults``) are one-shot or persistent answers injected before normal
processing, filtered by token and/or chat id (and ``method``, default sendMessage) and
consumed in the order they were added. Kinds: "429" (retry_after), "403", "400_not_found",
"5xx" (status, default 502), "delay" (sleep, then process normally: like a real timeout,
the message is still delivered even if the client gave up) and "migrate" (upgrade the
basic group, then answer the migrate_to_chat_id 400; skipped for chats that are not basic
groups). ``description`` overrides the error text.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .errors import ApiError, ControlError, bad_request, too_many_requests

if TYPE_CHECKING:
    from .state import BotState, World

FAULT_KINDS = ("429", "403", "400_not_found", "5xx", "delay", "migrate")


def _window_wait(times: deque[float], limit: int, window: float, now: float) -> float:
    cutoff = now - window
    while times and times[0] <= cutoff:
        times.popleft()
    if len(times) >= limit:
        return times[0] + window - now
    return 0.0


class RateLimits:
    """Telegram-like flood control; ``check`` is O(1) amortised per send."""

    def __init__(self) -> None:
        self.enabled = False
        self.per_bot_per_second = 30
        self.per_group_per_minute = 20
        self.per_chat_per_second = 1.0
        self.chat_burst = 3
        self.tolerance = 0.02
        self._clear()

    def _clear(self) -> None:
        self._bot: dict[str, deque[float]] = {}
        self._group: dict[tuple[str, int], deque[float]] = {}
        self._chat: dict[tuple[str, int], list[float]] = {}  # [tokens, last refill]

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            self.enabled = bool(body.get("enabled", True))
            self.per_bot_per_second = int(body.get("per_bot_per_second", 30))
            self.per_group_per_minute = int(body.get("per_group_per_minute", 20))
            self.per_chat_per_second = float(body.get("per_chat_per_second", 1))
            self.chat_burst = int(body.get("chat_burst", 3))
            self.tolerance = float(body.get("tolerance", 0.02))
        except (TypeError, ValueError) as e:
            raise ControlError(f"bad limits: {e}") from e
        self._clear()
        return self.describe()

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "per_bot_per_second": self.per_bot_per_second,
            "per_group_per_minute": self.per_group_per_minute,
            "per_chat_per_second": self.per_chat_per_second,
            "chat_burst": self.chat_burst,
            "tolerance": self.tolerance,
        }

    def check(self, token: str, chat_id: int, is_group: bool, now: float) -> None:
        """Raise the 429 if a send now would break a limit, else record the send."""
        bot_times = self._bot.get(token)
        if bot_times is None:
            bot_times = self._bot[token] = deque()
        wait = _window_wait(bot_times, self.per_bot_per_second, 1.0 - self.tolerance, now)

        key = (token, chat_id)
        group_times = None
        if is_group:
            group_times = self._group.get(key)
            if group_times is None:
                group_times = self._group[key] = deque()
            wait = max(
                wait,
                _window_wait(group_times, self.per_group_per_minute, 60.0 - self.tolerance, now),
            )

        rate = self.per_chat_per_second
        bucket = self._chat.get(key)
        if bucket is None:
            bucket = self._chat[key] = [float(self.chat_burst), now]
        else:
            bucket[0] = min(float(self.chat_burst), bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
        if bucket[0] < 1.0:
            wait = max(wait, (1.0 - bucket[0]) / rate if rate > 0 else 60.0)

        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        bucket[0] -= 1.0
        bot_times.append(now)
        if group_times is not None:
            group_times.append(now)


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
