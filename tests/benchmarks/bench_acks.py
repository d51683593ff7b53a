"""Acknowledgement storm: a whole ward presses «✅ Đã nhận» at once.

    python -m tests.benchmarks.bench_acks [--quick] [--groups N] [--presses N] [--only MODE ...]

The sandbox runs in its own process (`tests.benchmarks.sandbox_world`), with its flood
limits on. Loa runs in this one as `loa run` does (`loa.runtime.Runtime`, every role, the
real aiogram bot), on a fresh SQLite file per scenario. The delivery engine sends one notice
to every group (the button under each message is the engine's own); the official's status
message sits in a private chat. Then people press Đã nhận through the sandbox's control API
(`POST press`, `--concurrency` at a time): `--presses` presses over the groups, each group
pressed by a few people, some of them twice. The bot gets them as callback_query updates:

1. `polling`: by getUpdates, as `loa run` does by default;
2. `webhook`: the sandbox POSTs them to the API's /telegram/webhook route
   (`LOA_TELEGRAM__MODE=webhook`).

One JSON line per scenario on stdout, then a table with each figure next to its aim:
presses per second (first press until the last acknowledgement row is written), press ->
answerCallbackQuery latency p50 and p99 (both stamped by the sandbox's clock; Telegram
refuses an answer after 15 s, counted as "answered late"), edits of the status message per
second (coalesced) and of the group messages, and lost / double-counted presses: the
acknowledgement rows against the distinct (group, person) pairs that pressed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import httpx
import psutil
from pydantic import SecretStr
from sqlalchemy import func, select, update

from broadcasts.db import session_scope
from broadcasts.delivery.process import freeze_startup_heap
from broadcasts.migrate import upgrade_async
from broadcasts.models import Acknowledgement, Channel, Delivery, Notice, NoticeStatus
from broadcasts.settings import ApiSettings, Settings, TelegramSettings
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import SandboxClient
from tests.benchmarks.bench_delivery import BENCH_SECRET_KEY, log, sandbox_process
from tests.broadcasts.delivery.world import seed

Mode = Literal["polling", "webhook"]
MODES: tuple[Mode, ...] = ("polling", "webhook")
FULL = {"groups": 1000, "presses": 10_000}
QUICK = {"groups": 200, "presses": 2_000}
AIMS = {
    "presses_per_second": 500,
    "latency_p99_ms": 1000,
    "unanswered": 0,
    "lost": 0,
    "double_counted": 0,
}
# The bot has taken every press once no row was added for this long. On the shared
# machine (load average 20 on 2 cores) a 5 s lull happened while presses were still
# queued, and they showed as lost.
QUIET_SECONDS = 20.0
OFFICIAL = {"id": 880001, "first_name": "Cán bộ", "last_name": "Phường"}
SECRET = "bench-Secret_token-0123456789"
TEXT = "THÔNG BÁO: Họp tổ dân phố lúc 19 giờ tối Thứ Sáu tại nhà văn hóa khu phố."


def press_plan(
    chats: list[int], presses: int, *, rng: random.Random
) -> list[tuple[int, dict[str, Any]]]:
    """`presses` (chat, person) presses over `chats`, shuffled: in each group about
    seven in ten presses are a new person, the rest someone pressing again."""
    plan: list[tuple[int, dict[str, Any]]] = []
    base, extra = divmod(presses, len(chats))
    for g, chat in enumerate(chats):
        count = base + (1 if g < extra else 0)
        people = max(1, round(count * 0.7)) if count else 0
        users = [
            {"id": 2_000_000 + g * 1000 + k, "first_name": f"Hộ {k}", "last_name": f"Tổ {g}"}
            for k in range(people)
        ]
        chosen = users + [rng.choice(users) for _ in range(count - people)]
        plan += [(chat, user) for user in chosen]
    rng.shuffle(plan)
    return plan


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(database_url: str, sandbox_url: str, token: str, mode: Mode) -> Settings:
    port = _free_port() if mode == "webhook" else 0
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret_key=SecretStr(BENCH_SECRET_KEY),
        telegram=TelegramSettings(
            token=SecretStr(token),
            api_base=sandbox_url,
            poll_timeout_seconds=1,
            mode=mode,
            webhook_url=f"http://127.0.0.1:{port}" if mode == "webhook" else None,
            webhook_secret=SecretStr(SECRET) if mode == "webhook" else None,
        ),
        api=ApiSettings(port=port),
    )


async def _status_message(sandbox_url: str, token: str, tg: SandboxClient) -> int:
    """The official's private chat with the bot, and a message there to be the status."""
    await tg.private_message(token, OFFICIAL, "Xin chào")
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=60) as http:  # a busy machine
        body = (
            await http.post(
                f"/bot{token}/sendMessage",
                json={"chat_id": OFFICIAL["id"], "text": "Đang gửi thông báo…"},
            )
        ).json()
    assert body["ok"], body
    return int(body["result"]["message_id"])


