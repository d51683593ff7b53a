"""Per-account send limits, enforced before a send so that the provider never says 429.

Three limits apply to every message: per account (30/s across chats), per chat (1/s) and
per group chat (20/min). The provider counts a message when it arrives, at some moment
between the start of our request and its answer, and those moments drift with the network
and the load of the machine. So a send counts toward a limit here from the moment it is let
go until `period` after its answer came back (a `SendLog`), and one more is let go only
while fewer than `limit` still count. That makes the promise exact, whatever the delays:

    take the last send let go among any `limit + 1` that arrived within one `period`; every
    other one had started before it, and arrived (so was answered) after its start minus
    `period`: each still counted when it was let go, so it was not let go.

Any moment after the provider answered serves as "its answer came back"; the earlier, the
sooner the next send may go, since a bot then sends at most `limit` per `period` plus the
time from a let-go to that moment. It is taken when the send's block (`turn`) ends, right
after the transport read the answer, before anything is recorded (against the sandbox on
the same machine, a few ms after the let-go on average, a tenth of a ms of it reading and
parsing the answer: README, Benchmarks).

A send whose answer never came (a timeout, a lost connection, a cancel) may still arrive:
it counts as answered `hold` seconds after it started. Only a provider that takes a message
later than that can see more than the limit.

`MemoryLimits` keeps the logs in this process (the embedded `loa run`, or one worker);
`RedisLimits` (`shared_limits.py`) keeps them in Redis for every worker. Both also space one
account's sends evenly (1/rate apart, no bursts, on a pace that a late timer does not
shift) and carry the pause a 429 imposes on one account, so that only that account waits.
A rate of 0 switches that limit off. Time comes from an injected `Clock`, so the tests run
on virtual time.

A platform slower than Telegram (Zalo's undisclosed quota) has its own account rate in
`transport_rates` (by transport name); the engine says which transport an account uses
(`use_transport`) before its first send, and that account is paced at its platform's rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
from collections.abc import AsyncIterator, Hashable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from broadcasts.delivery.clock import LOOP_CLOCK, Clock
from broadcasts.errors import NoAnswer
from broadcasts.settings import DeliverySettings

# A chat's state is looked at for forgetting once it has been quiet this long.
_SPENT_AFTER_SECONDS = 2.0
_SWEEP_EVERY = 2048
# How far an account's sends may fall behind their pace and still catch up: 3 spacings for a
# send that found the account idle; for one the limiter itself held back (the window while
# earlier sends were answered, its own timer firing late), half a second, or 3 spacings if
# longer. Either stays under the shortest 429 pause (1 s), so a paused account starts
# afresh rather than rushing.
_CATCH_UP = 3
_CATCH_UP_HELD_SECONDS = 0.5


class LimiterBackend(Protocol):
    """Decides when a message may go; shared by every lane of a worker."""

    def turn(
        self, account_id: int, chat_ref: str, slots: asyncio.Semaphore
    ) -> AbstractAsyncContextManager[None]:
        """Wait for the turn of one message from `account_id` to `chat_ref`; send inside.

        One of `slots` (the worker's bound on sends in flight) is taken just before the
        account's turn and given back when the block ends. Taken after the turn, a send
        could wait for a slot and go out bunched with the next ones; taken long before,
        a slot would sit idle while the account waits for its turn. The block's end is
        taken as the answer's arrival, unless it ends with `may_still_arrive`.
        """
        ...

    def account_turn(self, account_id: int) -> AbstractAsyncContextManager[None]:
        """Wait for a turn of `account_id` under its account limit only; send inside.

        For messages paced per chat elsewhere (the bot's answers to officials, which may
        burst a little in one private chat) that still share the account's 30/s with
        every delivery.
        """
        ...

    async def wait_unpaused(self, account_id: int) -> None:
        """Return once `account_id` is not paused (cheap; takes no turn)."""
        ...

    def use_transport(self, account_id: int, transport: str) -> None:
        """`account_id` sends through `transport`: pace it at that platform's rate."""
        ...

    async def pause(self, account_id: int, seconds: float) -> None:
        """Hold every send of `account_id` for `seconds` (the provider said 429)."""
        ...

    async def close(self) -> None: ...


def may_still_arrive(exc: BaseException) -> bool:
    """Whether a send that ended with `exc` may reach the provider later (no answer came)."""
    return isinstance(exc, TimeoutError | asyncio.CancelledError | NoAnswer)


def hold_seconds(send_timeout: float) -> float:
    """How long an unanswered send keeps counting: well past the client's own timeout."""
    return max(2.0 * send_timeout, send_timeout + 1.0)


def window(per_period: float, period: float) -> tuple[int, float] | None:
    """A rate as (limit, period) for a `SendLog`: 30 per 1 s, 20 per 60 s, 1 per 2 s..."""
    if per_period <= 0:
        return None
    if per_period >= 1:
        return math.floor(per_period), period
    return 1, period / per_period


class SendLog:
    """The sends of one scope (an account, a chat) that still count toward its limit."""

    __slots__ = ("limit", "period", "in_flight", "_ends")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.in_flight = 0
        self._ends: list[float] = []  # a heap of answer times

    def wait(self, now: float) -> float:
        """0 when one more send may go now, else how long before it may."""
        ends = self._ends
        while ends and ends[0] <= now - self.period:
            heapq.heappop(ends)
        if self.in_flight + len(ends) < self.limit:
            return 0.0
        # Room comes back when the oldest answer leaves the window; while every one is
        # still in flight, that is at least a period away.
        return ends[0] + self.period - now if ends else self.period

    def start(self) -> None:
        self.in_flight += 1

    def end(self, at: float) -> None:
        self.in_flight -= 1
        heapq.heappush(self._ends, at)

    def is_spent(self, now: float) -> bool:
        """True when nothing counts any more: forgetting the log then changes nothing."""
        self.wait(now)
        return self.in_flight == 0 and not self._ends


class ChatLimits:
    """One chat's logs, and a lock that lets one message to it at a time wait its turn."""

    __slots__ = ("logs", "lock", "used")

    def __init__(self, logs: tuple[SendLog, ...], used: float) -> None:
        self.logs = logs
        self.lock = asyncio.Lock()
        self.used = used

    def wait(self, now: float) -> float:
        return max((log.wait(now) for log in self.logs), default=0.0)

    def is_spent(self, now: float) -> bool:
        return not self.lock.locked() and all(log.is_spent(now) for log in self.logs)


class ChatTable:
    """`ChatLimits` by chat, forgetting chats whose logs have emptied.

    A city-wide notice touches 50,000 chats once each; a chat's state is kept only while
    its sends still count (a minute for the group limit), so memory follows the send
    rate, not the number of chats.
    """

    def __init__(self, *, chat: tuple[int, float] | None, group: tuple[int, float] | None) -> None:
        self._windows = tuple(w for w in (chat, group) if w is not None)
        self._items: dict[Hashable, ChatLimits] = {}
        self._uses = 0

    def get(self, key: Hashable, now: float) -> ChatLimits:
        state = self._items.get(key)
        if state is None:
            logs = tuple(SendLog(limit, period) for limit, period in self._windows)
            state = self._items[key] = ChatLimits(logs, now)
        state.used = now
        self._uses += 1
        if self._uses % _SWEEP_EVERY == 0:
            self._sweep(now)
        return state

    def _sweep(self, now: float) -> None:
        spent = [
            key
            for key, state in self._items.items()
            if now - state.used > _SPENT_AFTER_SECONDS and state.is_spent(now)
        ]
        for key in spent:
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)


