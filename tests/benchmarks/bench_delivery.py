"""Delivery benchmark: Loa's engine and its peers against the sandbox, Telegram's limits on.

    python -m tests.benchmarks.bench_delivery [--quick | --full] [--only NAME ...]
        [--postgres-url URL] [--redis-url URL] [--concurrency N] [--profile FILE]

The sandbox runs in its own process (`tests.benchmarks.sandbox_world`) with its chats made
up front; Loa's engine runs in this one (and, where said, in worker subprocesses), on a
fresh SQLite file or a fresh PostgreSQL database per scenario. One JSON line per scenario on
stdout, then a short table. Sizes are `--quick`, the default (`make bench`) or `--full`:

- `one_bot`: one bot, 300 groups (1,000 with --full), limits on: aim >= 0.98 of 30 msg/s,
  zero 429s. `one_bot_burner`: the same while a CPU burner spins on the other core
  (aim >= 0.95). `two_workers_pg_redis`: two worker processes on PostgreSQL sharing the
  bot's limits through Redis while two burners saturate both cores (aim: zero 429s).
- `city`: 40 bots x 150 groups (100 x 500 with --full), limits on; ideal is every bot at
  30/s in parallel.
- `ceiling_{sqlite,postgresql}_{aiogram,lean}`: 5,000 deliveries (50,000 with --full)
  with limits off, through aiogram's send path (Loa before the lean one) and the lean one,
  in the same run: msg/s and CPU ms per message (this process, all threads; `loop_cpu_`:
  the event loop's thread alone, aiosqlite's left out). Aim: >= 3,000 msg/s, <= 0.3 ms.
- `loa_kill`: one bot's notice by a worker process killed -9 a third of the way, and a
  new worker started: duplicates (aim: at most what was in flight), lost (aim 0).
- peers, to the same chats as `one_bot`, each killed -9 a third of the way and started
  again (none of them keeps what it sent except aiogram-broadcaster's FileStorage, so the
  others send the first third again): `aiogram_loop` (sequential sends, sleep(1/30)),
  `ptb_aioratelimiter` (python-telegram-bot's AIORateLimiter) and `aiogram_broadcaster`,
  run by `tests/benchmarks/peers.py` in `.bench-venv` (made by `make bench`; PTB and
  aiogram-broadcaster are no dependency of Loa). A peer that is not installed is skipped,
  and its line says so. Throughput and CPU are the restarted run's.

Deliveries are made due a few seconds after seeding, so that every worker starts on them at
the same moment, and the clock of a run starts at that moment, read with the wall clock the
due time was written by (started before the seeding, it once counted the seeding's time and
then a poll interval of waiting: 0.5 s of a 10 s run). CPU burners are
`python -c "while True: pass"` subprocesses.
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
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
import redis.asyncio as aioredis
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendMessage
from aiogram.types import MessageId
from cryptography.fernet import Fernet
from redis.exceptions import RedisError
from sqlalchemy import func, make_url, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.delivery.process import freeze_startup_heap
from broadcasts.migrate import upgrade_async
from broadcasts.models import Delivery, DeliveryStatus, Notice, NoticeStatus, utcnow
from broadcasts.settings import DeliverySettings, Settings, TelegramSettings
from broadcasts.tokens import use_token_key
from broadcasts.transports.base import OutgoingMessage, SentMessage
from broadcasts.transports.registry import AccountTransports, TransportOptions, settings_transports
from broadcasts.transports.telegram import (
    TelegramTransport,
    TelegramTransports,
    _chat_id,
    _mapped,
    ack_keyboard,
)
from sandbox.telegram.client import SandboxClient
from tests.broadcasts.delivery.world import seed

PER_BOT = 30.0
TEXT = (
    "THÔNG BÁO: Tạm ngưng cung cấp điện khu vực khu phố từ 8 giờ đến 11 giờ sáng Thứ "
    "Bảy để bảo trì lưới điện. Đề nghị các hộ dân chủ động sắp xếp sinh hoạt."
)

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
        deadline = time.monotonic() + 180  # imports take a while on a loaded machine
        while not all("started" in path.read_text() for path in logs):
            if time.monotonic() > deadline or any(c.returncode is not None for c in children):
                tails = [path.read_text()[-2000:] for path in logs]
                raise RuntimeError(f"the worker processes did not start: {tails}")
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
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _loop_cpu() -> float:
    """CPU seconds of this thread (the event loop's), aiosqlite's threads left out."""
    return time.thread_time()


# -- the send path before the lean one, for comparison in the same run ------------------


class _AiogramTextTransport(TelegramTransport):
    """Loa's sendMessage before the lean path: aiogram's method model, multipart form and
    answer validation (narrowed to MessageId, as it was), the same error mapping."""

    async def send(self, message: OutgoingMessage) -> SentMessage:
        if message.files:
            return await super().send(message)
        markup = (
            ack_keyboard(message.ack_delivery_id, message.ack_label)
            if message.ack_delivery_id is not None
            else None
        )
        try:
            sent = await self.bot(
                _AiogramSendMessage(
                    chat_id=_chat_id(message.chat_ref),
                    message_thread_id=int(message.topic_ref) if message.topic_ref else None,
                    text=message.text,
                    parse_mode="HTML" if message.markup == "html" else None,
                    reply_markup=markup,
                ),
                request_timeout=self._timeout,
            )
        except (TelegramAPIError, TimeoutError, aiohttp.ClientError) as exc:
            raise _mapped(exc) from exc
        return SentMessage(message_ref=str(sent.message_id))


class _AiogramSendMessage(SendMessage):
    __returning__ = MessageId  # type: ignore[assignment]


class _AiogramTransports(TelegramTransports):
    def open(self, token: str) -> TelegramTransport:
        transport = super().open(token)
        if not isinstance(transport, _AiogramTextTransport):
            transport = _AiogramTextTransport(transport.bot, timeout=self._timeout)
            self._transports[token] = transport
        return transport


def _transports(
    path: str, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AccountTransports:
    registry = settings_transports(settings=settings, sessionmaker=sessionmaker)
    if path == "aiogram":

        def aiogram(options: TransportOptions) -> TelegramTransports:
            return _AiogramTransports(
                api_base=options.telegram_api_base,
                timeout=options.timeout,
                connection_limit=options.connection_limit,
            )

        registry._makers = {**registry._makers, "telegram": aiogram}
    return registry


# -- databases, Redis, CPU burners ------------------------------------------------------


class Databases:
    """A fresh database per scenario: a SQLite file, or a PostgreSQL database (dropped)."""

    def __init__(self, workdir: Path, postgres_url: str | None) -> None:
        self.workdir = workdir
        self.postgres_url = postgres_url
        self._made: list[str] = []

    async def sqlite(self, name: str) -> str:
        url = f"sqlite+aiosqlite:///{self.workdir / f'{name}.db'}"
        await upgrade_async(url)
        return url

    async def postgres(self, name: str) -> str | None:
        if self.postgres_url is None:
            return None
        database = f"loa_bench_{name}_{secrets.token_hex(4)}"
        await self._admin(f'CREATE DATABASE "{database}"')
        self._made.append(database)
        url = make_url(self.postgres_url).set(database=database).render_as_string(False)
        await upgrade_async(url)
        return url

    async def _admin(self, sql: str) -> None:
        url = make_url(self.postgres_url or "")
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username or "postgres",
            password=url.password, database=url.database or "postgres", timeout=5,
        )  # fmt: skip
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def drop(self) -> None:
        for database in self._made:
            with contextlib.suppress(Exception):
                await self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def _postgres_reachable(url: str) -> bool:
    try:
        await Databases(Path("."), url)._admin("SELECT 1")
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


_REDIS_CLAIM = "loa:bench:claimed"


@contextlib.asynccontextmanager
async def redis_index(base: str) -> AsyncIterator[str | None]:
    """A Redis database index (1-15) nobody uses, claimed with a marker key, flushed
    after (the test fixtures claim theirs the same way); None when Redis is unreachable."""
    for index in range(15, 0, -1):
        url = f"{base.rstrip('/')}/{index}"
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            if not await client.set(_REDIS_CLAIM, "1", nx=True, ex=900):
                continue
            if await client.dbsize() != 1:
                await client.delete(_REDIS_CLAIM)
                continue
            try:
                yield url
            finally:
                await client.flushdb()
            return
        except (OSError, RedisError):
            yield None
            return
        finally:
            await client.aclose()
    yield None


@contextlib.contextmanager
def cpu_burners(count: int) -> Iterator[None]:
    """`count` processes spinning on a core each, as another program on the machine."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


# -- Loa --------------------------------------------------------------------------------


def _settings(
    database_url: str, sandbox_url: str, *, limits: bool, redis_url: str | None, extra: dict
) -> Settings:
    rates: dict[str, Any] = (
        {}
        if limits
        else {"per_bot_per_second": 0, "per_chat_per_second": 0, "per_group_per_minute": 0}
    )
    return Settings(
        _env_file=None,
        database_url=database_url,
        redis_url=redis_url,
        telegram=TelegramSettings(api_base=sandbox_url),
        delivery=DeliverySettings(**rates, **extra),
    )


def _env(settings: Settings) -> dict[str, str]:
    delivery = settings.delivery.model_dump()
    return {
        "LOA_SECRET_KEY": BENCH_SECRET_KEY,
        "LOA_DATABASE_URL": settings.database_url,
        "LOA_REDIS_URL": settings.redis_url or "",
        "LOA_TELEGRAM__API_BASE": settings.telegram.api_base,
        "LOA_LOG_LEVEL": "INFO",
        **{f"LOA_DELIVERY__{k.upper()}": str(v) for k, v in delivery.items() if v is not None},
    }


async def _seed_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    groups: dict[str, list[int]],
    text: str,
    start_at: float,
) -> tuple[int, float]:
    """Seed a notice due `start_at` seconds from now; its id and that moment on
    `time.monotonic()` (read with the wall clock the database's due time is written by)."""
    seeded = await seed(sessionmaker, groups=groups, text=text)
    # Due a few seconds from now, so that every worker starts on it at the same moment.
    wall, monotonic = utcnow(), time.monotonic()
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.notice_id == seeded.notice_id)  # type: ignore[arg-type]
            .values(next_attempt_at=wall + timedelta(seconds=start_at))
        )
    return seeded.notice_id, monotonic + start_at


