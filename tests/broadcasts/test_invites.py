"""Invite codes: easy to type, used once, expire, and only for their own purpose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.errors import CodeRejected, InvalidInput, NotFound
from broadcasts.invites import CODE_ALPHABET, create_invite, redeem_invite
from broadcasts.models import InviteKind, utcnow
from tests.api.factories import seed_tree


async def test_code_shape_and_case_insensitive_redeem(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    invite = await create_invite(
        session=session,
        kind=InviteKind.channel,
        area_id=areas["BT-KP1"].id or 0,
        ttl_hours=2,
        note="KP1",
    )
    assert len(invite.code) == 8 and set(invite.code) <= set(CODE_ALPHABET)
    assert timedelta(hours=1.9) < invite.expires_at - utcnow() <= timedelta(hours=2)
    typed = f"  {invite.code[:4].lower()}-{invite.code[4:].lower()} "
    used = await redeem_invite(
        session=session, code=typed, kind=InviteKind.channel, used_by="telegram:-100"
    )
    assert (used.id, used.used_by) == (invite.id, "telegram:-100")
    assert used.used_at is not None


@pytest.mark.parametrize("state", ["unknown", "used", "expired", "wrong kind"])
async def test_rejected_codes_say_why(session: AsyncSession, state: str) -> None:
    areas = await seed_tree(session)
    invite = await create_invite(
        session=session, kind=InviteKind.official, area_id=areas["BT"].id or 0
    )
    code, kind = invite.code, InviteKind.official
    if state == "unknown":
        code = "ZZZZ2222"
    elif state == "used":
        await redeem_invite(session=session, code=code, kind=kind, used_by="telegram:1")
    elif state == "expired":
        invite.expires_at = utcnow() - timedelta(seconds=1)
        await session.flush()
    else:
        kind = InviteKind.channel
    with pytest.raises(CodeRejected) as caught:
        await redeem_invite(session=session, code=code, kind=kind, used_by="telegram:2")
    reason = "unknown" if state in ("unknown", "wrong kind") else state
    assert caught.value.detail["reason"] == reason


async def test_invites_check_area_and_ttl(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    with pytest.raises(InvalidInput, match="ward"):
        await create_invite(
            session=session, kind=InviteKind.official, area_id=areas["BT-KP1"].id or 0
        )
    with pytest.raises(InvalidInput, match="ttl_hours"):
        await create_invite(
            session=session, kind=InviteKind.channel, area_id=areas["BT-KP1"].id or 0, ttl_hours=0
        )
    with pytest.raises(NotFound):
        await create_invite(session=session, kind=InviteKind.channel, area_id=999_999)
