"""The acknowledgement storm benchmark at a tiny size: every distinct (group, person) pair
that pressed «✅ Đã nhận» is counted once, in polling and in webhook mode. Correctness only:
the benchmark's speed figures are not checked here."""

from __future__ import annotations

import argparse
import random

from tests.benchmarks.bench_acks import main_async, press_plan


def test_the_press_plan_repeats_people_within_each_group() -> None:
    chats = list(range(-100, -120, -1))
    plan = press_plan(chats, 100, rng=random.Random(1))
    assert len(plan) == 100
    assert {chat for chat, _ in plan} == set(chats)
    pairs = {(chat, user["id"]) for chat, user in plan}
    assert len(pairs) == 80  # 5 presses per group: 4 people, one of them twice
    assert len({user["id"] for _, user in plan}) == 80  # nobody is in two groups


async def test_a_small_storm_loses_and_double_counts_nothing() -> None:
    args = argparse.Namespace(
        quick=False,
        groups=20,
        presses=100,
        concurrency=8,
        only=["polling", "webhook"],
        profile=None,
    )
    results = await main_async(args)
    assert [r["mode"] for r in results] == ["polling", "webhook"]
    for result in results:
        assert result["presses"] == 100
        assert result["distinct_pairs"] == 80
        assert result["press_refused"] == 0
        assert result["unanswered"] == 0
        assert result["ack_rows"] == 80
        assert result["lost"] == 0
        assert result["double_counted"] == 0
        assert result["status_edits"] >= 1  # the official's status message followed