async def _done(sessionmaker: async_sessionmaker[AsyncSession], notice_id: int) -> bool:
    async with sessionmaker() as session:
        notice = await session.get(Notice, notice_id)
        return notice is not None and notice.status is NoticeStatus.done


async def _not_sent(sessionmaker: async_sessionmaker[AsyncSession], notice_id: int) -> int:
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.notice_id == notice_id,  # type: ignore[arg-type]
                Delivery.status != DeliveryStatus.sent,
            )
        )  # type: ignore[arg-type]
    return int(count or 0)


def _lost(chats: set[str], before: dict[str, Any], after: dict[str, Any]) -> int:
    b, a = before["per_chat"], after["per_chat"]
    return sum(1 for c in chats if a.get(c, 0) - b.get(c, 0) == 0)


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
    path: str = "lean",
    burners: int = 0,
    profile: Path | None = None,
) -> dict[str, Any]:
    """One notice to every chat of `groups` by `workers` workers (this process's and
    `workers - 1` subprocesses), through the lean send path or aiogram's (`path`)."""
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    total = sum(len(chats) for chats in groups.values())
    extra: dict[str, Any] = {"concurrency": concurrency} if concurrency else {}
    settings = _settings(
        database_url,
        sandbox_url,
        limits=limits,
        redis_url=redis_url if workers > 1 and limits else None,
        extra=extra,
    )
    await tg.set_limits(limits)
    start_at = 3.0
    with cpu_burners(burners):
        async with worker_processes(workers - 1, workdir=workdir, env=_env(settings)) as children:
            t_seed = time.monotonic()
            notice_id, due = await _seed_due(sessionmaker, groups, f"[{name}] {TEXT}", start_at)
            log(f"{name}: {total} deliveries seeded in {time.monotonic() - t_seed:.1f}s")
            before = await tg.stats()
            transports = _transports(path, settings, sessionmaker)
            changed = asyncio.Event()

            async def on_progress(notice_ids: set[int]) -> None:
                changed.set()

            # Told at once when this worker completes the notice, so the benchmark need not
            # poll the database (which would cost this process CPU) more than 4 times a
            # second; with other workers, any of which may complete it, 20 times.
            worker = DeliveryWorker(
                sessionmaker=sessionmaker,
                settings=settings,
                transports=transports,
                on_progress=on_progress,
            )
            poll = 0.25 if workers == 1 else 0.05
            freeze_startup_heap()  # as a worker process does once it is loaded
            sampler = Sampler()
            sampler.start()
            cpu_children = _cpu(children)
            loop_cpu = _loop_cpu()
            # CPU time of this thread (the event loop), not wall time: waits and other
            # threads (aiosqlite's) are left out.
            profiler = cProfile.Profile(time.thread_time) if profile is not None else None
            if profiler is not None:
                profiler.enable()
            running = asyncio.create_task(worker.run())
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            worker.wake()  # the others poll (every poll_interval_seconds)
            t0 = time.monotonic()
            done_at = None
            while done_at is None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll):
                        await changed.wait()
                changed.clear()
                if await _done(sessionmaker, notice_id):
                    done_at = time.monotonic()
                if running.done():
                    running.result()
                    raise RuntimeError("the worker stopped early")
            seconds = done_at - t0
            if profiler is not None and profile is not None:
                profiler.disable()
                profiler.dump_stats(profile)
                log(where_the_time_goes(profile))
            loop_cpu = _loop_cpu() - loop_cpu
            cpu_children = _cpu(children) - cpu_children
            await worker.stop()
            await running
            await transports.close()
    cpu = await sampler.stop() + cpu_children
    after = await tg.stats()
    not_sent = await _not_sent(sessionmaker, notice_id)
    await engine.dispose()
    chats = {str(c) for cs in groups.values() for c in cs}
    mid = [rss for at, rss in sampler.samples if at - t0 >= seconds * 0.2]
    return {
        "deliveries": total,
        "workers": workers,
        "send_path": path,
        "database": "postgresql" if database_url.startswith("postgresql") else "sqlite",
        "cpu_burners": burners,
        "seconds": round(seconds, 2),
        "msgs_per_second": round(total / seconds, 1),
        "http_429": after["rejected_429"] - before["rejected_429"],
        "duplicates": after["duplicates"] - before["duplicates"],
        "lost": max(_lost(chats, before, after), not_sent),
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
        "rss_growth_after_20pct_mb": round((max(mid) - mid[0]) / 2**20, 1) if mid else 0.0,
        "cpu_ms_per_message": round(cpu / total * 1000, 3),
        "loop_cpu_ms_per_message": round(loop_cpu / total * 1000, 3) if workers == 1 else None,
    }


