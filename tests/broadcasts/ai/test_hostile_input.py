"""Hostile notices: the AI step stays linear, leaves the event loop free, keeps its deadline
and refuses a notice longer than it reads.

The timing property is a bound on catastrophic backtracking, not a benchmark: before the
finders were rewritten, «1 1 1 …» took 1 s of CPU at 500 characters, 8 s at 1,000 and 54 s
at 2,000 (cubic: 10,000 would take over an hour), and 10 of the 43 repeated pieces below
went over 1 s; now every text here, up to 10,000 characters, takes about what an ordinary
notice of 10,000 characters takes (at most 3 times as long on this machine).

So the bound is relative, never absolute: a hostile text may take at most `TIMES_ORDINARY`
times the CPU of an ordinary notice of `MAX_CHARS` characters measured in the same test, so
a slow or loaded machine slows both sides alike (a CI run under load once took 1.1 s for a
text that takes 0.27 s here). Catastrophic backtracking is hundreds of times over that.
Time is CPU time of the whole process (`time.process_time`, worker threads included).
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broadcasts.ai import AISettings, prepare_notice
from broadcasts.ai import prepare as prepare_module
from broadcasts.delivery.split import split_text
from broadcasts.errors import InvalidInput, NoticeTooComplex, NoticeTooLong
from tests.broadcasts.ai.helpers import sample

MAX_CHARS = 10_000
TIMES_ORDINARY = 10
OFFLINE = AISettings()

# Pieces that each made one finder work superlinearly (or could): digit groups with every
# separator, repeated keywords that start a search, long runs without a space.
PIECES = (
    "1 ",
    "11 ",
    "123.",
    "12-",
    "1/",
    "1,",
    "1.",
    "9",
    "０",
    "+84 ",
    "(1 ",
    "0\u200b9",
    "1\u200b",
    "số 12 đến số ",
    "đoạn từ số 1 đến số 2 ",
    "Lê Lợi: đoạn từ số ",
    "tại ",
    "thường trú tại ",
    "từ ",
    "12 giờ ",
    "1 tháng ",
    "Ngày 1, ",
    "⟦P1⟧ ",
    "Ông An ",
    "ÔNG AN ",
    "bà ",
    "Nguyễn Văn A, ",
    "Danh sách a: ",
    "nhà ông ",
    "STK ",
    "CCCD ",
    "sinh ngày ",
    "51F-1",
    "a@",
    "a(at)",
    "a at b chấm ",
    ".a",
    "a.",
    ".",
    "-",
    " ",
    "(",
    "\n",
)


@pytest.fixture(autouse=True, scope="module")
def _warm() -> None:
    """Import what the offline engine loads on first use, outside the measured time."""
    asyncio.run(prepare_notice(sample("01-cat-dien.txt"), ["vi"], settings=OFFLINE))


def cpu_seconds(text: str) -> float:
    started = time.process_time()
    asyncio.run(prepare_notice(text, ["vi", "en"], settings=OFFLINE))
    return time.process_time() - started


def repeated(text: str, length: int) -> str:
    return (text * (length // len(text) + 1))[:length]


def ordinary_seconds() -> float:
    """The peer: CPU for an ordinary notice, repeated to `MAX_CHARS`, measured now."""
    return cpu_seconds(repeated(sample("01-cat-dien.txt") + "\n", MAX_CHARS))


def within_budget(text: str) -> None:
    hostile, ordinary = cpu_seconds(text), ordinary_seconds()
    assert hostile <= TIMES_ORDINARY * ordinary, (
        f"{hostile:.3f} s of CPU against {ordinary:.3f} s for an ordinary notice"
    )


@pytest.mark.parametrize("piece", PIECES, ids=[repr(p) for p in PIECES])
def test_repeated_pieces_up_to_the_limit(piece: str) -> None:
    within_budget(repeated(piece, MAX_CHARS))


_mixed = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).flatmap(
    lambda pieces: st.integers(min_value=200, max_value=MAX_CHARS).map(
        lambda n: ("".join(pieces) * (n // len("".join(pieces)) + 1))[:n]
    )
)


@settings(
    derandomize=True,
    database=None,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=st.one_of(_mixed, st.text(max_size=MAX_CHARS)))
@example(text=("1 " * MAX_CHARS)[:MAX_CHARS])
@example(text=("0903 456 789 " * 800)[:MAX_CHARS])
@example(text=(sample("06-tai-san-that-lac.txt") * 20)[:MAX_CHARS])
def test_any_text_up_to_the_limit(text: str) -> None:
    within_budget(text)


def split_seconds(text: str) -> float:
    """The least CPU of three splits (one split takes a few milliseconds)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        split_text(text, 4096)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("piece", [".", "!?", "…", ";", "\n", " "])
def test_splitting_a_long_text_for_delivery_is_linear_too(piece: str) -> None:
    text = "x" + piece * (2 * MAX_CHARS // len(piece)) + "x"  # 20,000: a rendition edited long
    ordinary = split_seconds(repeated(sample("01-cat-dien.txt"), len(text)))
    # 5 times the ordinary text here; quadratic splitting would be thousands of times.
    assert split_seconds(text) <= 50 * max(ordinary, 1e-4)
    parts = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in parts) and parts[0].startswith("x")


async def test_a_notice_longer_than_the_limit_is_refused() -> None:
    cap = AISettings(max_notice_chars=1_000)
    await prepare_notice("a" * 1_000, ["vi"], settings=cap)  # at the limit: fine
    with pytest.raises(NoticeTooLong) as caught:
        await prepare_notice("a" * 1_001, ["vi"], settings=cap)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.detail == {"reason": "too_long", "limit": 1_000, "length": 1_001}


async def test_the_work_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    real = prepare_module._offline

    def spy(*args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(prepare_module, "_offline", spy)
    loop_thread = threading.current_thread()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        prep = await prepare_notice(sample("01-cat-dien.txt"), ["vi"], settings=OFFLINE)
    finally:
        task.cancel()
    assert prep.engine == "offline"
    assert threads and all(t is not loop_thread for t in threads)
    assert ticks > 0  # the loop served another task meanwhile


async def test_the_step_keeps_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def stuck(*args: object, **kwargs: object) -> object:
        release.wait(30)
        raise AssertionError("not reached in time")

    monkeypatch.setattr(prepare_module, "_offline", stuck)
    try:
        with pytest.raises(NoticeTooComplex) as caught:
            await prepare_notice(
                sample("01-cat-dien.txt"), ["vi"], settings=AISettings(step_deadline_seconds=0.2)
            )
    finally:
        release.set()
    assert caught.value.detail == {"reason": "too_slow"}
