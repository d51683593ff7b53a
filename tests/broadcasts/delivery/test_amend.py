"""A sent notice corrected and recalled through the engine, over the strict sandbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.ai import AISettings
from broadcasts.audit import list_events
from broadcasts.corrections import correct_notice, recall_notice
from broadcasts.db import session_scope
from broadcasts.errors import Conflict
from broadcasts.models import Delivery, DeliveryKind, DeliveryStatus, Notice, utcnow
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.broadcasts.delivery.conftest import (
    WorkerFactory,
    make_groups,
    new_token,
    sqlite_only,
)
from tests.broadcasts.delivery.world import Seeded, seed

CORRECTED = "Thông báo: cúp điện khu phố 1 từ 13 giờ đến 16 giờ chiều thứ Bảy."


async def _rows(
    sessionmaker: async_sessionmaker[AsyncSession], notice_id: int, kind: DeliveryKind
) -> dict[int, Delivery]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Delivery).where(col(Delivery.notice_id) == notice_id, col(Delivery.kind) == kind)
        )
        return {d.channel_id: d for d in rows}


async def _sent(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    chats: int = 3,
) -> tuple[str, list[int], Seeded, dict[int, dict[str, Any]]]:
    """A notice delivered to `chats` groups; its message in each group."""
    token = new_token()
    groups = await make_groups(tg, token, chats)
    seeded = await seed(sessionmaker, groups={token: groups})
    assert await make_worker().run_until_idle(timeout=60)
    first = {chat: (await tg.messages(token, chat))[0] for chat in groups}
    return token, groups, seeded, first


async def _bot_api(sandbox: SandboxServer, token: str, method: str, **params: Any) -> Any:
    async with httpx.AsyncClient() as http:
        answer = (await http.post(f"{sandbox.url}/bot{token}/{method}", json=params)).json()
    assert answer["ok"], answer
    return answer["result"]


def _buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row]


@sqlite_only
async def test_a_correction_edits_every_group_and_answers_where_the_notice_is_gone(
    tg: SandboxClient,
    sandbox: SandboxServer,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded, first = await _sent(tg, make_worker, sessionmaker)
    gone = chats[2]
    # Someone removed the notice from the third group meanwhile.
    await _bot_api(
        sandbox, token, "deleteMessage", chat_id=gone, message_id=first[gone]["message_id"]
    )
    async with session_scope(sessionmaker) as session:
        done = await correct_notice(
            session=session,
            notice_id=seeded.notice_id,
            text=CORRECTED,
            ai=AISettings(),
            actor="Cán bộ Lan",
        )
    assert done.groups == 3
    assert await make_worker().run_until_idle(timeout=60)

    for chat in chats[:2]:
        [edited] = await tg.messages(token, chat)
        assert edited["message_id"] == first[chat]["message_id"]
        assert len(edited["edits"]) == 1 and "8 giờ" in edited["edits"][0]["text"]
        assert "13 giờ" in edited["plain_text"] and "8 giờ" not in edited["plain_text"]
        assert edited["plain_text"].endswith("✏️ Đã đính chính")
        assert edited["plain_text"].startswith(f"📢 {seeded.ward_name}")  # the same header
        assert _buttons(edited) == _buttons(first[chat])  # «Đã nhận» acks the notice still
    [reply] = await tg.messages(token, gone)
    assert reply["plain_text"].startswith(f"✏️ Đính chính thông báo #{seeded.notice_id}:")
    assert "13 giờ" in reply["plain_text"]
    assert _buttons(reply) == _buttons(first[gone])

    rows = await _rows(sessionmaker, seeded.notice_id, DeliveryKind.correction)
    parents = await _rows(sessionmaker, seeded.notice_id, DeliveryKind.notice)
    assert {d.status for d in rows.values()} == {DeliveryStatus.sent}
    notes = {seeded.channels[cid][1]: d.error for cid, d in rows.items()}
    assert notes == {str(chats[0]): "edited", str(chats[1]): "edited", str(gone): "replied"}
    for channel_id, row in rows.items():
        assert row.parent_id == parents[channel_id].id and row.round == 1
    gone_row = rows[seeded.channel_of(token, gone)]
    assert gone_row.provider_message_ref == str(reply["message_id"])
    async with sessionmaker() as session:
        notice = await session.get(Notice, seeded.notice_id)
        assert notice is not None and notice.corrected_at is not None
        events, _ = await list_events(session=session, action="notice.correct")
    assert [(e.actor, e.ward_id, e.detail["groups"]) for e in events] == [
        ("Cán bộ Lan", seeded.ward_id, 3)
    ]


@sqlite_only
async def test_a_recall_deletes_within_48_hours_and_posts_a_note_for_older_ones(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded, first = await _sent(tg, make_worker, sessionmaker)
    fresh, aged, known_old = chats
    # Telegram sees the second group's message as 49 hours old (the engine does not know);
    # the third one Loa also recorded as sent 49 hours ago, so no delete is even tried.
    await tg.age(token, aged, 49 * 3600)
    await tg.age(token, known_old, 49 * 3600)
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Delivery)
            .where(col(Delivery.channel_id) == seeded.channel_of(token, known_old))
            .values(sent_at=utcnow() - timedelta(hours=49))
        )
    errors_before = (await tg.stats(token))["errors_by_code"]
    async with session_scope(sessionmaker) as session:
        done = await recall_notice(session=session, notice_id=seeded.notice_id, actor="Cán bộ Lan")
    assert done.groups == 3 and done.stopped == 0
    assert await make_worker().run_until_idle(timeout=60)

    assert await tg.messages(token, fresh) == []
    note = f"Thông báo #{seeded.notice_id} đã được thu hồi."
    for chat in (aged, known_old):
        original, posted = await tg.messages(token, chat)
        assert original["message_id"] == first[chat]["message_id"]
        assert posted["plain_text"] == note and _buttons(posted) == []
        assert posted["reply_to_message_id"] == original["message_id"]
    errors = (await tg.stats(token))["errors_by_code"]
    # One refused delete: the aged message; the one known to be old was not tried.
    assert int(errors.get("400", 0)) - int(errors_before.get("400", 0)) == 1

    rows = await _rows(sessionmaker, seeded.notice_id, DeliveryKind.recall)
    notes = {seeded.channels[cid][1]: (d.status, d.error) for cid, d in rows.items()}
    assert notes == {
        str(fresh): (DeliveryStatus.sent, "deleted"),
        str(aged): (DeliveryStatus.sent, "posted"),
        str(known_old): (DeliveryStatus.sent, "posted"),
    }
    async with session_scope(sessionmaker) as session:
        events, _ = await list_events(session=session, action="notice.recall")
        assert [(e.ward_id, e.detail["groups"]) for e in events] == [(seeded.ward_id, 3)]
        # Recalled: neither corrected nor recalled again.
        for call in (
            recall_notice(session=session, notice_id=seeded.notice_id, actor="x"),
            correct_notice(
                session=session,
                notice_id=seeded.notice_id,
                text=CORRECTED,
                ai=AISettings(),
                actor="x",
            ),
        ):
            with pytest.raises(Conflict) as refused:
                await call
            assert refused.value.detail["reason"] == "recalled"


@sqlite_only
async def test_a_notice_not_sent_is_refused_and_one_going_out_is_recalled_at_once(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    groups = await make_groups(tg, token, 3)
    seeded = await seed(sessionmaker, groups={token: groups})
    async with session_scope(sessionmaker) as session:
        with pytest.raises(Conflict) as refused:
            await recall_notice(session=session, notice_id=seeded.notice_id, actor="x")
        assert refused.value.detail["reason"] == "not_sent"
    # One group has it; the others are still waiting when it is recalled.
    first_id = seeded.deliveries[0]
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(seeded.deliveries[1:]))
            .values(next_attempt_at=utcnow() + timedelta(hours=1))
        )
    assert await make_worker().run_until_idle(timeout=5)  # the others are due in an hour
    async with sessionmaker() as session:
        sent = await session.get(Delivery, first_id)
        assert sent is not None and sent.status is DeliveryStatus.sent
    async with session_scope(sessionmaker) as session:
        with pytest.raises(Conflict) as refused:
            await correct_notice(
                session=session,
                notice_id=seeded.notice_id,
                text=CORRECTED,
                ai=AISettings(),
                actor="x",
            )
        assert refused.value.detail["reason"] == "sending"
        done = await recall_notice(session=session, notice_id=seeded.notice_id, actor="x")
    assert (done.groups, done.stopped) == (1, 2)
    assert await make_worker().run_until_idle(timeout=60)
    notices = await _rows(sessionmaker, seeded.notice_id, DeliveryKind.notice)
    assert sorted(d.status.value for d in notices.values()) == ["cancelled", "cancelled", "sent"]
    for chat in groups:
        assert await tg.messages(token, chat) == []  # deleted where it went, sent nowhere else
    recalls = await _rows(sessionmaker, seeded.notice_id, DeliveryKind.recall)
    assert [(d.status, d.error) for d in recalls.values()] == [(DeliveryStatus.sent, "deleted")]


@sqlite_only
async def test_follow_ups_are_retried_after_429_and_5xx(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token, chats, seeded, first = await _sent(tg, make_worker, sessionmaker, chats=2)
    await tg.add_fault(
        "429", token=token, chat_id=chats[0], method="editMessageText", retry_after=1
    )
    await tg.add_fault("5xx", token=token, chat_id=chats[1], method="editMessageText", times=2)
    async with session_scope(sessionmaker) as session:
        await correct_notice(
            session=session,
            notice_id=seeded.notice_id,
            text=CORRECTED,
            ai=AISettings(),
            actor="x",
        )
    assert await make_worker(max_attempts=5).run_until_idle(timeout=60)
    rows = await _rows(sessionmaker, seeded.notice_id, DeliveryKind.correction)
    limited, flaky = (rows[seeded.channel_of(token, c)] for c in chats)
    assert (limited.status, limited.error, limited.attempts) == (DeliveryStatus.sent, "edited", 1)
    assert (flaky.status, flaky.error, flaky.attempts) == (DeliveryStatus.sent, "edited", 3)
    for chat in chats:
        [edited] = await tg.messages(token, chat)
        assert len(edited["edits"]) == 1 and "13 giờ" in edited["plain_text"]

    # A recall whose deletes meet a 5xx, then a 429: deleted all the same.
    await tg.add_fault("5xx", token=token, chat_id=chats[0], method="deleteMessage")
    await tg.add_fault("429", token=token, chat_id=chats[1], method="deleteMessage", retry_after=1)
    async with session_scope(sessionmaker) as session:
        await recall_notice(session=session, notice_id=seeded.notice_id, actor="x")
    assert await make_worker(max_attempts=5).run_until_idle(timeout=60)
    recalls = await _rows(sessionmaker, seeded.notice_id, DeliveryKind.recall)
    assert {(d.status, d.error) for d in recalls.values()} == {(DeliveryStatus.sent, "deleted")}
    for chat in chats:
        assert await tg.messages(token, chat) == []
    stats = await tg.stats(token)
    assert stats["rejected_429"] == 2 and stats["errors_by_code"].get("502") == 3


@sqlite_only
async def test_a_correction_that_does_not_fit_the_parts_sent_is_a_reply(
    tg: SandboxClient,
    make_worker: WorkerFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = new_token()
    [chat] = await make_groups(tg, token, 1)
    sentence = "Bà con khu phố 1 lưu ý lịch cúp điện để chủ động sắp xếp công việc. "
    seeded = await seed(sessionmaker, groups={token: [chat]}, text=sentence * 90)
    assert await make_worker().run_until_idle(timeout=60)
    parts = await tg.messages(token, chat)
    assert len(parts) == 2  # the long notice went out in two messages
    async with session_scope(sessionmaker) as session:
        await correct_notice(
            session=session,
            notice_id=seeded.notice_id,
            text=CORRECTED,
            ai=AISettings(),
            actor="x",
        )
    assert await make_worker().run_until_idle(timeout=60)
    first, second, reply = await tg.messages(token, chat)
    assert [first["edits"], second["edits"]] == [[], []]  # not edited into one part
    assert reply["plain_text"].startswith(f"✏️ Đính chính thông báo #{seeded.notice_id}:")
    assert reply["reply_to_message_id"] == second["message_id"]
    assert _buttons(reply) == _buttons(second)
    [row] = (await _rows(sessionmaker, seeded.notice_id, DeliveryKind.correction)).values()
    assert (row.status, row.error) == (DeliveryStatus.sent, "replied")
