"""Delivery benchmark: the engine against the sandbox with Telegram's limits enforced.

    python -m tests.benchmarks.bench_delivery [--quick] [--database-url URL] [--only NAME ...]
                                              [--workers N --redis-url URL] [--concurrency N]

The sandbox runs in its own process (`tests.benchmarks.sandbox_world`); the engine runs in
this one, on a fresh SQLite file per scenario unless `--database-url` names another
database (it is migrated, and rows are left behind). One JSON line per scenario on stdout:

1. `one_bot`: one bot, 1,000 group chats, limits on; the aim is >= 0.95 of 30 msg/s
   with no 429 caused by Loa's pace.
2. `city`: 100 bots x 500 group chats (one city-wide notice, 50,000 deliveries), limits
   on; ideal time is 500 / 30 s (every bot at 30/s in parallel), the aim within 1.1x.
3. `ceiling`: the same 50,000 with limits off (sandbox and engine): the engine's ceiling
   in msg/s and the CPU seconds it spends per 1,000 messages; the aim >= 1,000 msg/s.
4. `naive_loop`: for comparison, a plain aiogram loop sending to scenario 1's chats with a
   fixed `sleep(1/30)` between sends.

With `--workers N`, scenarios 2 and 3 run N worker processes (this one and N-1
`python -m broadcasts.delivery`), sharing limits through Redis. Deliveries are made due a
few seconds after seeding, so that every worker starts on them at the same moment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from cryptography.fernet import Fernet
from sqlalchemy import func, select, update

from broadcasts.db import is_sqlite, make_engine, make_sessionmaker, session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.migrate import upgrade_async
from broadcasts.models import Delivery, DeliveryStatus, Notice, NoticeStatus, utcnow
from broadcasts.settings import DeliverySettings, Settings, TelegramSettings
from broadcasts.tokens import use_token_key
from sandbox.telegram.client import SandboxClient
from tests.broadcasts.delivery.world import seed

PER_BOT = 30.0
TEXT = (
    "THÔNG BÁO: Tạm ngưng cung cấp điện khu vực khu phố từ 8 giờ đến 11 giờ sáng Thứ "
    "Bảy để bảo trì lưới điện. Đề nghị các hộ dân chủ động sắp xếp sinh hoạt."
)

FULL = {"one_bot": (1, 1000), "city": (100, 500), "ceiling": (100, 500)}
QUICK = {"one_bot": (1, 150), "city": (20, 100), "ceiling": (20, 250)}
# The bots' tokens are stored encrypted: one key for this run, in-process and in workers.
BENCH_SECRET_KEY = Fernet.generate_key().decode()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def sandbox_process(spec: dict[str, tuple[int, int]], workdir: Path) -> Iterator[dict[str, Any]]:
    out = workdir / "world.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.sandbox_world",
            "--spec",
            json.dumps(spec),
            "--out",
            str(out),
        ],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 600
        while not out.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.1)
        yield json.loads(out.read_text())
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


class Sampler:
    """This process's peak RSS and CPU time over a run."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            rss = self.process.memory_info().rss
            self.peak = max(self.peak, rss)
            self.samples.append((time.monotonic(), rss))
            await asyncio.sleep(0.2)

    def start(self) -> None:
        times = self.process.cpu_times()
        self.cpu = times.user + times.system
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        times = self.process.cpu_times()
        return float(times.user + times.system - self.cpu)


async def _database(url: str | None, workdir: Path, name: str) -> str:
    database_url = url or f"sqlite+aiosqlite:///{workdir / f'{name}.db'}"
    await upgrade_async(database_url)
    return database_url


