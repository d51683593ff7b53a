"""An official without Telegram composes on Zalo, over both sandboxes and the real front:
numbered text menus from the text to the confirmation, and the notice reaches the
Telegram groups and the Zalo chats of the chosen areas; a typed time schedules it; «0»
at every step drops the draft and sends nothing; a wrong reply re-prompts with the same
choices; a resident typing menu-like text gets the resident greeting; every screen fits
Zalo's 2,000 characters, however big the ward."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from broadcasts.chat_wizards import load_wizard
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.models import (
    Approval,
    Area,
    AreaLevel,
    Channel,
    ChatWizard,
    Delivery,
    DeliveryStatus,
    InviteKind,
    Notice,
    NoticeStatus,
    NoticeTarget,
    Official,
    WardPolicy,
)
from loa.runtime import Roles, Runtime
from tests.bot.world import ME, SAMPLES, TOKEN, register_official, wait_status
from tests.zalo.conftest import CHIN
from tests.zalo.world import (
    ZALO_TOKEN,
    ZaloWorld,
    channel_code,
    open_zalo_world,
    wait_for,
    wait_text,
)

HOA = {"id": "b7c6d5e4f3a2b1c0d9e8", "display_name": "Nguyễn Thị Hoa"}
MAI = {"id": "9a8b7c6d5e4f3a2b1c0d", "display_name": "Trần Thị Mai"}
CANCEL = "Gõ 0 để hủy"
NOTICE = (SAMPLES / "notices" / "01-cat-dien.txt").read_text(encoding="utf-8")


@pytest.fixture
async def zw(database_url: str) -> AsyncIterator[ZaloWorld]:
    async with open_zalo_world(database_url) as world:
        yield world


async def _texts(zw: ZaloWorld, chat: str) -> list[str]:
    return [m.get("text") or "" for m in await zw.zalo.messages(ZALO_TOKEN, chat)]


async def say(zw: ZaloWorld, person: dict[str, str], text: str, part: str) -> str:
    """`person` types `text`; the first new message containing `part` (all new ones so far
    must fit in one Zalo message)."""
    before = len(await _texts(zw, person["id"]))
    chat = await zw.zalo.say(ZALO_TOKEN, person, text)

    def arrived(messages: list[dict[str, Any]]) -> bool:
        return any(part in (m.get("text") or "") for m in messages[before:])

    messages = await wait_for(zw, chat, arrived)
    new = [m.get("text") or "" for m in messages[before:]]
    assert all(len(t) <= 2000 for t in new), [len(t) for t in new]
    return next(t for t in new if part in t)


async def zalo_official(zw: ZaloWorld, person: dict[str, str] = HOA) -> None:
    async with session_scope(zw.runtime.sessionmaker) as session:
        ward = (await session.scalars(select(Area).where(col(Area.code) == "BT"))).one()
        code = (
            await create_invite(session=session, kind=InviteKind.official, area_id=ward.id or 0)
        ).code
    assert "Từ nay" in await say(zw, person, f"DK {code}", "Từ nay")


async def _notices(zw: ZaloWorld) -> list[Notice]:
    async with session_scope(zw.runtime.sessionmaker) as session:
        return list(await session.scalars(select(Notice).order_by(col(Notice.id))))


async def _count(zw: ZaloWorld, table: type[Any]) -> int:
    async with session_scope(zw.runtime.sessionmaker) as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def test_a_zalo_official_composes_and_it_reaches_telegram_groups_and_zalo_chats(
    zw: ZaloWorld,
) -> None:
    mai = await zw.zalo.say(ZALO_TOKEN, MAI, f"DK {await channel_code(zw, 'BT-KP3')}")
    await wait_text(zw, mai, "Khu phố 3")
    await zalo_official(zw)
    async with session_scope(zw.runtime.sessionmaker) as session:
        official = (await session.scalars(select(Official))).one()
        assert (official.transport, official.user_ref) == ("zalo", HOA["id"])

    review = await say(zw, HOA, NOTICE, "Gõ 1 để chọn nơi nhận")
    assert CANCEL in review and "⚠️" in review  # the past date 28/11/2026 is warned about
    assert "Gõ 2 để sửa bản tiếng Việt" in review
    texts = await _texts(zw, HOA["id"])
    assert any("Bản tiếng Việt" in t and "1900 545454" in t for t in texts)  # the rendition

    picker = await say(zw, HOA, "1", "Chọn nơi nhận")
    assert "3. ▫️ Khu phố 3 (4) ›" in picker and "tất cả" in picker
    picker = await say(zw, HOA, "3", "Chọn nơi nhận")
    assert "3. ✅ Khu phố 3 (4)" in picker and "Đã chọn: Khu phố 3 (4 nhóm)" in picker
    when = await say(zw, HOA, "xong", "Gửi khi nào?")
    assert "Thông báo sẽ đến 4 nhóm: Khu phố 3." in when and "Gõ 1 để gửi ngay" in when
    confirm = await say(zw, HOA, "1", "Gửi ngay đến 4 nhóm?")
    assert "Gõ 1 để gửi" in confirm and "Hạn" in confirm
    sent = await say(zw, HOA, "1", "Đang gửi thông báo")
    assert "Gõ TT" in sent

    (notice,) = await _notices(zw)
    await wait_status(zw.world, notice.id or 0, NoticeStatus.done)
    w = zw.world
    for code in ("BT-KP3", "BT-KP3-T5", "BT-KP3-T6"):
        messages = await w.client.messages(TOKEN, w.chats[code])
        assert any("1900 545454" in (m.get("text") or "") for m in messages), code
    assert not any(
        "1900 545454" in (m.get("text") or "")
        for m in await w.client.messages(TOKEN, w.chats["BT-KP2"])
    )
    assert "1900 545454" in await wait_text(zw, mai, 'Trả lời 1 hoặc "đã nhận"')
    async with session_scope(zw.runtime.sessionmaker) as session:
        sent_rows = list(
            await session.scalars(
                select(Delivery).where(col(Delivery.status) == DeliveryStatus.sent)
            )
        )
    assert len(sent_rows) == 4
    assert any(d.bot_id == zw.zalo_account_id for d in sent_rows)

    await zw.zalo.say(ZALO_TOKEN, MAI, "đã nhận")
    await wait_text(zw, mai, "Loa đã ghi nhận")
    status = await say(zw, HOA, "TT", "📍 Khu phố 3")
    assert f"#{notice.id}" in status
    assert "📍 Khu phố 3: đã gửi 4/4 · ✅ đã nhận 1 · ⏳ chưa nhận 3" in status
    assert await _count(zw, ChatWizard) == 0  # the wizard ended with the send


async def test_a_typed_time_schedules_it_and_a_bad_one_is_asked_again(zw: ZaloWorld) -> None:
    await zalo_official(zw)
    await say(zw, HOA, NOTICE, "Gõ 1 để chọn nơi nhận")
    await say(zw, HOA, "1", "Chọn nơi nhận")
    await say(zw, HOA, "tất cả", "✅ Cả phường")
    await say(zw, HOA, "xong", "Gửi khi nào?")
    prompt = await say(zw, HOA, "2", "Anh/chị gõ giờ và ngày")
    assert CANCEL in prompt
    again = await say(zw, HOA, "lúc nào đó", "Loa chưa đọc được")
    assert "Gõ 0" in again  # the same prompt again, with the way out
    confirm = await say(zw, HOA, "17h30 mai", "Hẹn gửi đến")
    assert "17 giờ 30" in confirm and "Gõ 1 để hẹn gửi" in confirm and "Gõ 2 để đổi giờ" in confirm
    sent = await say(zw, HOA, "1", "Đã hẹn giờ thông báo")
    assert "17 giờ 30" in sent
    (notice,) = await _notices(zw)
    assert notice.status == NoticeStatus.scheduled and notice.scheduled_at is not None
    local = notice.scheduled_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert (local.hour, local.minute) == (17, 30)
    assert await _count(zw, Delivery) == 0  # not yet
    status = await say(zw, HOA, "TT", "Đã hẹn giờ")
    assert f"#{notice.id}" in status and f"Gõ HUY {notice.id} để hủy" in status
    cancelled = await say(zw, HOA, f"HỦY {notice.id}", "Đã hủy thông báo")
    assert f"#{notice.id}" in cancelled and "Chưa nhóm nào nhận được" in cancelled
    (notice,) = await _notices(zw)
    assert notice.status == NoticeStatus.cancelled
    again = await say(zw, HOA, f"huy {notice.id}", "đã được hủy trước đó")
    assert f"#{notice.id}" in again


@pytest.mark.parametrize(
    "steps",
    [
        [],  # at the review
        ["2"],  # editing the Vietnamese text
        ["1"],  # the area picker
        ["1", "3", "xong"],  # when
        ["1", "3", "xong", "2"],  # typing a time
        ["1", "3", "xong", "1"],  # the confirmation
    ],
)
async def test_zero_at_any_step_drops_the_draft_and_sends_nothing(
    zw: ZaloWorld, steps: list[str]
) -> None:
    await zalo_official(zw)
    await say(zw, HOA, NOTICE, "Gõ 1 để chọn nơi nhận")
    for step in steps:
        reply = await say(zw, HOA, step, CANCEL)
        assert "Gõ 0" in reply
    (notice,) = await _notices(zw)
    dropped = await say(zw, HOA, "0", "Đã bỏ thông báo")
    assert f"#{notice.id}" in dropped and "chưa gửi đến nhóm nào" in dropped
    (notice,) = await _notices(zw)
    assert notice.status == NoticeStatus.cancelled
    assert await _count(zw, Delivery) == 0 and await _count(zw, ChatWizard) == 0
    assert "Hiện không có thông báo nào đang soạn" in await say(zw, HOA, "0", "đang soạn")


async def test_unexpected_replies_are_asked_again_politely(zw: ZaloWorld) -> None:
    await zalo_official(zw)
    await say(zw, HOA, NOTICE, "Gõ 1 để chọn nơi nhận")
    again = await say(zw, HOA, "9", "Loa chưa hiểu “9”")
    assert "Gõ 1 để chọn nơi nhận" in again and CANCEL in again
    await say(zw, HOA, "1", "Chọn nơi nhận")
    again = await say(zw, HOA, "7", "Danh sách không có số 7")
    assert "Gõ số để chọn" in again and CANCEL in again
    again = await say(zw, HOA, "xong", "chưa chọn khu phố")
    assert "Gõ «xong»" in again
    found = await say(zw, HOA, "tổ 5", "Tìm “tổ 5”")
    assert "1. ▫️ Tổ dân phố 5 – Khu phố 3 (1)" in found
    await say(zw, HOA, "1", "Đã chọn: Tổ dân phố 5 (Khu phố 3) (1 nhóm)")
    when = await say(zw, HOA, "xong", "Gửi khi nào?")
    again = await say(zw, HOA, "8", "Loa chưa hiểu “8”")
    assert "Gõ 1 để gửi ngay" in again and "Gõ 1 để gửi ngay" in when
    past = await say(zw, HOA, "7h 1/1/2020", "đã qua")
    assert "Gõ 1 để gửi ngay" in past
    await say(zw, HOA, "1", "Gửi ngay đến 1 nhóm?")
    again = await say(zw, HOA, "có lẽ", "Loa chưa hiểu “có lẽ”")
    assert "Gõ 1 để gửi" in again
    before = len(await _texts(zw, HOA["id"]))
    await zw.zalo.send_photo(ZALO_TOKEN, HOA, "https://example.org/a.jpg")  # not a choice
    photo = await wait_for(zw, HOA["id"], lambda ms: len(ms) > before)
    assert "chỉ đọc được chữ" in photo[-1]["text"] and "Gõ 1 để gửi" in photo[-1]["text"]
    (notice,) = await _notices(zw)
    assert notice.status == NoticeStatus.draft and await _count(zw, Delivery) == 0


async def test_a_resident_typing_menu_text_gets_the_resident_greeting(zw: ZaloWorld) -> None:
    for text in ("1", "2", "0", "xong", "TT", NOTICE):
        answer = await say(zw, CHIN, text, "Xin chào")
        assert "DK AB12CD34" in answer and "Gõ" not in answer
    assert await _notices(zw) == [] and await _count(zw, ChatWizard) == 0


async def test_the_wizard_survives_a_restart_and_expires(zw: ZaloWorld) -> None:
    await zalo_official(zw)
    await say(zw, HOA, NOTICE, "Gõ 1 để chọn nơi nhận")
    await say(zw, HOA, "1", "Chọn nơi nhận")
    # Stop everything in the middle of the menus, start again: the wizard comes back.
    settings = zw.runtime.settings
    await zw.runtime.stop()
    zw.world.runtime = Runtime(settings, Roles(api=False))
    await zw.runtime.start()
    # Zalo hands each event to one getUpdates call, without offsets: a call the stopped
    # process left waiting takes the next event with it. A photo (it only redraws the
    # step) is sent until the new process answers, so the choice below reaches it.
    for _attempt in range(10):
        before = len(await _texts(zw, HOA["id"]))
        await zw.zalo.send_photo(ZALO_TOKEN, HOA, "https://example.org/a.jpg")
        await asyncio.sleep(2)
        if len(await _texts(zw, HOA["id"])) > before:
            break
    assert "chỉ đọc được chữ" in (await _texts(zw, HOA["id"]))[-1]
    await say(zw, HOA, "3", "Đã chọn: Khu phố 3")
    async with session_scope(zw.runtime.sessionmaker) as session:
        state = await load_wizard(
            session=session,
            bot_id=zw.zalo_account_id,
            chat_ref=HOA["id"],
            timeout=timedelta(minutes=60),
        )
        assert state is not None and state.step == "targets" and not state.expired
        # An hour and a bit without an answer.
        row = await session.get(ChatWizard, (zw.zalo_account_id, HOA["id"]))
        assert row is not None
        row.updated_at = row.updated_at - timedelta(minutes=61)
        session.add(row)
    answer = await say(zw, HOA, "xong", "đã chờ trả lời quá 60 phút")
    assert "chưa gửi đến nhóm nào" in answer
    (notice,) = await _notices(zw)
    assert notice.status == NoticeStatus.cancelled and await _count(zw, NoticeTarget) == 0


async def test_every_screen_of_a_big_ward_fits_in_2000_characters(database_url: str) -> None:
    async with open_zalo_world(database_url) as zw:
        async with session_scope(zw.runtime.sessionmaker) as session:
            ward = (await session.scalars(select(Area).where(col(Area.code) == "BT"))).one()
            long = "Khu phố " + "Nguyễn Thị Minh Khai " * 6  # names far past the screen's cut
            for i in range(120):
                kp = Area(
                    code=f"BT-X{i:03d}",
                    name=f"{long}{i}",
                    level=AreaLevel.neighbourhood,
                    parent_id=ward.id,
                    path=f"{ward.path}BT-X{i:03d}/",
                )
                session.add(kp)
                await session.flush()
                session.add(
                    Channel(
                        area_id=kp.id or 0,
                        bot_id=zw.zalo_account_id,
                        transport="zalo",
                        chat_ref=f"chat-{i}",
                    )
                )
        await zalo_official(zw)
        await say(zw, HOA, NOTICE * 5, "Gõ 1 để chọn nơi nhận")
        screens = [await say(zw, HOA, "1", "Trang 1/9")]
        for _ in range(8):
            screens.append(await say(zw, HOA, "s", "Gõ «s»"))
        assert "Trang 9/9" in screens[-1]
        chosen = await say(zw, HOA, "1,2,3,4", "Đã chọn")
        assert "Đã chọn: Khu phố Nguyễn" in chosen and "(4 nhóm)" in chosen
        first = await say(zw, HOA, "t", "Trang 8/9")
        chosen = await say(zw, HOA, ",".join(str(n) for n in range(1, 16)), "(19 nhóm)")
        screens += [first]
        when = await say(zw, HOA, "xong", "Gửi khi nào?")
        screens += [chosen, when, await say(zw, HOA, "1", "Gửi ngay đến")]
        assert all(len(s) <= 2000 and "Gõ 0" in s for s in screens)
        assert all("Gõ «xong»" in s for s in screens[:10])


async def test_the_wards_approval_rules_hold_on_zalo(zw: ZaloWorld) -> None:
    w = zw.world
    async with session_scope(zw.runtime.sessionmaker) as session:
        ward = (await session.scalars(select(Area).where(col(Area.code) == "BT"))).one()
        session.add(WardPolicy(ward_id=ward.id or 0, needs_approval=True))
    await zalo_official(zw)
    await say(zw, HOA, NOTICE, "Gõ 1 để chọn nơi nhận")
    await say(zw, HOA, "1", "Chọn nơi nhận")
    await say(zw, HOA, "3", "Đã chọn: Khu phố 3")
    await say(zw, HOA, "xong", "Gửi khi nào?")
    confirm = await say(zw, HOA, "1", "Gửi ngay đến 3 nhóm?")
    assert "Lãnh đạo phường sẽ duyệt" in confirm
    refused = await say(zw, HOA, "1", "chưa có lãnh đạo nào được giao quyền duyệt")
    assert "gõ 1 lại" in refused and "Gõ 2 để đổi giờ" in refused  # the choices again
    (notice,) = await _notices(zw)
    assert notice.status == NoticeStatus.draft and notice.approval == ""

    await register_official(w)  # a leader on Telegram becomes the ward's approver
    async with session_scope(zw.runtime.sessionmaker) as session:
        leader = (
            await session.scalars(select(Official).where(col(Official.transport) == "telegram"))
        ).one()
        leader.role = "approver"
        session.add(leader)
    held = await say(zw, HOA, "1", "để lãnh đạo phường duyệt")
    assert f"#{notice.id}" in held
    (notice,) = await _notices(zw)
    assert notice.approval == Approval.pending and notice.status == NoticeStatus.draft
    await w.player.wait_text(ME, f"#{notice.id}")  # the approver is asked, on Telegram
    assert await _count(zw, Delivery) == 0
    status = await say(zw, HOA, "TT", "Chờ lãnh đạo phường duyệt")
    assert f"#{notice.id}" in status
