"""Telegram's flood limits, ON by default, on every method that posts or edits a message.

Telegram documents (core.telegram.org/bots/faq, "My bot is hitting limits"):

* per chat: "avoid sending more than one message per second. We may allow short bursts that
  go over this limit, but eventually you'll begin receiving 429 errors" (private chats too);
* per group: "bots are not be able to send more than 20 messages per minute to the same
  group";
* per bot: "not more than about 30 messages per second" across chats.

The sandbox enforces them on sendMessage, editMessageText and editMessageReplyMarkup (an edit
costs the same as a send; deleteMessage and answerCallbackQuery are not limited, as on
Telegram):

* per chat, private chats included: a token bucket refilled at ``per_chat_per_second`` (1/s)
  holding ``chat_burst`` tokens (3). Why 3: Telegram tolerates "short bursts" without saying
  how long; bots observe more than 3 passing in practice, so a bot that fits in 3-then-1/s
  fits on Telegram, and 3 still lets a bot answer a press with an answer, an edit and a new
  screen without pacing. A sustained rate above 1/s is refused;
* per group (basic groups and supergroups): at most ``per_group_per_minute`` (20) within any
  sliding 60 s window;
* per bot: at most ``per_bot_per_second`` (30) within any sliding 1 s window.

Both sliding windows are shortened by ``tolerance`` (20 ms) so that a client pacing itself at
exactly the limit is not punished for timer jitter (it is still refused one send early of the
limit, never later). Only requests that would otherwise succeed consume quota, and a refused
one consumes none. A refusal is HTTP 429 ``{"error_code": 429, "description": "Too
Many Requests: retry after N", "parameters": {"retry_after": N}}`` with N = whole seconds
until the blocking limit frees a slot, at least 1. ``check`` is O(1) amortised per request
(deques of at most 30 and 20 stamps, one bucket per chat).

Looser limits are a decision of the caller, never a default: pass ``RateLimits(...)`` to
``SandboxServer(limits=...)`` or ``POST /_sandbox/limits``, and say ``why`` (shown by
``GET /_sandbox/limits``), e.g. the benchmark's ceiling run, which measures the engine alone.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from .errors import ControlError, too_many_requests

TELEGRAM: dict[str, Any] = {
    "enabled": True,
    "per_bot_per_second": 30,
    "per_group_per_minute": 20,
    "per_chat_per_second": 1.0,
    "chat_burst": 3,
    "tolerance": 0.02,
}


def _window_wait(times: deque[float], limit: int, window: float, now: float) -> float:
    cutoff = now - window
    while times and times[0] <= cutoff:
        times.popleft()
    if len(times) >= limit:
        return times[0] + window - now
    return 0.0


class RateLimits:
    """Telegram's flood control; the defaults are Telegram's, enabled."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        per_bot_per_second: int = 30,
        per_group_per_minute: int = 20,
        per_chat_per_second: float = 1.0,
        chat_burst: int = 3,
        tolerance: float = 0.02,
        why: str | None = None,
    ) -> None:
        self.enabled = enabled
        self.per_bot_per_second = per_bot_per_second
        self.per_group_per_minute = per_group_per_minute
        self.per_chat_per_second = per_chat_per_second
        self.chat_burst = chat_burst
        self.tolerance = tolerance
        self.why = why
        self.clear()

    def clear(self) -> None:
        """Forget every send counted so far (the settings stay)."""
        self._bot: dict[str, deque[float]] = {}
        self._group: dict[tuple[str, int], deque[float]] = {}
        self._chat: dict[tuple[str, int], list[float]] = {}  # [tokens, last refill]

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply settings from the control API; a setting left out gets Telegram's value."""
        try:
            self.enabled = bool(body.get("enabled", True))
            self.per_bot_per_second = int(body.get("per_bot_per_second", 30))
            self.per_group_per_minute = int(body.get("per_group_per_minute", 20))
            self.per_chat_per_second = float(body.get("per_chat_per_second", 1))
            self.chat_burst = int(body.get("chat_burst", 3))
            self.tolerance = float(body.get("tolerance", 0.02))
        except (TypeError, ValueError) as e:
            raise ControlError(f"bad limits: {e}") from e
        why = body.get("why")
        self.why = None if why is None else str(why)
        self.clear()
        return self.describe()

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "per_bot_per_second": self.per_bot_per_second,
            "per_group_per_minute": self.per_group_per_minute,
            "per_chat_per_second": self.per_chat_per_second,
            "chat_burst": self.chat_burst,
            "tolerance": self.tolerance,
            "why": self.why,
            "telegram": self.is_telegram(),
        }

    def is_telegram(self) -> bool:
        """True when every setting is Telegram's (or stricter)."""
        return bool(
            self.enabled
            and self.per_bot_per_second <= 30
            and self.per_group_per_minute <= 20
            and self.per_chat_per_second <= 1.0
            and self.chat_burst <= 3
            and self.tolerance <= 0.02
        )

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
