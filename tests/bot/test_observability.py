"""Metrics and health of a whole Loa (every role, polling the sandbox, the API on a real
port): /metrics moves when a notice goes out, is rate limited once and is acknowledged;
/health sees the runtime's own heartbeats (the bot receiving, the worker delivering)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.models import DeliveryStatus, ProcessHeartbeat
from tests.bot.telegram_world import TOKEN, USERNAME, Loa, open_loa
from tests.support.metrics import sample

LEADERS = {
    "BT-KP1": {"id": 8401, "first_name": "Lan"},
    "BT-KP2": {"id": 8402, "first_name": "Minh"},
}


async def _register(loa: Loa, area: str) -> int:
    leader = LEADERS[area]
    chat_id = await loa.client.add_bot_to_group(TOKEN, f"Nhóm {area}", leader)
    await loa.client.group_message(TOKEN, chat_id, leader, f"/dangky@{USERNAME} {loa.codes[area]}")
    await loa.player.wait_text(chat_id, "✅")
    return chat_id


async def _scrape(loa: Loa) -> str:
    response = await loa.api.get("/metrics")  # from 127.0.0.1, no token set: allowed
    assert response.status_code == 200, response.text
    return response.text


async def test_metrics_move_when_a_notice_is_sent_rate_limited_and_acknowledged(
    database_url: str,
) -> None:
    async with open_loa(database_url) as loa:
        chats = {area: await _register(loa, area) for area in LEADERS}
        bot = str(loa.runtime.bot_account_id)
        await loa.client.add_fault(
            "429", token=TOKEN, chat_id=chats["BT-KP2"], method="sendMessage", retry_after=1
        )
        before = await _scrape(loa)
        notice_id = await loa.send_notice(list(LEADERS), "Cúp điện 8 giờ sáng thứ Bảy 12/12.")

        def all_sent(rows: dict[str, Any]) -> bool:
            return bool(rows) and all(d.status == DeliveryStatus.sent for d in rows.values())

        await loa.wait_for(lambda: loa.deliveries(notice_id), all_sent, "both deliveries sent")
        answer = await loa.player.press(chats["BT-KP1"], "ack:", LEADERS["BT-KP1"])
        assert "Cảm ơn" in answer

        def moved(text: str, name: str, **labels: str) -> float:
            return sample(text, name, **labels) - sample(before, name, **labels)

        after = await loa.wait_for(
            lambda: _scrape(loa),
            lambda text: moved(text, "loa_acknowledgements_total", method="button") == 1,
            "the press counted",
        )
        sent = {"result": "sent", "transport": "telegram", "kind": "notice"}
        assert moved(after, "loa_deliveries_total", **sent) == 2
        # The 429 is a retry of the same delivery, paused, then sent: not a failure.
        assert moved(after, "loa_deliveries_total", result="retry", transport="telegram") == 1
        assert moved(after, "loa_deliveries_total", result="failed") == 0
        assert moved(after, "loa_rate_limited_total", bot=bot, transport="telegram") == 1
        # Two sends answered (the refused one is not timed), each within the largest bucket.
        assert moved(after, "loa_send_seconds_count", transport="telegram") == 2
        assert moved(after, "loa_send_seconds_bucket", transport="telegram", le="+Inf") == 2
        assert moved(after, "loa_dispatch_lag_seconds_count") == 1
        assert sample(after, "loa_delivery_queue_depth", state="due") == 0
        assert sample(after, "loa_delivery_oldest_due_age_seconds") == 0


async def test_health_sees_the_runtime_receiving_and_delivering(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        health = await loa.wait_health(
            lambda h: h["receiving"]["state"] == "ok" and h["delivering"]["state"] == "ok"
        )
        assert health["status"] == "ok" and health["up"] is True
        assert health["receiving"]["processes"] == 1 and health["delivering"]["processes"] == 1
        worker_id = loa.runtime.worker.worker_id if loa.runtime.worker else ""
    # Stopped cleanly: the worker took its heartbeat away (the bot's goes stale instead).
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            left = list(await session.scalars(select(col(ProcessHeartbeat.process_id))))
    finally:
        await engine.dispose()
    assert worker_id and worker_id not in left
    assert len(left) == 1 and left[0].startswith("bot:")
