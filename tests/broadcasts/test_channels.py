"""Channels: registration by code, moving chats, switching off, and subtree lookups."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.channels import (
    channels_for_areas,
    deactivate_channel_by_chat,
    get_or_create_bot_account,
    list_channels,
    move_channel_chat,
    register_channel,
    set_channel_locale,
)
from broadcasts.errors import CodeRejected, InvalidInput
from broadcasts.invites import create_invite
from broadcasts.models import Invite, InviteKind
from tests.api.factories import add_bot, add_channels, seed_tree


async def _code(session: AsyncSession, area_id: int | None) -> str:
    invite = await create_invite(session=session, kind=InviteKind.channel, area_id=area_id or 0)
    return invite.code


async def test_bot_account_is_made_once(session: AsyncSession) -> None:
    first = await get_or_create_bot_account(session=session, token="1:abc")
    again = await get_or_create_bot_account(session=session, token="1:abc", username="loa_bot")
    assert again.id == first.id and again.username == "loa_bot"


async def test_register_moves_and_reactivates_a_known_chat(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    bot = await add_bot(session)
    channel = await register_channel(
        session=session,
        code=await _code(session, areas["BT-KP1"].id),
        bot_id=bot.id or 0,
        chat_ref="-5001",
        title="Nhóm KP1",
    )
    assert (channel.area_id, channel.active) == (areas["BT-KP1"].id, True)
    gone = await deactivate_channel_by_chat(
        session=session, bot_id=bot.id or 0, chat_ref="-5001", reason="bot removed"
    )
    assert gone is not None and not gone.active and gone.inactive_reason == "bot removed"
    assert (
        await deactivate_channel_by_chat(
            session=session, bot_id=bot.id or 0, chat_ref="-404", reason="x"
        )
        is None
    )

    again = await register_channel(
        session=session,
        code=await _code(session, areas["BT-KP2"].id),
        bot_id=bot.id or 0,
        chat_ref="-5001",
        title="Nhóm KP2",
    )
    assert (again.id, again.area_id, again.active, again.inactive_reason, again.title) == (
        channel.id,
        areas["BT-KP2"].id,
        True,
        None,
        "Nhóm KP2",
    )
    with pytest.raises(CodeRejected):
        await register_channel(
            session=session, code="NOPE2222", bot_id=bot.id or 0, chat_ref="-5002", title="x"
        )


async def test_a_ward_bot_only_serves_its_ward(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    bot = await get_or_create_bot_account(session=session, token="2:w", ward_id=areas["BT"].id)
    code = await _code(session, areas["TD-A1"].id)
    with pytest.raises(CodeRejected) as refused:
        await register_channel(
            session=session, code=code, bot_id=bot.id or 0, chat_ref="-1", title="Ấp 1"
        )
    assert refused.value.detail["reason"] == "other_ward"
    # Refused before it was used: the code still works with a bot that serves its area.
    invite = await session.scalar(select(Invite).where(col(Invite.code) == code))
    assert invite is not None and invite.used_at is None
    city = await get_or_create_bot_account(session=session, token="3:city")
    channel = await register_channel(
        session=session, code=code, bot_id=city.id or 0, chat_ref="-1", title="Ấp 1"
    )
    assert channel.area_id == areas["TD-A1"].id


async def test_supergroup_migration_keeps_the_area(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    bot = await add_bot(session)
    one, two = await add_channels(session, bot, [areas["BT-KP1"], areas["BT-KP2"]])
    moved = await move_channel_chat(
        session=session, channel_id=one.id or 0, new_chat_ref="-1009999"
    )
    assert (moved.id, moved.chat_ref, moved.area_id) == (one.id, "-1009999", areas["BT-KP1"].id)
    # The new id is already another channel: keep that one, retire this one.
    kept = await move_channel_chat(
        session=session, channel_id=one.id or 0, new_chat_ref=two.chat_ref
    )
    assert kept.id == two.id and not one.active and "moved" in (one.inactive_reason or "")


async def test_channels_for_areas_covers_subtrees_once(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    bot = await add_bot(session)
    chans = await add_channels(
        session,
        bot,
        [areas[c] for c in ("BT", "BT-KP1", "BT-KP1-T1", "BT-KP1-T2", "BT-KP10", "TD-A1")],
    )
    off = (await add_channels(session, bot, [areas["BT-KP1-T2"]], active=False))[0]
    by_code = dict(zip(("BT", "KP1", "T1", "T2", "KP10", "A1"), chans, strict=True))

    found = await channels_for_areas(
        session=session,
        area_ids=[areas["BT-KP1"].id or 0, areas["BT-KP1-T1"].id or 0, areas["TD"].id or 0],
    )
    assert [c.id for c in found] == [by_code[k].id for k in ("KP1", "T1", "T2", "A1")]
    with_inactive = await channels_for_areas(
        session=session, area_ids=[areas["BT-KP1"].id or 0], active_only=False
    )
    assert off.id in {c.id for c in with_inactive}
    # "BT-KP1" must not match "BT-KP10": paths end with "/".
    assert by_code["KP10"].id not in {c.id for c in found}
    rows, count = await list_channels(session=session, area_code="BT-KP1", active=True)
    assert count == 3 and [a.code for _, a in rows] == ["BT-KP1", "BT-KP1-T1", "BT-KP1-T2"]


async def test_locale_must_look_like_one(session: AsyncSession) -> None:
    areas = await seed_tree(session)
    [channel] = await add_channels(session, await add_bot(session), [areas["BT-KP1"]])
    assert (
        await set_channel_locale(session=session, channel_id=channel.id or 0, locale="en")
    ).locale == "en"
    with pytest.raises(InvalidInput, match="language code"):
        await set_channel_locale(session=session, channel_id=channel.id or 0, locale="English")
