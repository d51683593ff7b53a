"""The in-process limiter on virtual time: even spacing per bot, per chat and per group,
pauses for one bot only, and the promise that holds whatever the network's delays: no
window of the provider's ever sees more than the limit."""

from __future__ import annotations

import asyncio
import random

import pytest

from broadcasts.delivery.limits import ChatTable, MemoryLimits
from broadcasts.errors import NoAnswer
from tests.broadcasts.delivery.virtual_time import VirtualClock


async def _times(
    limits: MemoryLimits,
    clock: VirtualClock,
    account: int,
    chats: list[str],
    slots: asyncio.Semaphore | None = None,
    answer_after: float = 0.0,
) -> list[float]:
    """Send to each chat in turn; the stamp is when the turn came."""
    slots = slots or asyncio.Semaphore(10)
    stamps = []
    for chat in chats:
        async with limits.turn(account, chat, slots):
            stamps.append(clock.monotonic())
            await clock.sleep(answer_after)
    return stamps


def _max_in_window(stamps: list[float], window: float) -> int:
    """The most stamps in any half-open window [t, t + window)."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, at in enumerate(stamps):
        while at - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_memory_limits_space_one_bot_evenly() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=30, clock=clock)
    stamps = clock.run(_times(limits, clock, 1, [str(-i) for i in range(45)]))
    assert _max_in_window(stamps, 1.0) == 30
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) == pytest.approx(1 / 30)
    assert stamps[-1] - stamps[0] == pytest.approx(44 / 30)


class _OneLateTimer(VirtualClock):
    """Virtual time where the one sleep that reaches `at` first ends `by` seconds late, as
    a timer does on a busy event loop."""

    def __init__(self, *, at: float, by: float) -> None:
        super().__init__()
        self._at = self.monotonic() + at
        self._by = by

    async def sleep(self, seconds: float) -> None:
        if self.monotonic() + seconds >= self._at > 0:
            self._at = 0.0  # once
            seconds += self._by
        await super().sleep(seconds)


def test_a_late_timer_does_not_set_the_bot_back_for_good() -> None:
    """Send 5's turn comes 0.22 s late (2.2 spacings at 10/s): the next ones catch up, never
    closer than half a spacing, and the bot is back on its pace by send 10; it does
    not go on 0.17 s behind for the rest of the notice."""
    clock = _OneLateTimer(at=0.5, by=0.22)
    limits = MemoryLimits(per_bot_per_second=10, per_chat_per_second=0, clock=clock)
    stamps = clock.run(_times(limits, clock, 1, [str(-i) for i in range(15)]))
    first = stamps[0]
    offsets = [round(t - first, 9) for t in stamps]
    assert offsets[:6] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.72])
    assert offsets[6:9] == pytest.approx([0.77, 0.82, 0.87])  # half a spacing apart
    assert offsets[9:] == pytest.approx([0.92, 1.0, 1.1, 1.2, 1.3, 1.4])  # on its pace again
    assert _max_in_window(stamps, 1.0) <= 10


def test_a_send_held_by_the_window_does_not_set_the_bot_back_for_good() -> None:
    """At 10/s, the first four sends take 0.35 s to be answered and the others none: the
    11th waits for the first answer to leave the window (1.35 s, 3.5 spacings behind its
    pace), the next ones go as the window lets them, half a spacing apart, and the bot is
    back on its pace by the 18th instead of going on 0.35 s behind."""
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=10, per_chat_per_second=0, clock=clock)
    slots = asyncio.Semaphore(20)
    lets: list[float] = []
    answers: list[float] = []

    async def send(i: int) -> None:
        async with limits.turn(1, str(-i), slots):
            lets.append(clock.monotonic())
            await clock.sleep(0.35 if i < 4 else 0.0)
            answers.append(clock.monotonic())

    async def main() -> None:
        await asyncio.gather(*(send(i) for i in range(20)))

    clock.run(main())
    offsets = [round(t - lets[0], 9) for t in lets]
    assert offsets[:10] == pytest.approx([i / 10 for i in range(10)])
    assert offsets[10:17] == pytest.approx([1.35, 1.4, 1.45, 1.5, 1.55, 1.6, 1.65])
    assert offsets[17:] == pytest.approx([1.7, 1.8, 1.9])  # on its pace again
    assert _max_in_window(answers, 1.0) <= 10


def test_no_window_sees_more_than_the_limit_whatever_the_delays() -> None:
    """Sends take between 0 and 0.4 s to be answered, and each reaches the provider at
    the worst moment: at its start or just before its answer. Spacing alone would let 31
    or more arrive within one second; counting each send until a second after its answer
    never does, and the same holds for a chat's one per second."""
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=30, per_chat_per_second=1, clock=clock)
    rng = random.Random(12)
    arrivals: dict[str, list[float]] = {}
    slots = asyncio.Semaphore(20)

    async def send(chat: str) -> None:
        delay = rng.choice([0.0, 0.01, 0.4])
        async with limits.turn(1, chat, slots):
            at_start = rng.random() < 0.5
            if at_start:
                arrivals.setdefault(chat, []).append(clock.monotonic())
            await clock.sleep(delay)
            if not at_start:  # the latest it can: as the answer comes back
                arrivals.setdefault(chat, []).append(clock.monotonic())

    async def main() -> None:
        chats = [str(-(i % 40)) for i in range(300)]  # 40 chats, several sends each
        await asyncio.gather(*(send(chat) for chat in chats))

    clock.run(main())
    everything = [at for chat in arrivals.values() for at in chat]
    assert len(everything) == 300
    assert _max_in_window(everything, 1.0) <= 30
    assert max(_max_in_window(chat, 1.0) for chat in arrivals.values()) == 1


