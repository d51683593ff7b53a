"""One delivery worker as a process (`loa worker`, `python -m broadcasts.delivery`).

SIGTERM and SIGINT begin a graceful stop: the sends under way finish and are recorded, the
rest is put back for any worker to claim. SIGKILL loses nothing either: the leases of what
this process held run out and another worker takes them over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.delivery.worker import DeliveryWorker
from broadcasts.settings import Settings
from broadcasts.tokens import use_token_key

log = logging.getLogger(__name__)


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
    log.info("delivery worker %s started", worker.worker_id)
    try:
        await worker.run()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await engine.dispose()
        log.info("delivery worker %s stopped (%d sent)", worker.worker_id, worker.sent_count)
