"""One paced, retrying path for every message and edit the bot sends to a chat.

Telegram lets a bot send about one message per second to one chat, private chats
included, with a short burst, and an edit counts as much as a message. Everything the
bot writes goes through `Outbox`, which keeps, per chat, one `aiolimiter.AsyncLimiter`
(a leaky bucket: `burst` messages at once, then `rate` per second) and one lock:

- the lock keeps one chat's messages in order and lets one of them wait at a time;
- the limiter spaces them out, so a burst of screens (the preview, then a screen with
  buttons) waits its turn instead of being refused with 429;
- a 429 (`TelegramRetryAfter`) holds the chat for `retry_after` seconds, then the same
  request goes again; network and server errors are retried a few times with backoff;
- "message is not modified" is success: the message already shows that;
- every send also takes a turn under the bot's account limit (30/s), from the same
  limiter the delivery engine uses (`LimiterBackend.account_turn`; in Redis when several
  processes send for one bot), so officials' screens and deliveries never add up to more
  than Telegram allows.

Status messages change often and only their latest state matters: `keep_fresh`
coalesces them. A message has at most one edit in flight; a request that comes meanwhile
marks it dirty, and when the edit in flight ends the message is rendered again (from the
database) and edited once more, so the last state is always the one written. With
`gather`, each round first waits that long, so that the requests of the next moments join
it: a storm of Đã nhận presses under one group message costs an edit every few seconds
(a group takes 20 messages a minute), not one per press. At most `RENDERS` renders run at
once: each reads the database, and when a whole city presses, a thousand group messages
fall due together; rendered all at once they took every pooled connection, and the
presses themselves could no longer be written.

The buckets live in this process. That is the whole truth when one process writes to an
official's chat: `loa run`, or `loa bot` with polling (status updates included; delivery
workers write only to groups). In webhook mode behind several API processes, two of them
may answer the same official at once; each honours the 429 it gets (`retry_after`), and
a bucket shared in Redis (as `broadcasts.delivery.limits.RedisLimits` does for
deliveries) would be the next step if that ever shows up.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message
from aiolimiter import AsyncLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

# Telegram: "avoid sending more than one message per second" to one chat; a few messages
# in a row pass (the sandbox lets 3 through). The bucket leaks a little slower than that,
# and its burst is one short of 3: a send's turn is taken here, before it waits for the
# bot's account turn and crosses the network, so two sends a second apart here can arrive
# closer together there. The spare token absorbs up to about a second of such delay.
CHAT_RATE_PER_SECOND = 1.0 / 1.05
CHAT_BURST = 2
ATTEMPTS = 6
NOT_MODIFIED = "message is not modified"
RENDERS = 4  # live messages rendered at once (each holds a database session meanwhile)
_REMEMBERED = 2048  # last written screens kept, so an unchanged status costs no request


@dataclass(frozen=True, slots=True)
class Screen:
    """What one message shows: HTML text (user text escaped) and its buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None

    @classmethod
    def plain(cls, text: str) -> Screen:
        """A screen of plain text (escaped: it may hold names people typed)."""
        return cls(html.escape(text, quote=False))


@dataclass(frozen=True, slots=True)
class Edit:
    """A screen for a message already sent."""

    chat_id: int
    message_id: int
    screen: Screen


Render = Callable[[], Awaitable[Edit | None]]
AccountTurn = Callable[[], AbstractAsyncContextManager[None]]


@dataclass(slots=True)
class _Chat:
    limiter: AsyncLimiter
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(slots=True)
class _Fresh:
    render: Render
    dirty: bool = True
    gather: float = 0.0
    task: asyncio.Task[None] | None = None