def test_a_send_without_an_answer_keeps_counting_for_the_hold() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=0, per_chat_per_second=1, hold=5.0, clock=clock)
    slots = asyncio.Semaphore(2)

    async def main() -> list[float]:
        with pytest.raises(NoAnswer):
            async with limits.turn(1, "-1", slots):
                started = clock.monotonic()
                raise NoAnswer("network error: timeout")
        stamps = await _times(limits, clock, 1, ["-1"], slots)
        return [started, *stamps]

    started, next_send = clock.run(main())
    assert next_send - started == pytest.approx(5.0 + 1.0)  # hold, then the chat's second


def test_bots_do_not_share_a_budget_and_pauses_stay_with_their_bot() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=20, clock=clock)

    async def main() -> tuple[float, list[float], list[float]]:
        await limits.pause(1, 0.5)
        started = clock.monotonic()
        other = await _times(limits, clock, 2, [str(-i) for i in range(10)])
        paused = await _times(limits, clock, 1, ["-1"])
        return started, other, paused

    started, other, paused = clock.run(main())
    assert other[0] == started  # bot 2 did not wait for bot 1's pause
    assert other[-1] - started == pytest.approx(9 / 20)  # its 10 sends at 20/s meanwhile
    assert paused[0] - started == pytest.approx(0.5)


def test_a_pause_that_comes_while_waiting_holds_that_send_too() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=1, clock=clock)

    async def main() -> list[float]:
        first = await _times(limits, clock, 1, ["-1"])
        waiting = asyncio.create_task(_times(limits, clock, 1, ["-2"]))
        await clock.sleep(0.1)  # the second send now waits for the bot's next second
        await limits.pause(1, 3.0)
        return first + await waiting

    first, second = clock.run(main())
    assert second - first == pytest.approx(3.1)