async def _start_worker(workdir: Path, env: dict[str, str], name: str) -> psutil.Process:
    path = workdir / f"{name}.log"
    with path.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "broadcasts.delivery"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
    deadline = time.monotonic() + 180  # imports take a while on a loaded machine
    while "started" not in path.read_text():
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker {name} did not start: {path.read_text()[-2000:]}")
        await asyncio.sleep(0.05)
    return psutil.Process(child.pid)


async def _sent_to(tg: SandboxClient, token: str, before: dict[str, Any]) -> int:
    """Messages the bot of `token` sent since `before` (its stats then)."""
    now = (await tg.stats(token))["per_chat"]
    return sum(now.values()) - sum(before.values())


async def run_loa_kill(
    groups: dict[str, list[int]],
    *,
    sandbox_url: str,
    tg: SandboxClient,
    database_url: str,
    workdir: Path,
) -> dict[str, Any]:
    """Loa's kill -9: a worker process is killed a third of the way through one bot's
    notice and a new one started; it takes over once the dead one's leases run out."""
    ((token, chats),) = groups.items()
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    settings = _settings(database_url, sandbox_url, limits=True, redis_url=None, extra={})
    env = _env(settings)
    await tg.set_limits(True)
    before_all = await tg.stats()
    before = (await tg.stats(token))["per_chat"]
    first = await _start_worker(workdir, env, "kill-first")
    cpu_first = _cpu([first])  # from here: its imports are not its sending
    notice_id, _ = await _seed_due(sessionmaker, groups, f"[loa_kill] {TEXT}", 0.0)
    t0 = time.monotonic()
    while await _sent_to(tg, token, before) < len(chats) // 3:
        await asyncio.sleep(0.05)
    cpu_first = _cpu([first]) - cpu_first
    first.kill()
    killed_at = time.monotonic()
    at_kill = await _sent_to(tg, token, before)
    second = await _start_worker(workdir, env, "kill-second")
    ready_after = time.monotonic() - killed_at  # the restart itself (imports)
    cpu_second = _cpu([second])
    resumed_after = None
    try:
        while not await _done(sessionmaker, notice_id):
            if resumed_after is None and await _sent_to(tg, token, before) > at_kill + 1:
                resumed_after = time.monotonic() - killed_at
            await asyncio.sleep(0.05)
        seconds = time.monotonic() - t0
        cpu = cpu_first + _cpu([second]) - cpu_second
    finally:
        second.terminate()
        with contextlib.suppress(psutil.Error):
            second.wait(30)
    after_all = await tg.stats()
    not_sent = await _not_sent(sessionmaker, notice_id)
    await engine.dispose()
    return {
        "deliveries": len(chats),
        "killed_after": at_kill,
        "restarted_after_seconds": round(ready_after, 2),
        "resumed_after_seconds": round(resumed_after or 0.0, 2),
        "seconds": round(seconds, 2),
        "http_429": after_all["rejected_429"] - before_all["rejected_429"],
        "duplicates": after_all["duplicates"] - before_all["duplicates"],
        "lost": max(_lost({str(c) for c in chats}, before_all, after_all), not_sent),
        "cpu_ms_per_message": round(cpu / len(chats) * 1000, 3),
    }