@contextlib.asynccontextmanager
async def worker_processes(
    count: int, *, workdir: Path, env: dict[str, str]
) -> AsyncIterator[list[psutil.Process]]:
    """`count` more workers (`python -m broadcasts.delivery`), polling once this yields."""
    children: list[asyncio.subprocess.Process] = []
    logs = [workdir / f"worker-{i}.log" for i in range(count)]
    try:
        for path in logs:
            with path.open("wb") as out:
                children.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "broadcasts.delivery",
                        env={**os.environ, **env},
                        stdout=out,
                        stderr=asyncio.subprocess.STDOUT,
                        cwd=Path(__file__).resolve().parents[2],
                    )
                )
        deadline = time.monotonic() + 60
        while not all("started" in path.read_text() for path in logs):
            if time.monotonic() > deadline:
                raise RuntimeError("the worker processes did not start")
            await asyncio.sleep(0.1)
        yield [psutil.Process(child.pid) for child in children]
    finally:
        for child in children:
            if child.returncode is None:
                child.terminate()
        for child in children:
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        times = process.cpu_times()
        total += times.user + times.system
    return total


async def run_engine(
    name: str,
    groups: dict[str, list[int]],
    *,
    sandbox_url: str,
    tg: SandboxClient,
    database_url: str,
    limits: bool,
    concurrency: int | None = None,
    workers: int = 1,
    redis_url: str | None = None,
    workdir: Path,
    profile: Path | None = None,
) -> dict[str, Any]:
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    total = sum(len(chats) for chats in groups.values())
    rates: dict[str, Any] = (
        {}
        if limits
        else {"per_bot_per_second": 0, "per_chat_per_second": 0, "per_group_per_minute": 0}
    )
    if concurrency:
        rates["concurrency"] = concurrency
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        redis_url=redis_url if workers > 1 and limits else None,
        telegram=TelegramSettings(api_base=sandbox_url),
        delivery=DeliverySettings(**rates),
    )
    env = {
        "LOA_SECRET_KEY": BENCH_SECRET_KEY,
        "LOA_DATABASE_URL": database_url,
        "LOA_REDIS_URL": settings.redis_url or "",
        "LOA_TELEGRAM__API_BASE": sandbox_url,
        "LOA_LOG_LEVEL": "INFO",
        **{f"LOA_DELIVERY__{k.upper()}": str(v) for k, v in rates.items()},
    }
    await tg.set_limits(limits)
    async with worker_processes(workers - 1, workdir=workdir, env=env) as children:
        started = time.monotonic()
        # Due a few seconds from now, so that every worker starts on it at the same moment.
        start_at = 3.0
        seeded = await seed(sessionmaker, groups=groups, text=f"[{name}] {TEXT}")
        log(f"{name}: {total} deliveries seeded in {time.monotonic() - started:.1f}s")
        async with session_scope(sessionmaker) as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.notice_id == seeded.notice_id)  # type: ignore[arg-type]
                .values(next_attempt_at=utcnow() + timedelta(seconds=start_at))
            )
        due = time.monotonic() + start_at
        before = await tg.stats()
        worker = DeliveryWorker(sessionmaker=sessionmaker, settings=settings)
        sampler = Sampler()
        sampler.start()
        cpu_children = _cpu(children)
        # CPU time of this thread (the event loop), not wall time: waits and other threads
        # (aiosqlite's) are left out.
        profiler = cProfile.Profile(time.thread_time) if profile is not None else None
        if profiler is not None:
            profiler.enable()
        running = asyncio.create_task(worker.run())
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        worker.wake()  # the others poll (every poll_interval_seconds)
        t0 = time.monotonic()
        done_at = None
        while done_at is None:
            await asyncio.sleep(0.05)
            async with sessionmaker() as session:
                notice = await session.get(Notice, seeded.notice_id)
                if notice is not None and notice.status is NoticeStatus.done:
                    done_at = time.monotonic()
            if running.done():
                running.result()
                raise RuntimeError("the worker stopped early")
        seconds = done_at - t0
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
            log(where_the_time_goes(profile))
        await worker.stop()
        await running
        cpu_children = _cpu(children) - cpu_children
    cpu = await sampler.stop() + cpu_children
    after = await tg.stats()
    async with sessionmaker() as session:
        not_sent = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.notice_id == seeded.notice_id,  # type: ignore[arg-type]
                Delivery.status != DeliveryStatus.sent,
            )
        )  # type: ignore[arg-type]
    await engine.dispose()
    chats = {str(c) for cs in groups.values() for c in cs}
    before_chat, after_chat = before["per_chat"], after["per_chat"]
    lost = sum(1 for c in chats if after_chat.get(c, 0) - before_chat.get(c, 0) == 0)
    mid = [rss for at, rss in sampler.samples if at - t0 >= seconds * 0.2]
    return {
        "deliveries": total,
        "workers": workers,
        "seconds": round(seconds, 2),
        "msgs_per_second": round(total / seconds, 1),
        "http_429": after["rejected_429"] - before["rejected_429"],
        "duplicates": after["duplicates"] - before["duplicates"],
        "lost": max(lost, int(not_sent or 0)),
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
        "rss_growth_after_20pct_mb": round((max(mid) - mid[0]) / 2**20, 1) if mid else 0.0,
        "cpu_seconds_per_1000": round(cpu / total * 1000, 3),
    }


