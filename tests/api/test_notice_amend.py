"""Correcting and recalling a sent notice over HTTP: 409 / 422 / 404 and what is queued."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.apikeys import create_api_key
from broadcasts.db import session_scope
from broadcasts.models import (
    AuditEvent,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Rendition,
)
from tests.api.conftest import BASE_URL, assert_problem
from tests.api.factories import add_bot, add_channels, add_notice, seed_tree

S = DeliveryStatus
CORRECTED = "Thông báo cúp điện ngày 13/3, từ 8 giờ đến 11 giờ."


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        chans = await add_channels(
            session, await add_bot(session), [areas[c] for c in ("BT-KP1", "BT-KP2", "BT-KP10")]
        )
        sent, ds = await add_notice(
            session, areas["BT"], chans, [S.sent, S.sent, S.failed], status=NoticeStatus.done
        )
        for d, ref in zip(ds[:2], ("41", "42"), strict=True):
            d.provider_message_ref = ref
            session.add(d)
        session.add(Rendition(notice_id=sent.id or 0, locale="vi", text=sent.text))
        unsent, _ = await add_notice(session, areas["BT"], chans, [S.pending, S.pending, S.pending])
        return {"sent": sent.id or 0, "unsent": unsent.id or 0}


async def test_correct_and_recall_a_sent_notice(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    n = ids["sent"]
    answer = await admin.post(f"/notices/{n}/correct", json={"text": CORRECTED})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["kind"], body["groups"]) == ("correction", 2)
    assert body["renditions"][0]["locale"] == "vi" and "13/3" in body["renditions"][0]["text"]
    async with sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(Delivery).where(
                    col(Delivery.notice_id) == n, col(Delivery.kind) == DeliveryKind.correction
                )
            )
        )
        assert sorted(r.target_refs or "" for r in rows) == ["41", "42"]
        assert {r.round for r in rows} == {1} and all(r.parent_id for r in rows)
        notice = await session.get(Notice, n)
        assert notice is not None and notice.corrected_at is not None
        assert "13/3" in notice.text

    # A second correction is the next round for the same channels.
    assert (await admin.post(f"/notices/{n}/correct", json={"text": CORRECTED})).status_code == 200

    recalled = await admin.post(f"/notices/{n}/recall")
    assert recalled.status_code == 200 and recalled.json()["groups"] == 2
    assert_problem(await admin.post(f"/notices/{n}/recall"), 409, "recalled")
    assert_problem(await admin.post(f"/notices/{n}/correct", json={"text": "x"}), 409, "recalled")
    async with sessionmaker() as session:
        rounds = sorted(
            r.round
            for r in await session.scalars(
                select(Delivery).where(
                    col(Delivery.notice_id) == n, col(Delivery.kind) == DeliveryKind.correction
                )
            )
        )
        assert rounds == [1, 1, 2, 2]
        events = list(
            await session.scalars(
                select(AuditEvent).where(col(AuditEvent.subject) == f"notice:{n}")
            )
        )
    assert sorted(e.action for e in events) == ["notice.correct", "notice.correct", "notice.recall"]
    assert {e.ward_id for e in events} == {notice.ward_id}


async def test_bad_requests_are_problems_and_change_nothing(
    admin: httpx.AsyncClient, app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessionmaker)
    n, unsent = ids["sent"], ids["unsent"]
    assert_problem(await admin.post(f"/notices/{unsent}/recall"), 409, "not_sent")
    assert_problem(
        await admin.post(f"/notices/{unsent}/correct", json={"text": CORRECTED}), 409, "not_sent"
    )
    assert_problem(await admin.post(f"/notices/{n}/correct", json={"text": ""}), 422, "text")
    assert_problem(await admin.post(f"/notices/{n}/correct", json={"text": "   "}), 422, "empty")
    assert_problem(await admin.post(f"/notices/{n}/correct", json={}), 422, "text")
    assert_problem(await admin.post("/notices/999999/recall"), 404)
    async with sessionmaker() as session:
        follow_ups = await session.scalars(
            select(Delivery).where(col(Delivery.kind) != DeliveryKind.notice)
        )
        assert list(follow_ups) == []
        notice = await session.get(Notice, n)
        assert notice is not None and notice.corrected_at is None and notice.recalled_at is None


async def test_another_wards_key_sees_no_such_notice(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        chans = await add_channels(session, await add_bot(session), [areas["BT-KP1"]])
        notice, _ = await add_notice(
            session, areas["BT"], chans, [S.sent], status=NoticeStatus.done
        )
        _, td_key = await create_api_key(
            session=session, name="td", scopes=["admin"], ward_id=areas["TD"].id
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {td_key}"},
    ) as td:
        assert_problem(await td.post(f"/notices/{notice.id}/recall"), 404)
        assert_problem(await td.post(f"/notices/{notice.id}/correct", json={"text": "x y"}), 404)
