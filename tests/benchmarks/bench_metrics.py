"""What a /metrics scrape costs the database: the queue figures over a full queue.

    .venv/bin/python -m tests.benchmarks.bench_metrics [--deliveries 50000]

On a fresh PostgreSQL database (127.0.0.1:5432): one city-wide notice's deliveries, half
pending and due, a quarter waiting for a retry, a quarter sending; then `queue_figures`
(the three aggregate queries a scrape runs) 30 times; prints the median and the worst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from datetime import timedelta

from sqlalchemy import insert

from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.metrics import queue_figures
from broadcasts.migrate import upgrade_async
from broadcasts.models import Delivery, DeliveryStatus, utcnow
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree
from tests.conftest import _pg_execute, _pg_url


async def main(deliveries: int) -> dict[str, float | int]:
    from cryptography.fernet import Fernet

    from broadcasts.tokens import use_token_key

    use_token_key(Fernet.generate_key().decode())
    name = f"loa_bench_metrics_{secrets.token_hex(4)}"
    await _pg_execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    engine = make_engine(url)
    try:
        await upgrade_async(url)
        sessionmaker = make_sessionmaker(engine)
        now = utcnow()
        async with session_scope(sessionmaker) as session:
            areas = await seed_tree(session)
            bot = await add_bot(session)
            (channel,) = await add_channels(session, bot, [areas["BT-KP1"]])
            notice, _ = await add_notice(session, areas["BT"], [], [])
            statuses = [DeliveryStatus.pending] * 3 + [DeliveryStatus.sending]
            rows = [
                {
                    "notice_id": notice.id,
                    "channel_id": channel.id,
                    "bot_id": bot.id,
                    "occurrence": i,  # one channel, many occurrences: unique rows
                    "status": statuses[i % 4],
                    "next_attempt_at": now - timedelta(seconds=i % 600)
                    if i % 4 < 2
                    else now + timedelta(minutes=5),
                    "updated_at": now,
                }
                for i in range(deliveries)
            ]
            for start in range(0, len(rows), 5000):
                await session.execute(insert(Delivery), rows[start : start + 5000])
        async with engine.connect() as connection:
            await connection.exec_driver_sql("ANALYZE delivery")
        times = []
        for _ in range(30):
            async with sessionmaker() as session:
                started = time.perf_counter()
                figures = await queue_figures(session=session, now=utcnow())
                times.append(time.perf_counter() - started)
        return {
            "deliveries": deliveries,
            "due": figures.due,
            "median_ms": round(statistics.median(times) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1),
        }
    finally:
        await engine.dispose()
        await _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=50_000)
    print(json.dumps(asyncio.run(main(parser.parse_args().deliveries))))