async def run_naive(
    chats: list[int], token: str, *, sandbox_url: str, tg: SandboxClient
) -> dict[str, Any]:
    await tg.set_limits(True)
    before = await tg.stats()
    session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = Bot(token, session=session)
    sampler = Sampler()
    sampler.start()
    limited = 0
    t0 = time.monotonic()
    try:
        for chat in chats:
            while True:
                try:
                    await bot.send_message(chat_id=chat, text=f"[naive] {TEXT}")
                    break
                except TelegramRetryAfter as exc:
                    limited += 1
                    await asyncio.sleep(exc.retry_after)
            await asyncio.sleep(1 / PER_BOT)
        seconds = time.monotonic() - t0
    finally:
        await session.close()
    cpu = await sampler.stop()
    after = await tg.stats()
    return {
        "deliveries": len(chats),
        "seconds": round(seconds, 2),
        "msgs_per_second": round(len(chats) / seconds, 1),
        "limit": PER_BOT,
        "ratio_to_limit": round(len(chats) / seconds / PER_BOT, 3),
        "http_429": limited,
        "duplicates": after["duplicates"] - before["duplicates"],
        "lost": 0,
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
        "cpu_seconds_per_1000": round(cpu / len(chats) * 1000, 3),
    }


def where_the_time_goes(path: Path, top: int = 12) -> str:
    """A profile's own time by library (the hot loop's share of each), then its top functions."""
    stats = pstats.Stats(str(path))
    by_library: dict[str, float] = {}
    rows = []
    for (file, line, function), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        library = _library(file, function)
        by_library[library] = by_library.get(library, 0.0) + own
        rows.append((own, f"{library}: {Path(file).name}:{line} {function}"))
    total = sum(by_library.values()) or 1.0
    idle = by_library.get("waiting (epoll)", 0.0)
    busy = total - idle
    lines = [f"profile: {total:.2f} s sampled, {busy:.2f} s busy"]
    for library, own in sorted(by_library.items(), key=lambda kv: -kv[1]):
        if library != "waiting (epoll)" and own / busy >= 0.01:
            lines.append(f"  {own / busy:6.1%}  {library}")
    lines.append("top functions (own time):")
    for own, where in sorted(rows, reverse=True)[: top + 1]:
        if not where.startswith("waiting"):
            lines.append(f"  {own:6.3f} s  {where}")
    return "\n".join(lines)


def _library(file: str, function: str) -> str:
    if "select.epoll" in function:
        return "waiting (epoll)"
    if "site-packages/" in file:
        return file.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    if "/lib/python3" in file:
        return "stdlib " + file.rsplit("/", 1)[-1].removesuffix(".py")
    if file == "~":
        return "builtins " + function.split(" of ")[-1].strip("<>' ").removesuffix(" objects")
    for package in ("broadcasts", "sandbox", "tests"):
        if f"/{package}/" in file:
            return package + "/" + file.split(f"/{package}/")[1]
    return file


def emit(name: str, result: dict[str, Any]) -> None:
    print(json.dumps({"scenario": name, **result}, ensure_ascii=False), flush=True)