class _Account:
    """One account's pacing: its log, its pace, when its next send may go, one waiter at a
    time."""

    __slots__ = ("log", "due", "next_at", "lock", "spacing")

    def __init__(self, log: SendLog | None, spacing: float) -> None:
        self.log = log
        self.due = -math.inf  # when the next send is due on the account's pace
        self.next_at = -math.inf  # when it may go: its due time, or later after a late one
        self.lock = asyncio.Lock()
        self.spacing = spacing


class MemoryLimits:
    """Limits for one process (the embedded `loa run`, or a single worker)."""

    def __init__(
        self,
        *,
        per_bot_per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: float = 20.0,
        hold: float = 30.0,
        transport_rates: Mapping[str, float] | None = None,
        clock: Clock = LOOP_CLOCK,
    ) -> None:
        self._clock = clock
        self._hold = hold
        self._per_bot = per_bot_per_second
        self._transport_rates = dict(transport_rates or {})
        self._account_rates: dict[int, float] = {}
        self._accounts: dict[int, _Account] = {}
        chat = window(per_chat_per_second, 1.0)
        group = window(per_group_per_minute, 60.0)
        self._chats = ChatTable(chat=chat, group=group) if chat or group else None
        self._paused_until: dict[int, float] = {}

    @classmethod
    def from_settings(
        cls,
        settings: DeliverySettings,
        *,
        transport_rates: Mapping[str, float] | None = None,
        clock: Clock = LOOP_CLOCK,
    ) -> MemoryLimits:
        return cls(
            per_bot_per_second=settings.per_bot_per_second,
            per_chat_per_second=settings.per_chat_per_second,
            per_group_per_minute=settings.per_group_per_minute,
            hold=hold_seconds(settings.send_timeout_seconds),
            transport_rates=transport_rates,
            clock=clock,
        )

    def use_transport(self, account_id: int, transport: str) -> None:
        rate = self._transport_rates.get(transport)
        if rate is not None and self._account_rates.get(account_id) != rate:
            self._account_rates[account_id] = rate
            self._accounts.pop(account_id, None)  # made again at that rate on its next turn

    def account_rate(self, account_id: int) -> float:
        """Sends per second allowed to `account_id` (its platform's, else the default)."""
        return self._account_rates.get(account_id, self._per_bot)

    @contextlib.asynccontextmanager
    async def turn(
        self, account_id: int, chat_ref: str, slots: asyncio.Semaphore
    ) -> AsyncIterator[None]:
        clock = self._clock
        chats = self._chats
        chat = chats.get((account_id, chat_ref), clock.monotonic()) if chats is not None else None
        if chat is None:
            account = await self._take_turn(account_id, slots)
            logs: tuple[SendLog, ...] = ()
        else:
            # A chat's logs are charged only once the account's turn has come, right before
            # the send: charged earlier, a wait for the account would shrink the gap between
            # two messages to the chat. Until the chat has room, no turn is taken.
            async with chat.lock:
                while (wait := chat.wait(clock.monotonic())) > 0:
                    await clock.sleep(wait)
                account = await self._take_turn(account_id, slots)
                logs = chat.logs
                for log in logs:
                    log.start()
        if account.log is not None:
            logs = (account.log, *logs)
        async with self._counting(logs, slots):
            yield

    @contextlib.asynccontextmanager
    async def account_turn(self, account_id: int) -> AsyncIterator[None]:
        slots = asyncio.Semaphore(1)  # this send's own slot: bounded by its caller
        account = await self._take_turn(account_id, slots)
        logs = (account.log,) if account.log is not None else ()
        async with self._counting(logs, slots):
            yield

    @contextlib.asynccontextmanager
    async def _counting(
        self, logs: tuple[SendLog, ...], slots: asyncio.Semaphore
    ) -> AsyncIterator[None]:
        """Count the send in `logs` until its answer (or `hold` if none may come)."""
        clock = self._clock
        started = clock.monotonic()
        try:
            yield
        except BaseException as exc:
            now = clock.monotonic()
            _end(logs, max(now, started + self._hold) if may_still_arrive(exc) else now)
            raise
        else:
            _end(logs, clock.monotonic())
        finally:
            slots.release()

    async def _take_turn(self, account_id: int, slots: asyncio.Semaphore) -> _Account:
        """Take a slot and the account's turn; on return the caller holds the slot."""
        await self.wait_unpaused(account_id)
        account = self._accounts.get(account_id)
        if account is None:
            rate = self.account_rate(account_id)
            bot_window = window(rate, 1.0)
            log = SendLog(*bot_window) if bot_window else None
            # Sends of one account go 1/rate apart: even, with no burst at a second's start.
            account = self._accounts[account_id] = _Account(log, 1.0 / rate if rate > 0 else 0.0)
        clock = self._clock
        # The account's other sends queue on the lock, without a slot: one waiter at a
        # time, and only that one holds a slot.
        async with account.lock:
            await slots.acquire()
            held = False
            try:
                while (wait := self._account_wait(account_id, account, clock.monotonic())) > 0:
                    held = True
                    await clock.sleep(wait)
            except BaseException:
                slots.release()
                raise
            # The next send is due one spacing after this one was due, not after it went: on
            # a loaded machine timers fire late, and spacing from the moment each send went
            # would add every lateness to the pace (10 ms late at 30/s loses a quarter of
            # the rate). An account that fell behind catches up with sends closer together,
            # never closer than half a spacing (sends keep their order of arrival, urgent
            # first), until it is back on its pace: that floor delays the next send, never
            # the pace itself, or one late timer would set the account back for good. So
            # does the window: a send held until an earlier answer left it goes late, and
            # the ones after it catch up where the window lets them. One idle for longer
            # than `_CATCH_UP` spacings, or held for longer than `_CATCH_UP_HELD_SECONDS`,
            # starts afresh. The account's log still bounds every second to the limit:
            # catching up is no 429.
            now = clock.monotonic()
            spacing = account.spacing
            behind = (
                max(_CATCH_UP * spacing, _CATCH_UP_HELD_SECONDS) if held else _CATCH_UP * spacing
            )
            due = account.due if now - account.due < behind else now
            account.due = due + spacing
            account.next_at = max(account.due, now + spacing / 2)
            if account.log is not None:
                account.log.start()
        return account

    def _account_wait(self, account_id: int, account: _Account, now: float) -> float:
        # A 429 that came while this send waited its turn holds it too.
        wait = max(account.next_at, self._paused_until.get(account_id, 0.0)) - now
        if account.log is not None:
            wait = max(wait, account.log.wait(now))
        return wait

    async def wait_unpaused(self, account_id: int) -> None:
        clock = self._clock
        while (until := self._paused_until.get(account_id, 0.0)) > clock.monotonic():
            await clock.sleep(until - clock.monotonic())

    async def pause(self, account_id: int, seconds: float) -> None:
        until = self._clock.monotonic() + seconds
        if until > self._paused_until.get(account_id, 0.0):
            self._paused_until[account_id] = until

    async def close(self) -> None:
        self._accounts.clear()

    def tracked_chats(self) -> int:
        """How many chats have limiter state (memory stays flat however many chats)."""
        return len(self._chats) if self._chats is not None else 0


def _end(logs: tuple[SendLog, ...], at: float) -> None:
    for log in logs:
        log.end(at)


def make_limits(
    settings: DeliverySettings,
    redis_url: str | None,
    *,
    transport_rates: Mapping[str, float] | None = None,
    clock: Clock = LOOP_CLOCK,
) -> LimiterBackend:
    """The backend a worker uses: Redis when configured (scale-out), else this process."""
    if redis_url:
        from broadcasts.delivery.shared_limits import RedisLimits

        return RedisLimits.from_settings(
            settings, redis_url, transport_rates=transport_rates, clock=clock
        )
    return MemoryLimits.from_settings(settings, transport_rates=transport_rates, clock=clock)