# -- peers ------------------------------------------------------------------------------

PEERS = {
    "aiogram_loop": ("aiogram", "a plain aiogram loop, sleep(1/30) between sends"),
    "ptb_aioratelimiter": ("ptb", "python-telegram-bot, AIORateLimiter"),
    "aiogram_broadcaster": ("broadcaster", "aiogram-broadcaster, 1/30 s interval"),
}


def _peer_python(peer: str) -> str | None:
    venv = Path(__file__).resolve().parents[2] / ".bench-venv" / "bin" / "python"
    if venv.exists():
        check = subprocess.run(
            [str(venv), "-c", f"import {_PEER_MODULE[peer]}"], capture_output=True, check=False
        )
        if check.returncode == 0:
            return str(venv)
    return sys.executable if peer == "aiogram" else None


_PEER_MODULE = {"aiogram": "aiogram", "ptb": "telegram.ext", "broadcaster": "aiogram_broadcaster"}


async def run_peer(
    name: str, chats: list[int], token: str, *, sandbox_url: str, tg: SandboxClient, workdir: Path
) -> dict[str, Any]:
    """A peer sends to `chats`; killed -9 a third of the way, then started again."""
    peer, what = PEERS[name]
    python = _peer_python(peer)
    if python is None:
        return {"peer": what, "skipped": f"{_PEER_MODULE[peer]} is not installed in .bench-venv"}
    chats_file = workdir / f"{name}-chats.json"
    chats_file.write_text(json.dumps(chats))
    command = [
        python,
        str(Path(__file__).with_name("peers.py")),
        "--peer", peer, "--url", sandbox_url, "--token", token, "--chats", str(chats_file),
        "--text", f"[{name}] {TEXT}", "--state", str(workdir / f"{name}-state.json"),
    ]  # fmt: skip
    await tg.set_limits(True)
    before_all = await tg.stats()
    before = (await tg.stats(token))["per_chat"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while await _sent_to(tg, token, before) < len(chats) // 3:
        if first.poll() is not None:
            raise RuntimeError(f"{name} stopped before the kill")
        await asyncio.sleep(0.05)
    first.kill()
    first.wait()
    at_kill = await _sent_to(tg, token, before)
    second = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await second.communicate()
    if second.returncode != 0:
        raise RuntimeError(f"{name} failed after the restart")
    run = json.loads(out.decode().strip().splitlines()[-1])
    after_all = await tg.stats()
    sent = int(run["sent"]) or 1
    rate = sent / float(run["seconds"])
    return {
        "peer": what,
        "deliveries": len(chats),
        "killed_after": at_kill,
        "msgs_per_second": round(rate, 1),
        "limit": PER_BOT,
        "ratio_to_limit": round(rate / PER_BOT, 3),
        "http_429": after_all["rejected_429"] - before_all["rejected_429"],
        "duplicates": after_all["duplicates"] - before_all["duplicates"],
        "lost": _lost({str(c) for c in chats}, before_all, after_all),
        "cpu_ms_per_message": round(float(run["cpu_seconds"]) / sent * 1000, 3),
        "resumes_after_kill": peer == "broadcaster",
    }


# -- the run ----------------------------------------------------------------------------


def where_the_time_goes(path: Path, top: int = 12) -> str:
    """A profile's own time by library, then its top functions."""
    stats = pstats.Stats(str(path))
    by_library: dict[str, float] = {}
    rows = []
    for (file, line, function), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        library = _library(file, function)
        by_library[library] = by_library.get(library, 0.0) + own
        rows.append((own, f"{library}: {Path(file).name}:{line} {function}"))
    busy = sum(by_library.values()) or 1.0
    lines = [f"profile: {busy:.2f} s of the event loop's CPU"]
    for library, own in sorted(by_library.items(), key=lambda kv: -kv[1]):
        if own / busy >= 0.01:
            lines.append(f"  {own / busy:6.1%}  {library}")
    lines.append("top functions (own time):")
    for own, where in sorted(rows, reverse=True)[:top]:
        lines.append(f"  {own:6.3f} s  {where}")
    return "\n".join(lines)


def _library(file: str, function: str) -> str:
    if "site-packages/" in file:
        return file.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    if "/lib/python3" in file:
        return "stdlib " + file.rsplit("/", 1)[-1].removesuffix(".py")
    if file == "~":
        return "builtin " + function.strip("<>").removeprefix("built-in ")
    for package in ("broadcasts", "sandbox", "tests"):
        if f"/{package}/" in file:
            return package + "/" + file.split(f"/{package}/")[1]
    return file


def emit(name: str, result: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    line = {"scenario": name, **result}
    rows.append(line)
    print(json.dumps(line, ensure_ascii=False), flush=True)


def table(rows: list[dict[str, Any]]) -> str:
    """The short table `make bench` ends with."""
    head = "| scenario | msg/s | vs limit | 429s | duplicates | lost | CPU ms/msg |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['scenario']} | skipped: {row['skipped']} | | | | | |")
            continue
        ratio = row.get("ratio_to_limit")
        lines.append(
            f"| {row['scenario']} | {row.get('msgs_per_second', '')} | "
            f"{'' if ratio is None else f'{ratio:.3f}'} | {row.get('http_429', '')} | "
            f"{row.get('duplicates', '')} | {row.get('lost', '')} | "
            f"{row.get('cpu_ms_per_message', '')} |"
        )
    return "\n".join(lines)


SIZES = {
    # (bots, groups per bot)
    "quick": {"one_bot": (1, 150), "city": (20, 100), "ceiling": (10, 300)},
    "standard": {"one_bot": (1, 300), "city": (40, 150), "ceiling": (20, 250)},
    "full": {"one_bot": (1, 1000), "city": (100, 500), "ceiling": (100, 500)},
}
SCENARIOS = (
    "one_bot",
    "one_bot_burner",
    "two_workers_pg_redis",
    "city",
    "ceiling",
    "loa_kill",
    *PEERS,
)


def _one_bot_result(result: dict[str, Any]) -> dict[str, Any]:
    result.pop("rss_growth_after_20pct_mb", None)
    return {
        **result,
        "limit": PER_BOT,
        "ratio_to_limit": round(result["msgs_per_second"] / PER_BOT, 3),
    }


async def main_async(args: argparse.Namespace) -> None:
    sizes = SIZES[args.size]
    wanted = args.only or list(SCENARIOS)
    spec = {name: sizes[name] for name in sizes}
    if not any(w in wanted for w in ("city",)):
        spec.pop("city")
    if "ceiling" not in wanted:
        spec.pop("ceiling")
    rows: list[dict[str, Any]] = []
    postgres = args.postgres_url
    if postgres and not await _postgres_reachable(postgres):
        log(f"PostgreSQL is not reachable at {postgres}: its scenarios are skipped")
        postgres = None
    with tempfile.TemporaryDirectory(prefix="loa-bench-") as tmp:
        workdir = Path(tmp)
        databases = Databases(workdir, postgres)
        log(f"starting the sandbox with {spec}")
        try:
            with sandbox_process(spec, workdir) as world:
                url = world["url"]
                worlds: dict[str, dict[str, list[int]]] = world["worlds"]
                async with SandboxClient(url, timeout=120) as tg:
                    await _scenarios(args, wanted, url, worlds, tg, databases, workdir, rows)
        finally:
            await databases.drop()
    print(table(rows), flush=True)


async def _scenarios(
    args: argparse.Namespace,
    wanted: list[str],
    url: str,
    worlds: dict[str, dict[str, list[int]]],
    tg: SandboxClient,
    databases: Databases,
    workdir: Path,
    rows: list[dict[str, Any]],
) -> None:
    common: dict[str, Any] = {"sandbox_url": url, "tg": tg, "workdir": workdir}
    one_bot = worlds["one_bot"]
    ((token, chats),) = one_bot.items()

    async def pause() -> None:
        await asyncio.sleep(1.2)  # the last scenario's sends leave the bot's window

    if "one_bot" in wanted:
        result = await run_engine(
            "one_bot", one_bot, database_url=await databases.sqlite("one_bot"),
            limits=True, concurrency=args.concurrency, **common,
        )  # fmt: skip
        emit("one_bot", _one_bot_result(result), rows)
        await pause()
    if "one_bot_burner" in wanted:
        result = await run_engine(
            "one_bot_burner", one_bot, database_url=await databases.sqlite("one_bot_burner"),
            limits=True, concurrency=args.concurrency, burners=1, **common,
        )  # fmt: skip
        emit("one_bot_burner", _one_bot_result(result), rows)
        await pause()
    if "two_workers_pg_redis" in wanted:
        async with redis_index(args.redis_url) as redis_url:
            database = await databases.postgres("two_workers")
            if database is None or redis_url is None:
                missing = "PostgreSQL" if database is None else "Redis"
                emit("two_workers_pg_redis", {"skipped": f"{missing} unreachable"}, rows)
            else:
                result = await run_engine(
                    "two_workers_pg_redis", one_bot, database_url=database, limits=True,
                    workers=2, redis_url=redis_url, burners=2, **common,
                )  # fmt: skip
                emit("two_workers_pg_redis", _one_bot_result(result), rows)
        await pause()
    if "city" in wanted:
        bots, per_bot = SIZES[args.size]["city"]
        result = await run_engine(
            "city", worlds["city"], database_url=await databases.sqlite("city"), limits=True,
            concurrency=args.concurrency, **common,
        )  # fmt: skip
        ideal = per_bot / PER_BOT
        emit(
            "city",
            {
                **result,
                "limit": bots * PER_BOT,
                "ratio_to_limit": round(result["msgs_per_second"] / (bots * PER_BOT), 3),
                "ideal_seconds": round(ideal, 2),
                "ratio_to_ideal": round(result["seconds"] / ideal, 3),
            },
            rows,
        )
        await pause()
    if "ceiling" in wanted:
        for database in ("sqlite", "postgresql"):
            for path in ("aiogram", "lean"):
                name = f"ceiling_{database}_{path}"
                if database == "sqlite":
                    db_url: str | None = await databases.sqlite(name)
                else:
                    db_url = await databases.postgres(name)
                if db_url is None:
                    emit(name, {"skipped": "PostgreSQL unreachable"}, rows)
                    continue
                result = await run_engine(
                    name, worlds["ceiling"], database_url=db_url, limits=False,
                    concurrency=args.concurrency, path=path, **common,
                )  # fmt: skip
                emit(name, {**result, "limit": None, "ratio_to_limit": None}, rows)
        if args.profile:  # one more run, profiled: the profiler's cost stays out of the rows
            await run_engine(
                "ceiling_profiled", worlds["ceiling"], limits=False, profile=args.profile,
                database_url=await databases.sqlite("ceiling_profiled"), **common,
            )  # fmt: skip
        await pause()
    if "loa_kill" in wanted:
        result = await run_loa_kill(
            one_bot, database_url=await databases.sqlite("loa_kill"), **common
        )
        emit("loa_kill", result, rows)  # its time is mostly the restart: no rate
        await pause()
    for name in PEERS:
        if name in wanted:
            emit(name, await run_peer(name, chats, token, **common), rows)
            await pause()


def main() -> None:
    use_token_key(BENCH_SECRET_KEY)
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_delivery")
    parser.add_argument("--quick", action="store_true", help="smaller numbers")
    parser.add_argument("--full", action="store_true", help="the 1,000-group and 50,000 sizes")
    parser.add_argument(
        "--concurrency", type=int, help="DeliverySettings.concurrency (sends in flight at once)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LOA_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where fresh databases may be made (skipped when unreachable)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("LOA_BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
        help="a Redis whose free index 1-15 holds the shared limits",
    )
    parser.add_argument("--only", nargs="*", choices=SCENARIOS)
    parser.add_argument(
        "--profile", type=Path, help="one more lean SQLite ceiling run under cProfile: a summary"
    )
    args = parser.parse_args()
    args.size = "quick" if args.quick else "full" if args.full else "standard"
    logging.basicConfig(level=os.environ.get("LOA_LOG_LEVEL", "WARNING"))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
