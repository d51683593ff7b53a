"""One delivery worker as a process (`loa worker`, `python -m broadcasts.delivery`).

SIGTERM and SIGINT begin a graceful stop: the sends under way finish and are recorded, the
rest is put back for any worker to claim. SIGKILL loses nothing either: the leases of what
this process held run out and another worker takes them over.

`freeze_startup_heap` is called once everything is loaded (here, and by `loa run`): the
several hundred thousand objects the libraries leave at import (aiogram's and pydantic's
models, SQLAlchemy's) live as long as the process, and every full collection of the
garbage collector walked them all again, about 250 ms each time; in the ceiling benchmark
that was a third of the worker's CPU (README, Benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.delivery.worker import DeliveryWorker
from broadcasts.settings import Settings
from broadcasts.tokens import use_token_key

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """Keep what is alive now out of the garbage collector's walks (`gc.freeze`): it lives
    as long as the process. Its cycles were collected first, so nothing is kept that would
    have been freed; objects made later are collected as before.

    The modules, aiogram's and pydantic's models, SQLAlchemy's mappers and the services
    live as long as the process, yet every full collection walked all of them again: in a
    `--quick` polling run of the acknowledgement storm benchmark, 10 full collections took
    3.95 s of CPU; frozen, 11 took 1.76 s. Called once by each process's entry point after
    it has started (`loa run` and its roles, the worker), never by the runtime itself:
    tests start many runtimes in one process, and frozen objects are never freed."""
    gc.collect()
    gc.freeze()


async def run_worker(settings: Settings) -> None:
    """Run one delivery worker until SIGTERM or SIGINT."""
    if settings.secret_key is None:
        raise SystemExit("LOA_SECRET_KEY is not set: the worker reads the bots' encrypted tokens.")
    use_token_key(settings.secret_key.get_secret_value())
    engine = make_engine(settings.database_url)
    worker = DeliveryWorker(sessionmaker=make_sessionmaker(engine), settings=settings)
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, worker.request_stop)
            handled.append(sig)
    freeze_startup_heap()
    log.info("delivery worker %s started", worker.worker_id)
    try:
        await worker.run()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await engine.dispose()
        log.info("delivery worker %s stopped (%d sent)", worker.worker_id, worker.sent_count)
