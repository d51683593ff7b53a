"""Urgency is detected when the draft is prepared, and the official can turn it on or off
while the notice can still change."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.ai import AISettings
from broadcasts.compose import mask_draft, prepare_draft, set_urgent
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


async def test_masking_keeps_the_urgency_the_official_chose(session: AsyncSession) -> None:
    ward_id = await _ward(session)
    text = "Họp tổ dân phố tối thứ Bảy 12/12/2026 lúc 19 giờ. Liên hệ anh Tư 0903 456 789."
    draft = await prepare_draft(
        session=session,
        ward_id=ward_id,
        official_id=None,
        text=text,
        ai=AISettings(),
        locales=["vi"],
    )
    assert not draft.notice.urgent and draft.preparation.private_items
    notice_id = draft.notice.id or 0
    await set_urgent(session=session, notice_id=notice_id, urgent=True)
    masked = await mask_draft(session=session, notice_id=notice_id, ai=AISettings())
    assert "0903 456 789" not in masked.notice.text
    assert masked.notice.urgent  # the official's word stands
    # ... and the other way round: a detected urgency turned off stays off.
    scam = await prepare_draft(
        session=session,
        ward_id=ward_id,
        official_id=None,
        text=sample("12-canh-bao-lua-dao.txt") + "\nGọi 0903 456 789.",
        ai=AISettings(),
        locales=["vi"],
    )
    assert scam.notice.urgent
    await set_urgent(session=session, notice_id=scam.notice.id or 0, urgent=False)
    again = await mask_draft(session=session, notice_id=scam.notice.id or 0, ai=AISettings())
    assert not again.notice.urgent
