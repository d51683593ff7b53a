"""Urgency is detected when the draft is prepared, and the official can turn it on or off
while the notice can still change."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.ai import AISettings
from broadcasts.compose import prepare_draft, set_urgent
from broadcasts.errors import Conflict
from broadcasts.models import Area, AreaLevel, NoticeStatus
from tests.broadcasts.ai.helpers import sample


async def _ward(session: AsyncSession) -> int:
    ward = Area(code="BC", name="Phường Bàn Cờ", level=AreaLevel.ward, path="BC/")
    session.add(ward)
    await session.flush()
    assert ward.id is not None
    return ward.id


async def test_a_scam_warning_is_urgent_and_the_official_decides(session: AsyncSession) -> None:
    ward_id = await _ward(session)
    draft = await prepare_draft(
        session=session,
        ward_id=ward_id,
        official_id=None,
        text=sample("12-canh-bao-lua-dao.txt"),
        ai=AISettings(),
        locales=["vi"],
    )
    assert draft.preparation.urgent and draft.notice.urgent
    notice_id = draft.notice.id or 0
    assert not (await set_urgent(session=session, notice_id=notice_id, urgent=False)).urgent
    assert (await set_urgent(session=session, notice_id=notice_id, urgent=True)).urgent


async def test_a_routine_notice_can_be_made_urgent(session: AsyncSession) -> None:
    ward_id = await _ward(session)
    draft = await prepare_draft(
        session=session,
        ward_id=ward_id,
        official_id=None,
        text=sample("05-hop-dan.txt"),
        ai=AISettings(),
        locales=["vi"],
    )
    assert not draft.notice.urgent
    notice = await set_urgent(session=session, notice_id=draft.notice.id or 0, urgent=True)
    assert notice.urgent


async def test_urgency_cannot_change_once_sent(session: AsyncSession) -> None:
    ward_id = await _ward(session)
    draft = await prepare_draft(
        session=session,
        ward_id=ward_id,
        official_id=None,
        text=sample("07-trieu-cuong.txt"),
        ai=AISettings(),
        locales=["vi"],
    )
    draft.notice.status = NoticeStatus.dispatching
    session.add(draft.notice)
    await session.flush()
    with pytest.raises(Conflict):
        await set_urgent(session=session, notice_id=draft.notice.id or 0, urgent=False)
    assert draft.notice.urgent
