"""«Đã ghi nhận» is true when it is said: a press is answered only after its
acknowledgement is committed, and a press the database did not take is answered with an
error, never as recorded. Over the strict sandbox, polling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram import Bot
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.ack_batch import PressBatch
from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.models import Acknowledgement
from broadcasts.transports.telegram_lean import CallbackAnswers
from tests.bot.telegram_world import TOKEN, USERNAME, Loa, open_loa

LEADER = {"id": 8601, "first_name": "Lan"}


class RowsAtAnswer(CallbackAnswers):
    """The bot's answers, counting the committed acknowledgements (from another session)
    at the moment each answerCallbackQuery leaves for Telegram."""

    def __init__(self, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(bot)
        self._sessionmaker = sessionmaker
        self.seen: list[int] = []

    async def answer(self, query_id: str, text: str | None = None, *, alert: bool = False) -> None:
        async with self._sessionmaker() as session:
            count = await session.scalar(select(func.count()).select_from(Acknowledgement))
        self.seen.append(int(count or 0))
        await super().answer(query_id, text, alert=alert)


async def _delivered(loa: Loa) -> tuple[int, int]:
    """A registered group that got a notice: its chat and the message with the button."""
    chat_id = await loa.client.add_bot_to_group(TOKEN, "Nhóm BT-KP1", LEADER)
    await loa.client.group_message(
        TOKEN, chat_id, LEADER, f"/dangky@{USERNAME} {loa.codes['BT-KP1']}"
    )
    await loa.player.wait_text(chat_id, "✅")
    notice_id = await loa.send_notice(["BT-KP1"], "Cúp điện 8 giờ sáng thứ Bảy 12/12.")
    await loa.wait_for(
        lambda: loa.deliveries(notice_id),
        lambda found: [d.status for d in found.values()] == ["sent"],
        "the delivery sent",
    )
    message_id, _ = await loa.player.button(chat_id, "ack:")
    return chat_id, message_id


async def _answer(loa: Loa, chat_id: int, message_id: int) -> dict[str, Any]:
    query = await loa.client.press(TOKEN, chat_id, message_id, LEADER)
    answer = await loa.client.callback_answer(query, wait=20)
    assert answer is not None, "the press was never answered"
    return answer


async def _rows(loa: Loa) -> int:
    async with loa.runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Acknowledgement)) or 0)


async def test_the_answer_leaves_after_the_commit(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        chat_id, message_id = await _delivered(loa)
        assert loa.runtime.bot is not None and loa.runtime.services is not None
        watch = RowsAtAnswer(loa.runtime.bot, loa.runtime.sessionmaker)
        loa.runtime.services.answers = watch

        answer = await _answer(loa, chat_id, message_id)
        assert answer["text"] == "✅ Cảm ơn Lan! Phường đã ghi nhận."
        # When the answer left, the row was already there for any other connection.
        assert watch.seen == [1]
        again = await _answer(loa, chat_id, message_id)
        assert "rồi" in again["text"] and watch.seen == [1, 1]


async def test_a_press_during_a_database_outage_is_not_told_recorded(
    database_url: str, tmp_path: Path
) -> None:
    async with open_loa(database_url) as loa:
        chat_id, message_id = await _delivered(loa)
        services = loa.runtime.services
        assert services is not None
        # The presses' database goes away (a directory that does not exist): writes fail.
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'loa.db'}")
        working, services.presses = services.presses, PressBatch(make_sessionmaker(engine))
        try:
            answer = await _answer(loa, chat_id, message_id)
        finally:
            services.presses = working
            await engine.dispose()
        assert answer["show_alert"] is True
        assert answer["text"] == "Xin lỗi, đã có lỗi xảy ra. Vui lòng thử lại sau ít phút."
        assert await _rows(loa) == 0
        # Once the database is back, pressing again counts.
        assert "Cảm ơn" in (await _answer(loa, chat_id, message_id))["text"]
        assert await _rows(loa) == 1
