"""The approval gate and decisions in the domain: who holds, who skips, first decision wins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.approval import (
    UNSENT_RETRY_AFTER,
    claim_requests,
    decide,
    hold_for_approval,
    request_failed,
    request_sent,
    unasked_notices,
)
from broadcasts.compose import send_off
from broadcasts.db import session_scope
from broadcasts.errors import InvalidInput, NoApprover, NotAllowed, NotFound
from broadcasts.models import (
    ApprovalPrompt,
    Area,
    AuditEvent,
    Delivery,
    Notice,
    NoticeStatus,
    Official,
    utcnow,
)
from broadcasts.notices import RenditionInput, dispatch_notice, save_renditions, set_targets
from broadcasts.policy import PolicyUpdate, set_policy
from tests.api.factories import add_bot, add_channels, seed_tree


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], *, approvers: int = 1, needs: bool = True
) -> dict[str, int]:
    """Bến Thành with two groups, its policy, a writer and `approvers` approvers; Thạnh
    Đông's approver too (who may not decide for Bến Thành)."""
    async with session_scope(sessionmaker) as session:
        areas = await seed_tree(session)
        bt = areas["BT"]
        await add_channels(session, await add_bot(session), [areas["BT-KP1"], areas["BT-KP2"]])
        await set_policy(
            session=session, ward=bt, data=PolicyUpdate(needs_approval=needs), actor="test"
        )
        writer = Official(user_ref="1", name="Cán bộ", ward_id=bt.id or 0)
        people = [
            Official(
                user_ref=str(10 + i), name=f"Lãnh đạo {i}", ward_id=bt.id or 0, role="approver"
            )
            for i in range(approvers)
        ]
        outsider = Official(
            user_ref="99", name="Xã khác", ward_id=areas["TD"].id or 0, role="approver"
        )
        session.add_all([writer, *people, outsider])
        await session.flush()
        notice = Notice(ward_id=bt.id or 0, official_id=writer.id, text="Cúp điện ngày 12/3.")
        session.add(notice)
        await session.flush()
        await set_targets(
            session=session, notice_id=notice.id or 0, area_ids=[areas["BT-KP1"].id or 0]
        )
        await save_renditions(
            session=session,
            notice_id=notice.id or 0,
            renditions=[RenditionInput(locale="vi", text="Cúp điện ngày 12/3.")],
        )
        return {
            "notice": notice.id or 0,
            "writer": writer.id or 0,
            "outsider": outsider.id or 0,
            **{f"approver{i}": p.id or 0 for i, p in enumerate(people)},
        }


async def _official(session: AsyncSession, official_id: int) -> Official:
    official = await session.get(Official, official_id)
    assert official is not None
    return official


async def test_held_notice_is_never_dispatched_until_approved(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessionmaker)
    at = utcnow() + timedelta(hours=2)
    async with session_scope(sessionmaker) as session:
        notice = await send_off(
            session=session,
            notice_id=ids["notice"],
            at=at,
            status_chat_ref="1",
            status_message_ref="5",
            actor="official:1",
        )
        assert (notice.status, notice.approval) == (NoticeStatus.draft, "pending")
        assert notice.scheduled_at == at
    async with session_scope(sessionmaker) as session:
        assert await dispatch_notice(session=session, notice_id=ids["notice"]) is None
        assert await unasked_notices(session=session) == [ids["notice"]]
        asked = await claim_requests(session=session, notice_id=ids["notice"])
        assert [a.id for a in asked] == [ids["approver0"]]  # not the writer, not the outsider
        assert await claim_requests(session=session, notice_id=ids["notice"]) == []
        assert await unasked_notices(session=session) == []
    async with session_scope(sessionmaker) as session:
        outsider = await _official(session, ids["outsider"])
        with pytest.raises(NotFound):  # another ward's notice does not exist for them
            await decide(
                session=session, notice_id=ids["notice"], approver=outsider, decision="approved"
            )
        writer = await _official(session, ids["writer"])
        with pytest.raises(NotAllowed):
            await decide(
                session=session, notice_id=ids["notice"], approver=writer, decision="approved"
            )
        approver = await _official(session, ids["approver0"])
        with pytest.raises(InvalidInput):  # a rejection needs its reason
            await decide(
                session=session, notice_id=ids["notice"], approver=approver, decision="rejected"
            )
        decided = await decide(
            session=session, notice_id=ids["notice"], approver=approver, decision="approved"
        )
        assert decided.won and not decided.late
        assert (decided.notice.status, decided.notice.scheduled_at) == (NoticeStatus.scheduled, at)


