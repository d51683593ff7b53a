"""End to end over both sandboxes: residents register Zalo chats with «DK <mã>», an
official composes on Telegram, the notice reaches the Telegram groups and the Zalo chats
of the targeted areas, and Zalo replies («1», «đã nhận», a quote-reply) count once per
person; «HUY DK» stops the chat."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.models import Channel, Delivery, DeliveryStatus, NoticeStatus
from tests.bot.world import OFFICIAL, TOKEN, compose, latest_notice, register_official, wait_status
from tests.zalo.conftest import CHIN, LAN
from tests.zalo.world import (
    ZALO_NAME,
    ZALO_TOKEN,
    ZaloWorld,
    channel_code,
    open_zalo_world,
    reply_acks,
    wait_text,
)

HINT = 'Trả lời 1 hoặc "đã nhận" để xác nhận.'
MAI = {"id": "9a8b7c6d5e4f3a2b1c0d", "display_name": "Trần Thị Mai"}


@pytest.fixture
async def zw(database_url: str) -> AsyncIterator[ZaloWorld]:
    async with open_zalo_world(database_url) as world:
        yield world


async def _zalo_channels(zw: ZaloWorld) -> list[Channel]:
    async with session_scope(zw.runtime.sessionmaker) as session:
        rows = await session.scalars(
            select(Channel).where(col(Channel.transport) == "zalo").order_by(col(Channel.id))
        )
        return list(rows)


async def test_notice_from_telegram_reaches_telegram_groups_and_zalo_chats(zw: ZaloWorld) -> None:
    zalo, w = zw.zalo, zw.world
    lan = await zalo.say(ZALO_TOKEN, LAN, f"DK {await channel_code(zw, 'BT-KP3')}")
    assert "Đã đăng ký" in await wait_text(zw, lan, "Khu phố 3")
    chin = await zalo.say(ZALO_TOKEN, CHIN, f"đăng ký {await channel_code(zw, 'BT-KP3')}")
    await wait_text(zw, chin, "Đã đăng ký")
    mai = await zalo.say(ZALO_TOKEN, MAI, f"Dk {await channel_code(zw, 'BT-KP2')}")
    await wait_text(zw, mai, "Khu phố 2")
    channels = await _zalo_channels(zw)
    assert [(c.chat_ref, c.transport, c.active) for c in channels] == [
        (lan, "zalo", True),
        (chin, "zalo", True),
        (mai, "zalo", True),
    ]

    await register_official(w)
    await compose(w, "01-cat-dien.txt", ["BT-KP3"])
    await w.player.press(OFFICIAL["id"], "wh:now", OFFICIAL)
    await w.player.press(OFFICIAL["id"], "cf:send", OFFICIAL)
    notice = await latest_notice(w)
    await wait_status(w, notice.id or 0, NoticeStatus.done)

    # Telegram: the khu phố's group got it with its button, as before.
    telegram = await w.client.messages(TOKEN, w.chats["BT-KP3"])
    assert any("inline_keyboard" in str(m.get("reply_markup")) for m in telegram)
    # Zalo: both chats of Khu phố 3, in plain text ending with how to acknowledge.
    for chat in (lan, chin):
        text = await wait_text(zw, chat, "1900 545454")
        assert text.endswith(HINT) and len(text) <= 2000
        assert "<b>" not in text and "Phường Bến Thành" in text
    assert not [
        m for m in await zalo.messages(ZALO_TOKEN, mai) if "1900 545454" in (m.get("text") or "")
    ]  # Khu phố 2 was not targeted

    # «1» counts; «đã nhận» from the same person again counts once.
    await zalo.say(ZALO_TOKEN, LAN, "1")
    assert await wait_text(zw, lan, "Cảm ơn anh/chị, Loa đã ghi nhận.")
    await zalo.say(ZALO_TOKEN, LAN, "Đã nhận.")
    assert "rồi" in await wait_text(zw, lan, "đã báo «Đã nhận»")
    # A quote-reply of the notice counts whatever it says.
    notice_message = next(
        m for m in await zalo.messages(ZALO_TOKEN, chin) if HINT in (m.get("text") or "")
    )
    await zalo.say(ZALO_TOKEN, CHIN, "vâng", quote=notice_message["message_id"])
    await wait_text(zw, chin, "Loa đã ghi nhận")
    await zalo.say(ZALO_TOKEN, CHIN, "OK")
    await wait_text(zw, chin, "đã báo «Đã nhận»")
    assert sorted(await reply_acks(zw, notice.id or 0)) == sorted(
        [(LAN["id"], "reply"), (CHIN["id"], "reply")]
    )
    async with session_scope(zw.runtime.sessionmaker) as session:
        sent = await session.scalars(
            select(Delivery).where(
                col(Delivery.notice_id) == notice.id, col(Delivery.status) == DeliveryStatus.sent
            )
        )
        assert len([d for d in sent if d.bot_id == zw.zalo_account_id]) == 2


async def test_registration_answers_bad_used_and_repeated_codes_and_huy_dk(
    zw: ZaloWorld,
) -> None:
    zalo = zw.zalo
    code = await channel_code(zw, "BT-KP1")
    lan = await zalo.say(ZALO_TOKEN, LAN, "DK")
    assert "DK AB12CD34" in await wait_text(zw, lan, "gửi kèm mã")
    await zalo.say(ZALO_TOKEN, LAN, "DK ZZZZ9999")
    await wait_text(zw, lan, "Mã này không đúng")
    await zalo.say(ZALO_TOKEN, LAN, f"DK {code}")
    await wait_text(zw, lan, "Khu phố 1")
    await zalo.say(ZALO_TOKEN, LAN, f"DK {code}")  # the same chat, the same code
    assert "rồi" in await wait_text(zw, lan, "đã được đăng ký")
    chin = await zalo.say(ZALO_TOKEN, CHIN, f"DK {code}")  # someone else, a used code
    await wait_text(zw, chin, "Mã này đã được dùng rồi")
    assert [c.chat_ref for c in await _zalo_channels(zw)] == [lan]

    await zalo.say(ZALO_TOKEN, CHIN, "hủy đăng ký")
    await wait_text(zw, chin, "chưa đăng ký")
    await zalo.say(ZALO_TOKEN, LAN, "HUY DK")
    answer = await wait_text(zw, lan, "Đã hủy đăng ký")
    assert "anh/chị" in answer and "bạn" not in answer
    (channel,) = await _zalo_channels(zw)
    assert not channel.active and "HUY DK" in (channel.inactive_reason or "")
    await zalo.say(ZALO_TOKEN, LAN, "xin chào")
    assert "DK AB12CD34" in await wait_text(zw, lan, "Xin chào")


async def test_too_many_wrong_codes_cool_off(zw: ZaloWorld) -> None:
    zalo = zw.zalo
    lan = ""
    for i in range(5):  # LOA_CODES__MAX_ATTEMPTS, the default
        lan = await zalo.say(ZALO_TOKEN, LAN, f"DK WRONG{i:03d}")
        await wait_text(zw, lan, "Mã này không đúng", count=i + 1)
    await zalo.say(ZALO_TOKEN, LAN, f"DK {await channel_code(zw, 'BT-KP1')}")
    await wait_text(zw, lan, "Đã nhập sai mã quá nhiều lần")  # even the right code waits
    assert await _zalo_channels(zw) == []


async def test_a_group_registers_with_a_mention_and_acknowledges_by_quote_reply(
    database_url: str,
) -> None:
    async with open_zalo_world(database_url, can_join_groups=True) as zw:
        zalo, w = zw.zalo, zw.world
        group = await zalo.add_group(ZALO_TOKEN, "Nhóm Khu phố 4")
        code = await channel_code(zw, "BT-KP4")
        assert not await zalo.group_say(ZALO_TOKEN, group, LAN, f"DK {code}")  # unseen
        assert await zalo.group_say(ZALO_TOKEN, group, LAN, f"@{ZALO_NAME} DK {code}")
        await wait_text(zw, group, "Khu phố 4")
        (channel,) = await _zalo_channels(zw)
        assert channel.chat_ref == group

        await register_official(w)
        await compose(w, "01-cat-dien.txt", ["BT-KP4"])
        await w.player.press(OFFICIAL["id"], "wh:now", OFFICIAL)
        await w.player.press(OFFICIAL["id"], "cf:send", OFFICIAL)
        notice = await latest_notice(w)
        await wait_status(w, notice.id or 0, NoticeStatus.done)
        text = await wait_text(zw, group, HINT)
        assert len(text) <= 2000
        assert not await zalo.group_say(ZALO_TOKEN, group, CHIN, "1")  # Zalo hides it
        posted = next(
            m for m in await zalo.messages(ZALO_TOKEN, group) if HINT in (m.get("text") or "")
        )
        assert await zalo.group_say(ZALO_TOKEN, group, CHIN, "1", quote=posted["message_id"])
        await wait_text(zw, group, "Loa đã ghi nhận")
        assert await reply_acks(zw, notice.id or 0) == [(CHIN["id"], "reply")]
