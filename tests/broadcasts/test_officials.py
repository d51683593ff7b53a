"""Officials register with a ward's code; registering again moves them to the new ward."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.errors import CodeRejected, InvalidInput
from broadcasts.invites import create_invite
from broadcasts.models import InviteKind
from broadcasts.officials import (
    deactivate_official,
    get_official_by_user,
    list_officials,
    register_official,
    set_official_locale,
)
from tests.api.factories import seed_tree


async def test_register_rebind_and_deactivate(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    first = await create_invite(
        session=session, kind=InviteKind.official, area_id=areas["BT"].id or 0
    )
    official = await register_official(
        session=session, code=first.code, user_ref="42", name="Trần Văn Hùng"
    )
    assert (official.ward_id, official.transport) == (areas["BT"].id, "telegram")
    found = await get_official_by_user(session=session, transport="telegram", user_ref="42")
    assert found is not None and found.id == official.id

    second = await create_invite(
        session=session, kind=InviteKind.official, area_id=areas["TD"].id or 0
    )
    moved = await register_official(session=session, code=second.code, user_ref="42", name="")
    assert (moved.id, moved.ward_id, moved.name) == (official.id, areas["TD"].id, "Trần Văn Hùng")
    rows, count = await list_officials(session=session, ward_code="HCM")
    assert count == 1 and rows[0][1].code == "TD"

    await set_official_locale(session=session, official_id=official.id or 0, locale="en")
    with pytest.raises(InvalidInput):
        await set_official_locale(session=session, official_id=official.id or 0, locale="xx")
    await deactivate_official(session=session, official_id=official.id or 0)
    assert await get_official_by_user(session=session, transport="telegram", user_ref="42") is None


async def test_a_channel_code_does_not_make_an_official(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    invite = await create_invite(
        session=session, kind=InviteKind.channel, area_id=areas["BT"].id or 0
    )
    with pytest.raises(CodeRejected):
        await register_official(session=session, code=invite.code, user_ref="7", name="X")