async def test_a_request_that_never_went_out_is_claimed_again_later(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Claimed, then the process died (or Telegram failed) before the message went out:
    not asked again at once (a slow send may be in flight), but after `UNSENT_RETRY_AFTER`;
    one sent, or one the approver cannot receive, never."""
    ids = await _seed(sessionmaker, approvers=3)
    async with session_scope(sessionmaker) as session:
        await send_off(
            session=session,
            notice_id=ids["notice"],
            at=None,
            actor="official:1",
            status_chat_ref="1",
            status_message_ref="5",
        )
    async with session_scope(sessionmaker) as session:
        claimed = await claim_requests(session=session, notice_id=ids["notice"])
        assert len(claimed) == 3
    async with session_scope(sessionmaker) as session:
        await request_sent(
            session=session,
            notice_id=ids["notice"],
            official_id=ids["approver0"],
            message_ref="77",
        )
        await request_failed(session=session, notice_id=ids["notice"], official_id=ids["approver1"])
    async with session_scope(sessionmaker) as session:  # approver2's is in flight, say
        assert await unasked_notices(session=session) == []
        assert await claim_requests(session=session, notice_id=ids["notice"]) == []
        later = utcnow() + UNSENT_RETRY_AFTER + timedelta(seconds=1)
        assert await unasked_notices(session=session, now=later) == [ids["notice"]]
    async with session_scope(sessionmaker) as session:  # as if claimed that long ago
        prompts = list(await session.scalars(select(ApprovalPrompt)))
        for prompt in prompts:
            prompt.asked_at -= UNSENT_RETRY_AFTER + timedelta(seconds=1)
            session.add(prompt)
    async with session_scope(sessionmaker) as session:
        assert await unasked_notices(session=session) == [ids["notice"]]
        again = await claim_requests(session=session, notice_id=ids["notice"])
        assert [a.id for a in again] == [ids["approver2"]]
    async with session_scope(sessionmaker) as session:
        assert await claim_requests(session=session, notice_id=ids["notice"]) == []
        assert await unasked_notices(session=session) == []


async def test_two_sessions_deciding_at_once_decide_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessionmaker, approvers=2)
    async with session_scope(sessionmaker) as session:
        await send_off(
            session=session,
            notice_id=ids["notice"],
            at=None,
            status_chat_ref="1",
            status_message_ref="5",
        )

    async def one(key: str, decision: str) -> bool:
        async with session_scope(sessionmaker) as session:
            approver = await _official(session, ids[key])
            decided = await decide(
                session=session,
                notice_id=ids["notice"],
                approver=approver,
                decision=decision,
                reason="Sai ngày",
            )
            return decided.won

    won = await asyncio.gather(one("approver0", "approved"), one("approver1", "rejected"))
    assert sorted(won) == [False, True]
    async with session_scope(sessionmaker) as session:
        notice = await session.get(Notice, ids["notice"])
        assert notice is not None
        decisions = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action.in_(["notice.approve", "notice.reject"])  # type: ignore[attr-defined]
            )
        )
    assert decisions == 1
    assert (notice.status, notice.approval) in {
        (NoticeStatus.scheduled, "approved"),
        (NoticeStatus.cancelled, "rejected"),
    }


async def test_passed_time_goes_out_now_when_approved_late(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessionmaker)
    async with session_scope(sessionmaker) as session:
        await send_off(
            session=session,
            notice_id=ids["notice"],
            at=utcnow() + timedelta(seconds=30),
            status_chat_ref="1",
            status_message_ref="5",
        )
    async with session_scope(sessionmaker) as session:
        notice = await session.get(Notice, ids["notice"])
        assert notice is not None
        notice.scheduled_at = utcnow() - timedelta(minutes=5)  # the approver took their time
    async with session_scope(sessionmaker) as session:
        approver = await _official(session, ids["approver0"])
        decided = await decide(
            session=session, notice_id=ids["notice"], approver=approver, decision="approved"
        )
        assert decided.late and decided.notice.status == NoticeStatus.scheduled
        assert decided.notice.scheduled_at is not None
        assert decided.notice.scheduled_at >= utcnow() - timedelta(seconds=5)
        assert await dispatch_notice(session=session, notice_id=ids["notice"]) == 1
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 1


async def test_no_approver_refuses_and_an_approver_writing_needs_none(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessionmaker, approvers=0)
    async with session_scope(sessionmaker) as session:
        with pytest.raises(NoApprover):
            await hold_for_approval(session=session, notice_id=ids["notice"], at=None)
    async with session_scope(sessionmaker) as session:
        writer = await _official(session, ids["writer"])
        writer.role = "approver"  # the ward's leader writes: writing it is approving it
        session.add(writer)
    async with session_scope(sessionmaker) as session:
        notice = await send_off(
            session=session,
            notice_id=ids["notice"],
            at=None,
            status_chat_ref="1",
            status_message_ref="5",
        )
        assert (notice.status, notice.approval) == (NoticeStatus.scheduled, "approved")
        assert notice.approved_by == ids["writer"]


async def test_without_the_policy_nothing_changes(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessionmaker, needs=False)
    async with session_scope(sessionmaker) as session:
        notice = await send_off(
            session=session,
            notice_id=ids["notice"],
            at=None,
            status_chat_ref="1",
            status_message_ref="5",
        )
        assert (notice.status, notice.approval) == (NoticeStatus.scheduled, "")
        ward = (await session.scalars(select(Area).where(Area.code == "BT"))).one()
        assert ward.id == notice.ward_id