async def main_async(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else FULL
    wanted = args.only or ["one_bot", "city", "ceiling", "naive_loop"]
    spec = {
        name: sizes[name]
        for name in sizes
        if name in wanted or (name == "one_bot" and "naive_loop" in wanted)
    }
    with tempfile.TemporaryDirectory(prefix="loa-bench-") as tmp:
        workdir = Path(tmp)
        log(f"starting the sandbox with {spec}")
        with sandbox_process(spec, workdir) as world:
            url = world["url"]
            worlds: dict[str, dict[str, list[int]]] = world["worlds"]
            async with SandboxClient(url, timeout=120) as tg:
                if "one_bot" in wanted:
                    db = await _database(args.database_url, workdir, "one_bot")
                    result = await run_engine(
                        "one_bot",
                        worlds["one_bot"],
                        sandbox_url=url,
                        tg=tg,
                        database_url=db,
                        limits=True,
                        concurrency=args.concurrency,
                        workdir=workdir,
                    )
                    result.pop("rss_growth_after_20pct_mb")
                    result.pop("cpu_seconds_per_1000")
                    result.update(
                        limit=PER_BOT, ratio_to_limit=round(result["msgs_per_second"] / PER_BOT, 3)
                    )
                    emit("one_bot", result)
                if "city" in wanted:
                    db = await _database(args.database_url, workdir, "city")
                    bots, per_bot = sizes["city"]
                    result = await run_engine(
                        "city",
                        worlds["city"],
                        sandbox_url=url,
                        tg=tg,
                        database_url=db,
                        limits=True,
                        concurrency=args.concurrency,
                        workers=args.workers,
                        redis_url=args.redis_url,
                        workdir=workdir,
                    )
                    result.pop("cpu_seconds_per_1000")
                    ideal = per_bot / PER_BOT
                    result.update(
                        limit=bots * PER_BOT,
                        ratio_to_limit=round(result["msgs_per_second"] / (bots * PER_BOT), 3),
                        ideal_seconds=round(ideal, 2),
                        ratio_to_ideal=round(result["seconds"] / ideal, 3),
                    )
                    emit("city", result)
                if "ceiling" in wanted:
                    db = await _database(args.database_url, workdir, "ceiling")
                    result = await run_engine(
                        "ceiling",
                        worlds["ceiling"],
                        sandbox_url=url,
                        tg=tg,
                        database_url=db,
                        limits=False,
                        concurrency=args.concurrency,
                        workers=args.workers,
                        workdir=workdir,
                        profile=args.profile,
                    )
                    result.update(limit=None, ratio_to_limit=None)
                    emit("ceiling", result)
                if "naive_loop" in wanted:
                    ((token, chats),) = worlds["one_bot"].items()
                    emit("naive_loop", await run_naive(chats, token, sandbox_url=url, tg=tg))


def main() -> None:
    use_token_key(BENCH_SECRET_KEY)
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_delivery")
    parser.add_argument("--quick", action="store_true", help="smaller numbers, ~1 minute")
    parser.add_argument("--database-url", help="instead of a fresh SQLite file per scenario")
    parser.add_argument(
        "--concurrency", type=int, help="DeliverySettings.concurrency (sends in flight at once)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes for `city` and `ceiling` (the extra ones run "
        "`python -m broadcasts.delivery`; `city` then needs --redis-url)",
    )
    parser.add_argument("--redis-url", help="shared limits for --workers > 1")
    parser.add_argument(
        "--profile", type=Path, help="cProfile the ceiling run into this file; print a summary"
    )
    parser.add_argument("--only", nargs="*", choices=["one_bot", "city", "ceiling", "naive_loop"])
    args = parser.parse_args()
    if args.workers > 1 and not args.redis_url and (not args.only or "city" in args.only):
        parser.error("--workers > 1 with limits on needs --redis-url (limits shared)")
    if args.database_url and is_sqlite(args.database_url):
        log("note: one SQLite database is shared by every scenario")
    logging.basicConfig(level=os.environ.get("LOA_LOG_LEVEL", "WARNING"))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