class Outbox:
    """Sends and edits for one bot, paced per chat; see the module docstring."""

    def __init__(
        self,
        bot: Bot,
        *,
        limiter: Callable[[], AsyncLimiter] | None = None,
        account_turn: AccountTurn | None = None,
        sleep: Sleep = asyncio.sleep,
        attempts: int = ATTEMPTS,
    ) -> None:
        self._bot = bot
        self._new_limiter = limiter or (
            lambda: AsyncLimiter(CHAT_BURST, CHAT_BURST / CHAT_RATE_PER_SECOND)
        )
        self._account_turn: AccountTurn = account_turn or nullcontext
        self._sleep = sleep
        self._attempts = attempts
        self._chats: dict[int, _Chat] = {}
        self._fresh: dict[Hashable, _Fresh] = {}
        self._written: OrderedDict[tuple[int, int], Screen] = OrderedDict()
        self.retry_afters: Counter[int] = Counter()  # 429s Telegram answered, per chat
        self._closed = False
        self._rendering = asyncio.Semaphore(RENDERS)

    async def send(self, chat_id: int, screen: Screen, *, thread_id: int | None = None) -> Message:
        """Send `screen` to the chat (to one forum topic with `thread_id`)."""
        method = SendMessage(
            chat_id=chat_id,
            message_thread_id=thread_id,
            text=screen.text,
            parse_mode="HTML",
            reply_markup=screen.markup,
        )
        sent = await self._call(chat_id, method)
        self._remember(chat_id, sent.message_id, screen)
        return sent

    async def edit(self, chat_id: int, message_id: int, screen: Screen) -> None:
        """Show `screen` in a message already sent (no request if it shows it already)."""
        if self._written.get((chat_id, message_id)) == screen:
            return
        method = EditMessageText(
            chat_id=chat_id,
            message_id=message_id,
            text=screen.text,
            parse_mode="HTML",
            reply_markup=screen.markup,
        )
        try:
            await self._call(chat_id, method)
        except TelegramBadRequest as exc:
            if NOT_MODIFIED not in exc.message:
                raise
        self._remember(chat_id, message_id, screen)

    def keep_fresh(self, key: Hashable, render: Render, *, gather: float = 0.0) -> None:
        """Bring a live message up to date soon, coalescing with any edit in flight (and,
        with `gather`, with the requests of the next `gather` seconds)."""
        slot = self._fresh.get(key)
        if slot is None:
            slot = self._fresh[key] = _Fresh(render=render)
        slot.render, slot.dirty, slot.gather = render, True, gather
        if slot.task is None:
            slot.task = asyncio.create_task(self._freshen(key, slot), name=f"fresh:{key}")

    async def settled(self) -> None:
        """Return once every live message shows its latest state."""
        while self._fresh:
            tasks = [s.task for s in self._fresh.values() if s.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop: whatever is still to send fails at once instead of waiting to retry."""
        self._closed = True
        for slot in self._fresh.values():
            if slot.task is not None:
                slot.task.cancel()
        await asyncio.gather(
            *(s.task for s in self._fresh.values() if s.task is not None), return_exceptions=True
        )
        self._fresh.clear()

    async def _freshen(self, key: Hashable, slot: _Fresh) -> None:
        try:
            while slot.dirty:
                if slot.gather > 0:
                    await self._sleep(slot.gather)
                slot.dirty = False
                try:
                    async with self._rendering:
                        edit = await slot.render()
                    if edit is not None:
                        await self.edit(edit.chat_id, edit.message_id, edit.screen)
                except Exception:  # a live message is a courtesy: log it, keep the bot going
                    log.warning("live message %s not updated", key, exc_info=True)
        finally:  # no await since the loop's last check: nobody marked it dirty since
            slot.task = None
            self._fresh.pop(key, None)

    async def _call(self, chat_id: int, method: TelegramMethod[T]) -> T:
        chat = self._chat(chat_id)
        async with chat.lock:
            for attempt in range(1, self._attempts + 1):
                if self._closed:
                    raise TelegramNetworkError(method=method, message="the bot is stopping")
                await chat.limiter.acquire()
                try:
                    async with self._account_turn():
                        return await self._bot(method)
                except TelegramRetryAfter as exc:
                    self.retry_afters[chat_id] += 1
                    log.warning("chat %s: 429, retry after %ss", chat_id, exc.retry_after)
                    if attempt == self._attempts:
                        raise
                    await self._sleep(float(exc.retry_after))
                except (TelegramNetworkError, TelegramServerError) as exc:
                    if attempt == self._attempts:
                        raise
                    log.warning("chat %s: %s, retrying", chat_id, exc)
                    await self._sleep(min(0.5 * 2**attempt, 10.0))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= _REMEMBERED:
                self._forget_idle()
            chat = self._chats[chat_id] = _Chat(limiter=self._new_limiter())
        return chat

    def _forget_idle(self) -> None:
        """Drop chats whose bucket has drained: forgetting them changes nothing."""
        for chat_id, chat in list(self._chats.items()):
            if not chat.lock.locked() and chat.limiter.has_capacity(chat.limiter.max_rate):
                del self._chats[chat_id]

    def _remember(self, chat_id: int, message_id: int, screen: Screen) -> None:
        self._written[(chat_id, message_id)] = screen
        self._written.move_to_end((chat_id, message_id))
        while len(self._written) > _REMEMBERED:
            self._written.popitem(last=False)