async def _wait(what: str, seconds: float, done: Any) -> None:
    deadline = time.monotonic() + seconds
    while not await done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {seconds:.0f}s")
        await asyncio.sleep(0.1)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def run_storm(
    mode: Mode,
    token: str,
    chats: list[int],
    *,
    sandbox_url: str,
    tg: SandboxClient,
    workdir: Path,
    presses: int,
    concurrency: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    database_url = f"sqlite+aiosqlite:///{workdir / f'acks-{mode}.db'}"
    await upgrade_async(database_url)
    await tg.set_limits(True)
    runtime = Runtime(_settings(database_url, sandbox_url, token, mode), Roles())
    await runtime.start(migrate=False)
    freeze_startup_heap()  # as `loa run` does
    try:
        status_id = await _status_message(sandbox_url, token, tg)
        t0 = time.monotonic()
        seeded = await seed(runtime.sessionmaker, groups={token: chats}, text=f"[{mode}] {TEXT}")
        async with session_scope(runtime.sessionmaker) as session:
            await session.execute(
                update(Notice)
                .where(Notice.id == seeded.notice_id)  # type: ignore[arg-type]
                .values(status_chat_ref=str(OFFICIAL["id"]), status_message_ref=str(status_id))
            )
        assert runtime.worker is not None
        runtime.worker.wake()

        async def sent() -> bool:
            async with runtime.sessionmaker() as session:
                notice = await session.get(Notice, seeded.notice_id)
                return notice is not None and notice.status is NoticeStatus.done

        await _wait("sending the notice to every group", 600, sent)
        log(f"{mode}: the notice reached {len(chats)} groups in {time.monotonic() - t0:.1f}s")
        async with runtime.sessionmaker() as session:
            rows = await session.execute(
                select(Channel.chat_ref, Delivery.provider_message_ref)  # type: ignore[call-overload]
                .join(Channel, Channel.id == Delivery.channel_id)
                .where(Delivery.notice_id == seeded.notice_id)
            )
            # The button is under the last part of the notice.
            message_of = {int(chat): int(mid.split(",")[-1]) for chat, mid in rows.all()}
        # Let the status message settle (the engine's progress edits) before counting.
        await asyncio.sleep(1.0)
        status_edits_before = await _edits(tg, token, status_id)
        stats_before = await tg.stats(token)
        answered_before = set(await tg.callback_times(token))

        plan = press_plan(chats, presses, rng=random.Random(13))
        pairs = {(str(chat), str(user["id"])) for chat, user in plan}
        plan_file, result_file = workdir / f"plan-{mode}.json", workdir / f"pressed-{mode}.json"
        plan_file.write_text(
            json.dumps(
                {
                    "url": sandbox_url,
                    "token": token,
                    "concurrency": concurrency,
                    "presses": [(chat, message_of[chat], user) for chat, user in plan],
                }
            )
        )
        log(f"{mode}: {len(plan)} presses over {len(chats)} groups, {concurrency} at a time")
        me, sandbox = psutil.Process(), psutil.Process().children(recursive=True)
        cpu_before, sandbox_cpu_before = _cpu([me]), _cpu(sandbox)
        profiler = cProfile.Profile() if profile is not None else None
        if profiler is not None:
            profiler.enable()
        # The people press from a process of their own (tests.benchmarks.ack_pressers).
        pressers = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.benchmarks.ack_pressers",
            str(plan_file),
            str(result_file),
            cwd=Path(__file__).resolve().parents[2],
        )
        if await pressers.wait() != 0:
            raise RuntimeError(f"the pressers failed with exit code {pressers.returncode}")
        pressed = json.loads(result_file.read_text())
        refused: list[str] = pressed["refused"]
        pressing = float(pressed["started"])
        presser_cpu = float(pressed["cpu_seconds"])
        # The bot has taken every press once the acknowledgement rows stop growing (or
        # every pair is there); a press answered too late for Telegram still counts.
        rows_of_notice = (
            select(Channel.chat_ref, Acknowledgement.person_ref)  # type: ignore[call-overload]
            .join(Channel, Channel.id == Acknowledgement.channel_id)
            .where(Acknowledgement.notice_id == seeded.notice_id)
        )
        counted = -1
        still = last_row = time.monotonic()
        while time.monotonic() - still < QUIET_SECONDS and counted < len(pairs):
            async with runtime.sessionmaker() as session:
                now_counted = int(
                    await session.scalar(
                        select(func.count())
                        .select_from(Acknowledgement)
                        .where(Acknowledgement.notice_id == seeded.notice_id)  # type: ignore[arg-type]
                    )
                    or 0
                )
            if now_counted != counted:
                still = last_row = time.monotonic()
            counted = now_counted
            await asyncio.sleep(0.2)
        cpu, sandbox_cpu = _cpu([me]) - cpu_before, _cpu(sandbox) - sandbox_cpu_before
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile.with_suffix(f".{mode}.prof"))
        async with runtime.sessionmaker() as session:
            acks = (await session.execute(rows_of_notice)).all()
        # The coalesced edits land within the gather window after the last press.
        await asyncio.sleep(runtime.services.ack_gather_seconds + 2 if runtime.services else 5)
        times = {
            cq: t for cq, t in (await tg.callback_times(token)).items() if cq not in answered_before
        }
        status_edits = await _edits(tg, token, status_id) - status_edits_before
        stats_after = await tg.stats(token)
        edits_total = stats_after["edited"] - stats_before["edited"]
    finally:
        await runtime.stop()
    rows = Counter((str(chat), str(person)) for chat, person in acks)
    lost = len(pairs - set(rows))
    double = sum(n - 1 for n in rows.values()) + sum(1 for p in rows if p not in pairs)
    latencies = [(a - p) * 1000 for p, a in times.values() if a is not None]
    # Taken: from the first press until the last acknowledgement row was written.
    taken = last_row - pressing
    return {
        "mode": mode,
        "groups": len(chats),
        "presses": len(plan),
        "distinct_pairs": len(pairs),
        "concurrency": concurrency,
        "seconds": round(taken, 2),
        "presses_per_second": round(len(plan) / taken, 1) if taken > 0 else 0.0,
        "latency_p50_ms": round(_percentile(latencies, 0.5), 1),
        "latency_p99_ms": round(_percentile(latencies, 0.99), 1),
        "unanswered": len(plan) - len(latencies),
        "press_refused": len(refused),
        "status_edits": status_edits,
        "status_edits_per_second": round(status_edits / taken, 2) if taken > 0 else 0.0,
        "group_edits": edits_total - status_edits,
        "http_429": stats_after["rejected_429"] - stats_before["rejected_429"],
        # CPU over the pressing (until the rows stopped growing, so with a few idle
        # seconds): this process is Loa (all of it); the sandbox and the pressers their own.
        "cpu_ms_per_press": round(cpu * 1000 / len(plan), 2),
        "sandbox_cpu_ms_per_press": round(sandbox_cpu * 1000 / len(plan), 2),
        "presser_cpu_ms_per_press": round(presser_cpu * 1000 / len(plan), 2),
        "ack_rows": sum(rows.values()),
        "lost": lost,
        "double_counted": double,
    }