def test_one_chat_gets_at_most_one_per_second_counted_from_the_answer() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=10, per_chat_per_second=1, clock=clock)

    async def busy_bot() -> list[float]:  # other chats keep the bot's queue long
        return await _times(limits, clock, 1, [str(-100 - i) for i in range(15)])

    async def one_chat() -> list[float]:
        return [
            t for _ in range(3) for t in await _times(limits, clock, 1, ["-5"], answer_after=0.3)
        ]

    async def main() -> list[float]:
        _, stamps = await asyncio.gather(busy_bot(), one_chat())
        return stamps

    stamps = clock.run(main())
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= 1.3 - 1e-9  # each answer took 0.3 s, then a whole second


def test_one_group_gets_at_most_twenty_a_minute() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(
        per_bot_per_second=30, per_chat_per_second=0, per_group_per_minute=20, clock=clock
    )
    stamps = clock.run(_times(limits, clock, 1, ["-7"] * 25))
    assert _max_in_window(stamps, 60.0) == 20
    assert stamps[2] - stamps[0] == pytest.approx(2 / 30)  # a message in parts goes at once
    assert stamps[20] - stamps[0] == pytest.approx(60.0)


def test_a_turn_holds_a_slot_only_from_just_before_the_turn() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=10, clock=clock)
    slots = asyncio.Semaphore(2)

    async def main() -> tuple[float, float, list[float]]:
        # Ten sends of one bot line up; the slot goes to one of them at a time, so the
        # other slot stays free for another bot meanwhile.
        lined_up = asyncio.gather(*(_times(limits, clock, 1, [f"-{i}"], slots) for i in range(10)))
        await clock.sleep(0.2)
        started = clock.monotonic()
        (other,) = await _times(limits, clock, 2, ["-100"], slots)
        return started, other, sorted(t for ts in await lined_up for t in ts)

    started, other, stamps = clock.run(main())
    assert other == started
    assert min(b - a for a, b in zip(stamps, stamps[1:], strict=False)) == pytest.approx(0.1)


def test_a_turn_cancelled_while_waiting_gives_its_slot_back() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=1, clock=clock)
    slots = asyncio.Semaphore(1)

    async def main() -> None:
        await _times(limits, clock, 1, ["-1"], slots)  # the bot's next turn is a second away
        waiting = asyncio.create_task(_times(limits, clock, 1, ["-2"], slots))
        await clock.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert not slots.locked()

    clock.run(main())


def test_chats_are_forgotten_once_their_logs_empty() -> None:
    table = ChatTable(chat=(1, 0.05), group=(1, 0.05))
    for i in range(3000):
        for log in table.get(("bot", i), now=0.0).logs:
            log.start()
            log.end(0.0)
    busy = table.get(("bot", 0), now=0.0)
    clock = VirtualClock()

    async def main() -> None:
        await busy.lock.acquire()  # a chat with a send waiting its turn is kept
        for i in range(3000, 3000 + 2048):
            table.get(("bot", i), now=10.0)
        assert len(table) < 2100
        assert table.get(("bot", 0), now=10.0) is busy
        busy.lock.release()

    clock.run(main())


def test_account_turns_share_the_bot_budget_with_deliveries_but_not_the_chat_limit() -> None:
    """The bot's screens to officials (paced per chat by the outbox) take account turns:
    with deliveries going at the same time, the bot as a whole stays within 30/s, while
    three screens to one official still go without the chat's 1/s between them."""
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=30, clock=clock)
    screens: list[float] = []

    async def official(n: int) -> None:
        for _ in range(3):
            async with limits.account_turn(1):
                screens.append(clock.monotonic())

    async def both() -> list[float]:
        deliveries, *_ = await asyncio.gather(
            _times(limits, clock, 1, [str(-i) for i in range(40)]),
            *(official(n) for n in range(10)),
        )
        return deliveries

    deliveries = clock.run(both())
    assert len(screens) == 30
    assert _max_in_window(deliveries + screens, 1.0) == 30
    # One official's three screens are 1/30 s apart at most a few turns of the others.
    assert max(screens) - min(screens) < 70 / 30
