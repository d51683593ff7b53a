"""The delivery engine through the Zalo transport: a long notice cut within 2,000
characters with the reply line on the last part, a 429 «Quota exceeded» answered with a
pause and a retry (not a failure), a Zalo bot paced at its own (slower) rate."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.ai import AISettings
from broadcasts.corrections import correct_notice
from broadcasts.db import session_scope
from broadcasts.delivery import DeliveryWorker
from broadcasts.delivery.limits import MemoryLimits
from broadcasts.links import LinkKind, verify
from broadcasts.models import (
    Area,
    AreaLevel,
    BotAccount,
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Rendition,
    utcnow,
)
from broadcasts.reminders import remind_silent
from broadcasts.settings import ApiSettings, DeliverySettings, Settings, ZaloSettings
from sandbox.zalo import ZaloControl, ZaloSandbox
from tests.broadcasts.delivery.virtual_time import VirtualClock
from tests.broadcasts.delivery.world import add_deliveries
from tests.zalo.conftest import CHIN, LAN, new_zalo_token

HINT = 'Trả lời 1 hoặc "đã nhận" để xác nhận.'
PUBLIC = "https://loa.example.vn"
SENTENCE = "Người dân khu phố 1 chú ý lịch cắt điện để bảo trì lưới điện vào sáng thứ Bảy. "


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], token: str, chats: list[str], text: str
) -> list[int]:
    async with session_scope(sessionmaker) as session:
        ward = Area(code="ZW", name="Phường Zalo", level=AreaLevel.ward, path="ZW/")
        session.add(ward)
        await session.flush()
        bot = BotAccount(transport="zalo", token=token, username="bot.loa", ward_id=ward.id)
        session.add(bot)
        await session.flush()
        channels = [
            Channel(area_id=ward.id or 0, bot_id=bot.id or 0, transport="zalo", chat_ref=chat)
            for chat in chats
        ]
        session.add_all(channels)
        notice = Notice(
            ward_id=ward.id or 0,
            text=text,
            status=NoticeStatus.dispatching,
            dispatched_at=utcnow(),
        )
        session.add(notice)
        await session.flush()
        session.add(Rendition(notice_id=notice.id or 0, locale="vi", text=text))
        ids = {c.id or 0: bot.id or 0 for c in channels}
        notice_id = notice.id or 0
    return await add_deliveries(
        sessionmaker, notice_id=notice_id, channel_ids=list(ids), accounts=ids
    )


def _worker(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    zalo_url: str,
    public_url: str | None = None,
) -> DeliveryWorker:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        api=ApiSettings(public_url=public_url),
        zalo=ZaloSettings(api_base=zalo_url, per_bot_per_second=20, quota_retry_seconds=0.3),
        delivery=DeliverySettings(
            send_timeout_seconds=2.0,
            poll_interval_seconds=0.05,
            backoff_base_seconds=0.05,
            backoff_max_seconds=0.2,
            max_attempts=3,
        ),
    )
    return DeliveryWorker(sessionmaker=sessionmaker, settings=settings)


async def _statuses(
    sessionmaker: async_sessionmaker[AsyncSession], ids: list[int]
) -> list[Delivery]:
    async with session_scope(sessionmaker) as session:
        return [d for i in ids if (d := await session.get(Delivery, i)) is not None]


async def _until_done(
    sessionmaker: async_sessionmaker[AsyncSession], ids: list[int]
) -> list[Delivery]:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        rows = await _statuses(sessionmaker, ids)
        if all(d.status in (DeliveryStatus.sent, DeliveryStatus.failed) for d in rows):
            return rows
        assert asyncio.get_running_loop().time() < deadline, [d.status for d in rows]
        await asyncio.sleep(0.05)


async def test_long_notice_is_cut_within_2000_and_a_429_is_retried(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = new_zalo_token()
    text = "Cắt điện khu phố 1\n\n" + SENTENCE * 60  # about 5,000 characters
    async with ZaloSandbox() as zalo, ZaloControl(zalo.url) as zc:
        await zc.add_bot(token, "bot.loa")
        lan = await zc.say(token, LAN, "xin chào")
        chin = await zc.say(token, CHIN, "chào")
        ids = await _seed(sessionmaker, token, [lan, chin], text)
        await zc.set_quota(token, 3)  # the fourth send is refused: «Quota exceeded»
        worker = _worker(database_url, sessionmaker, zalo.url)
        task = asyncio.create_task(worker.run())
        try:
            while (await zc.stats(token))["rejected_429"] == 0:
                await asyncio.sleep(0.05)
            await zc.set_quota(token, None)  # the quota comes back
            rows = await _until_done(sessionmaker, ids)
        finally:
            await worker.stop()
            await task
        stats = await zc.stats(token)
        received = [await zc.messages(token, chat) for chat in (lan, chin)]
    assert [d.status for d in rows] == [DeliveryStatus.sent] * 2
    assert stats["rejected_429"] >= 1
    assert all(d.attempts < 3 for d in rows)  # a 429 is the provider's pace, not a failure
    for parts in received:
        texts = [m["text"] for m in parts]
        assert len(texts) == 3 and all(len(t) <= 2000 for t in texts)
        assert texts[-1].endswith(HINT) and not any(HINT in t for t in texts[:-1])
        assert "Phường Zalo" in texts[0]
        body = "".join(texts).replace(" ", "").replace("\n", "")
        assert body.count("lướiđiện") == 60  # nothing lost between the parts


def test_a_zalo_account_is_paced_at_its_own_rate() -> None:
    clock = VirtualClock()
    limits = MemoryLimits(per_bot_per_second=30, transport_rates={"zalo": 2.0}, clock=clock)
    limits.use_transport(7, "zalo")
    limits.use_transport(8, "telegram")  # no rate of its own: the default
    assert (limits.account_rate(7), limits.account_rate(8)) == (2.0, 30)

    async def stamps(account: int) -> list[float]:
        slots = asyncio.Semaphore(10)
        out = []
        for i in range(5):
            async with limits.turn(account, f"chat-{i}", slots):
                out.append(clock.monotonic())
        return out

    zalo = clock.run(stamps(7))
    telegram = clock.run(stamps(8))
    assert [b - a for a, b in zip(zalo, zalo[1:], strict=False)] == [0.5] * 4
    assert telegram[-1] - telegram[0] < 0.2


LINK = re.compile(r"Hoặc bấm: (" + re.escape(PUBLIC) + r"/a/(\S+))$")


async def test_a_reminder_and_a_correction_end_with_the_groups_acknowledgement_link(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = new_zalo_token()
    async with ZaloSandbox() as zalo, ZaloControl(zalo.url) as zc:
        await zc.add_bot(token, "bot.loa")
        lan = await zc.say(token, LAN, "xin chào")
        [delivery_id] = await _seed(sessionmaker, token, [lan], "Cắt điện\n\n" + SENTENCE)

        async def run() -> list[str]:
            worker = _worker(database_url, sessionmaker, zalo.url, public_url=PUBLIC)
            assert await worker.run_until_idle(timeout=60)
            return [m["text"] for m in await zc.messages(token, lan)]

        [first] = await run()
        async with session_scope(sessionmaker) as session:
            notice_id = (await session.get(Delivery, delivery_id) or Delivery()).notice_id
            assert await remind_silent(session=session, notice_id=notice_id) == 1
        [_, reminder] = await run()
        async with session_scope(sessionmaker) as session:
            await correct_notice(
                session=session,
                notice_id=notice_id,
                text="Cắt điện khu phố 1 từ 13 giờ đến 16 giờ chiều thứ Bảy.\n\n" + SENTENCE * 30,
                ai=AISettings(),
                actor="Cán bộ Lan",
            )
        correction = (await run())[2:]
    now = datetime.now(UTC)
    assert reminder.startswith("🔔") and f"{HINT}\n\n" in reminder
    assert correction[0].startswith(f"✏️ Đính chính thông báo #{notice_id}:")
    assert all(len(t) <= 2000 for t in correction) and HINT in correction[-1]
    for text in (first, reminder, correction[-1]):
        found = LINK.search(text)
        assert found is not None, text
        # The notice delivery's own link: pressing it counts for this group.
        assert verify(found.group(2), LinkKind.ack, now=now).delivery_id == delivery_id
    assert not any(LINK.search(t) for t in correction[:-1])