def _cpu(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of these processes so far."""
    return sum(sum(p.cpu_times()[:2]) for p in processes)


async def _edits(tg: SandboxClient, token: str, message_id: int) -> int:
    for message in await tg.messages(token, int(OFFICIAL["id"])):
        if message["message_id"] == message_id:
            return len(message.get("edits") or [])
    return 0


def table(results: list[dict[str, Any]]) -> str:
    figures = [
        ("presses_per_second", "presses/s", ">= {}"),
        ("latency_p50_ms", "p50 ms", ""),
        ("latency_p99_ms", "p99 ms", "< {}"),
        ("status_edits_per_second", "status edits/s", ""),
        ("group_edits", "group edits", ""),
        ("http_429", "429s", ""),
        ("cpu_ms_per_press", "CPU ms/press", ""),
        ("sandbox_cpu_ms_per_press", "sandbox ms/press", ""),
        ("presser_cpu_ms_per_press", "pressers ms/press", ""),
        ("unanswered", "answered late", "= {}"),
        ("lost", "lost", "= {}"),
        ("double_counted", "double-counted", "= {}"),
    ]
    head = f"{'figure':<16}" + "".join(f"{r['mode']:>12}" for r in results) + "   aim"
    lines = [head, "-" * len(head)]
    for key, label, aim in figures:
        row = f"{label:<16}" + "".join(f"{r[key]:>12}" for r in results)
        lines.append(row + (f"   {aim.format(AIMS[key])}" if aim else ""))
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    sizes = QUICK if args.quick else FULL
    groups = args.groups or sizes["groups"]
    presses = args.presses or sizes["presses"]
    modes = args.only or list(MODES)
    results = []
    with tempfile.TemporaryDirectory(prefix="loa-bench-acks-") as tmp:
        workdir = Path(tmp)
        spec = {mode: (1, groups) for mode in modes}
        log(f"starting the sandbox with {spec}")
        with sandbox_process(spec, workdir) as world:
            url = world["url"]
            async with SandboxClient(url, timeout=120) as tg:
                for mode in modes:
                    [(token, chats)] = world["worlds"][mode].items()
                    result = await run_storm(
                        mode,
                        token,
                        chats,
                        sandbox_url=url,
                        tg=tg,
                        workdir=workdir,
                        presses=presses,
                        concurrency=args.concurrency,
                        profile=args.profile,
                    )
                    print(json.dumps({"scenario": f"ack_storm_{mode}", **result}), flush=True)
                    results.append(result)
    print(table(results), file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="200 groups, 2,000 presses")
    parser.add_argument("--groups", type=int, default=0)
    parser.add_argument("--presses", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--only", nargs="+", choices=MODES)
    parser.add_argument("--profile", type=Path, help="cProfile the pressing into PATH.<mode>.prof")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
