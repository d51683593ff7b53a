"""The compose wizard as an official uses it, end to end through the sandbox with
Telegram's flood limits on: stale screens, quick double taps, /huy at every step,
cancelling and moving a scheduled notice, a screen Telegram refuses, the review's length,
and a burst of Đã nhận presses on the live status message.

Each test also checks that the official's chat never got a 429 and never saw a keyboard
of more than 100 buttons.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.keyboards import ConfirmCb, ReviewCb, TreeCb, WhenCb
from bot.texts import rendition_block, utf16_len
from broadcasts.db import session_scope
from broadcasts.models import Notice, NoticeStatus, Rendition
from broadcasts.settings import DEFAULT_TIMEZONE
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES
from loa.demo import Player
from tests.bot.world import (
    ME,
    OFFICIAL,
    TOKEN,
    World,
    another_official,
    area_id,
    compose,
    latest_notice,
    max_buttons,
    notice_status,
    official_429s,
    on,
    open_world,
    press_on,
    register_official,
    wait_status,
    write_notice,
)

STALE = "Màn hình này đã cũ"
TZ = ZoneInfo(DEFAULT_TIMEZONE)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        await register_official(w)
        yield w
        assert await official_429s(w) == 0
        assert await max_buttons(w) <= 100


def _local(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%H:%M %d/%m/%Y")


async def _planned(w: World, notice_id: int) -> datetime | None:
    assert w.runtime.scheduler is not None
    return w.runtime.scheduler.planned_at(notice_id)


async def _schedule(w: World, at: datetime, p: Player, area: str = "BT-KP2") -> Notice:
    me, chat = p.official, p.official["id"]
    n = await compose(w, "04-rac-cong-kenh.txt", [area], p)
    await p.press(chat, on(WhenCb(action="later", n=n)), me)
    await p.wait_text(chat, "Anh/chị gõ giờ và ngày")
    await p.say_private(_local(at))
    await p.press(chat, on(ConfirmCb(action="send", n=n)), me)
    await p.wait_text(chat, "Sẽ gửi lúc")
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = await session.get(Notice, n)
    assert notice is not None
    return notice


async def test_stale_screens_change_nothing_and_double_taps_both_count(world: World) -> None:
    w = world
    n = await write_notice(w)
    review_id, to_targets = await w.player.button(ME, on(ReviewCb(action="targets", n=n)))
    await w.player.press(ME, on(ReviewCb(action="targets", n=n)), OFFICIAL)
    picker_id, _ = await w.player.button(ME, on(TreeCb(action="done", n=n)))
    # The review's «Chọn nơi nhận» again, once the picker is up: a clear no.
    answer = await press_on(w, review_id, to_targets)
    assert answer["show_alert"] and STALE in answer["text"]
    assert [m for m in await w.client.messages(TOKEN, ME) if "tr:done" in str(m)] != []

    async def double_tap(*codes: str) -> None:
        _, sample = await w.player.button(ME, "tr:toggle:")
        n, v = sample.split(":")[-2:]
        ids = [await area_id(w, code) for code in codes]
        cqs = await asyncio.gather(
            *(w.client.press(TOKEN, ME, picker_id, OFFICIAL, f"tr:toggle:{i}:{n}:{v}") for i in ids)
        )
        for cq in cqs:
            assert (await w.client.callback_answer(cq, wait=10.0)) is not None

    await double_tap("BT-KP1", "BT-KP2")
    await w.player.wait_text(ME, "Đã chọn: <b>Khu phố 1, Khu phố 2</b>")
    await double_tap("BT-KP3", "BT-KP4")
    await w.player.wait_text(ME, "Đã chọn: <b>Khu phố 1, Khu phố 2, Khu phố 3, Khu phố 4</b>")
    await double_tap("BT-KP1", "BT-KP4")
    await w.player.wait_text(ME, "Đã chọn: <b>Khu phố 2, Khu phố 3</b>")
    _, done = await w.player.button(ME, on(TreeCb(action="done", n=n)))
    await w.player.press(ME, on(TreeCb(action="done", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Thông báo sẽ đến 6 nhóm: <b>Khu phố 2, Khu phố 3</b>")
    # The picker's «Xong» a second time: the wizard has moved on.
    assert STALE in (await press_on(w, picker_id, done))["text"]
    # A screen of an earlier notice does nothing to the current one.
    await w.player.press(ME, on(WhenCb(action="cancel", n=n)), OFFICIAL)
    second = await write_notice(w, "02-tiem-soi.txt")
    assert STALE in (await press_on(w, review_id, to_targets))["text"]
    assert await notice_status(w, n) == NoticeStatus.cancelled
    assert await notice_status(w, second) == NoticeStatus.draft
    await w.player.press(ME, on(ReviewCb(action="targets", n=second)), OFFICIAL)
    await w.player.button(ME, on(TreeCb(action="done", n=second)))


async def test_cancel_tells_the_truth_at_every_step(world: World) -> None:
    w = world
    await w.player.say_private("/huy")
    await w.player.wait_text(ME, "Hiện không có thông báo nào đang soạn")

    async def reach(step: str, p: Player) -> int:
        me, chat = p.official, p.official["id"]
        if step in ("review", "editing", "targets"):
            n = await write_notice(w, player=p)
            if step == "editing":
                await p.press(chat, on(ReviewCb(action="edit", locale="vi", n=n)), me)
                await p.wait_text(chat, "gửi lại toàn bộ")
            if step == "targets":
                await p.press(chat, on(ReviewCb(action="targets", n=n)), me)
                await p.button(chat, on(TreeCb(action="done", n=n)))
            return n
        n = await compose(w, "05-hop-dan.txt", ["BT-KP1"], p)
        if step == "when_text":
            await p.press(chat, on(WhenCb(action="later", n=n)), me)
            await p.wait_text(chat, "Anh/chị gõ giờ và ngày")
        if step == "confirm":
            await p.press(chat, on(WhenCb(action="now", n=n)), me)
            await p.button(chat, on(ConfirmCb(action="send", n=n)))
        return n

    async def cancel_at(step: str, user_id: int) -> None:
        p = await another_official(w, user_id)
        n = await reach(step, p)
        await p.say_private("/huy")
        await p.wait_text(user_id, f"Đã bỏ thông báo #{n} đang soạn")
        assert await notice_status(w, n) == NoticeStatus.cancelled, step
        assert await official_429s(w, user_id) == 0

    # One official per step, side by side: each chat has its own flood bucket.
    steps = ("review", "editing", "targets", "when", "when_text", "confirm")
    await asyncio.gather(*(cancel_at(step, 9100 + i) for i, step in enumerate(steps)))


async def test_cancel_after_scheduling_and_after_sending(world: World) -> None:
    w = world

    async def scheduled(p: Player) -> None:
        chat = p.official["id"]
        at = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=3)
        notice = await _schedule(w, at, p)
        assert await _planned(w, notice.id or 0) == at
        await p.say_private("/huy")
        said = await p.wait_text(chat, f"Đã hủy thông báo #{notice.id}")
        assert f"{at.astimezone(TZ):%d/%m/%Y}" in said and "Chưa nhóm nào nhận được" in said
        assert await notice_status(w, notice.id or 0) == NoticeStatus.cancelled
        assert await _planned(w, notice.id or 0) is None  # its job is gone
        await p.wait_text(chat, "Trạng thái: đã hủy")  # the live status says so too
        await p.say_private("/huy")
        await p.wait_text(chat, f"Thông báo #{notice.id} đã được hủy trước đó")

    async def sent(p: Player) -> None:
        me, chat = p.official, p.official["id"]
        n = await compose(w, "05-hop-dan.txt", ["BT-KP1"], p)
        await p.press(chat, on(WhenCb(action="now", n=n)), me)
        await p.press(chat, on(ConfirmCb(action="send", n=n)), me)
        await wait_status(w, n, NoticeStatus.done)
        await p.say_private("/huy")
        said = await p.wait_text(chat, f"Thông báo #{n} đã gửi đến 3 nhóm")
        assert "không hủy được" in said and "soạn một thông báo mới" in said
        assert await notice_status(w, n) == NoticeStatus.done
        assert await official_429s(w, chat) == 0

    await asyncio.gather(scheduled(w.player), sent(await another_official(w, 9201)))


async def test_a_scheduled_notice_is_moved_and_cancelled_from_the_bot(world: World) -> None:
    w = world
    at = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)

    async def moved(p: Player) -> None:
        me, chat = p.official, p.official["id"]
        notice = await _schedule(w, at, p)
        status_id = int(notice.status_message_ref or 0)
        # «🕑 Đổi giờ» on the live status message, a new time, then the confirmation.
        cq = await w.client.press(TOKEN, chat, status_id, me, f"nt:retime:{notice.id}:0")
        assert await w.client.callback_answer(cq, wait=10.0) is not None
        await p.wait_text(chat, f"gõ giờ gửi mới cho thông báo #{notice.id}")
        later = at + timedelta(hours=1, minutes=15)
        await p.say_private(_local(later))
        await p.press(chat, f"nt:move:{notice.id}:", me)
        await p.wait_text(chat, f"✅ Thông báo #{notice.id} sẽ gửi lúc")
        async with session_scope(w.runtime.sessionmaker) as session:
            changed = await session.get(Notice, notice.id)
        assert changed is not None and changed.scheduled_at == later
        assert changed.status == NoticeStatus.scheduled
        assert await _planned(w, notice.id or 0) == later
        hour = later.astimezone(TZ)
        await p.wait_text(chat, f"Sẽ gửi lúc {hour.hour} giờ {hour.minute:02d}")

    async def cancelled(p: Player) -> None:
        me, chat = p.official, p.official["id"]
        notice = await _schedule(w, at, p, area="BT-KP3")
        status_id = int(notice.status_message_ref or 0)
        # From /thongbao: «❌ Hủy thông báo», then «Không hủy»: nothing changes.
        await p.say_private("/thongbao")
        await p.press(chat, f"nt:cancel:{notice.id}:", me)
        await p.press(chat, f"nt:keep:{notice.id}:", me)
        await p.wait_text(chat, f"Không thay đổi gì: thông báo #{notice.id}")
        assert await notice_status(w, notice.id or 0) == NoticeStatus.scheduled
        # Again, and this time yes.
        await p.say_private("/thongbao")
        await p.press(chat, f"nt:cancel:{notice.id}:", me)
        await p.press(chat, f"nt:drop:{notice.id}:", me)
        await p.wait_text(chat, f"Đã hủy thông báo #{notice.id}")
        assert await notice_status(w, notice.id or 0) == NoticeStatus.cancelled
        assert await _planned(w, notice.id or 0) is None
        await p.wait_text(chat, "Trạng thái: đã hủy")
        messages = await w.client.messages(TOKEN, chat)
        status = next(m for m in messages if m["message_id"] == status_id)
        assert status["reply_markup"] is None  # no «Hủy» under a cancelled notice
        # The «Hủy thông báo» still under the /thongbao list says the truth.
        answer = await p.press(chat, f"nt:cancel:{notice.id}:", me)
        assert f"Thông báo #{notice.id} đã được hủy trước đó" in answer
        assert await official_429s(w, chat) == 0

    await asyncio.gather(moved(w.player), cancelled(await another_official(w, 9301)))


async def test_the_review_counts_the_text_a_reader_sees(world: World) -> None:
    w = world
    line = 'Bà con lưu ý & "nhớ" mang theo giấy tờ & đồ dùng cá nhân khi đến nhà văn hóa. '
    text = (line * 60)[:3925].rstrip()
    assert len(text) > 3900 and text.count("&") > 90
    n = await write_notice(w)
    await w.player.press(ME, on(ReviewCb(action="edit", locale="vi", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "gửi lại toàn bộ")
    await w.player.say_private(text)
    await w.player.wait_text(ME, "do anh/chị sửa")
    shown = [m for m in await w.client.messages(TOKEN, ME) if "do anh/chị sửa" in m["plain_text"]][
        -1
    ]
    assert shown["plain_text"].endswith(text)  # whole: 3,925 letters fit, whatever the markup
    assert (
        len(shown["text"]) > TELEGRAM_CAPABILITIES.max_text
    )  # ... though the HTML is longer than 4096
    await w.player.button(ME, on(ReviewCb(action="targets", n=n)))  # the review goes on
    # A text longer than one message is cut on the text, before escaping.
    long = Rendition(notice_id=1, locale="vi", text=("a & b " * 1000), source="edited")
    assert w.runtime.services is not None
    i18n = w.runtime.services.i18n
    with i18n.context(), i18n.use_locale("vi"):
        block = rendition_block(long)
    assert re.search(r"&(?!amp;|lt;|gt;)", block) is None  # no entity cut in half
    plain = re.sub(r"</?b>", "", block).replace("&amp;", "&")
    assert utf16_len(plain) <= TELEGRAM_CAPABILITIES.max_text and plain.endswith("…")


async def test_a_refused_screen_leaves_a_way_on_and_errors_are_told_once(world: World) -> None:
    w = world
    n = await write_notice(w)
    errors_before = (await w.client.stats(TOKEN))["errors_by_code"].get("400", 0)
    # Telegram refuses the picker: the press was answered; the error comes as a message.
    await w.client.add_fault("400_not_found", token=TOKEN, chat_id=ME, times=1)
    answer = await w.player.press(ME, on(ReviewCb(action="targets", n=n)), OFFICIAL)
    assert answer == ""  # the one answer: a plain acknowledgement of the press
    await w.player.wait_text(ME, "Telegram chưa nhận tin nhắn tiếp theo")
    await w.player.say_private("khu phố")  # any text: the step comes again (a search here)
    kp1 = await area_id(w, "BT-KP1")
    await w.player.press(ME, on(TreeCb(action="toggle", area_id=kp1, n=n)), OFFICIAL)
    await w.player.press(ME, on(TreeCb(action="done", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Thông báo sẽ đến 3 nhóm")
    errors = (await w.client.stats(TOKEN))["errors_by_code"].get("400", 0)
    assert errors == errors_before + 1  # only the injected refusal: no second answer
    # An error on a press not yet answered is an alert on it, and nothing else.
    await w.player.press(ME, on(WhenCb(action="later", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Anh/chị gõ giờ và ngày")
    soon = datetime.now(UTC) + timedelta(seconds=2)
    await w.player.say_private(soon.astimezone(TZ).strftime("%H:%M:%S %d/%m/%Y"))
    await w.player.button(ME, on(ConfirmCb(action="send", n=n)))
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.5)
    before = len(await w.client.messages(TOKEN, ME))
    answer = await w.player.press(ME, on(ConfirmCb(action="send", n=n)), OFFICIAL)
    assert "Giờ đã chọn đã qua" in answer
    assert await notice_status(w, n) == NoticeStatus.draft
    await w.player.press(ME, on(ConfirmCb(action="when", n=n)), OFFICIAL)  # it goes on
    await w.player.button(ME, on(WhenCb(action="now", n=n)))
    assert len(await w.client.messages(TOKEN, ME)) == before + 1  # the when screen only


async def test_a_burst_of_acknowledgements_ends_with_the_final_counts(world: World) -> None:
    w = world
    ward = await area_id(w, "BT")
    n = await write_notice(w, "07-trieu-cuong.txt")
    await w.player.press(ME, on(ReviewCb(action="targets", n=n)), OFFICIAL)
    await w.player.press(ME, on(TreeCb(action="toggle", area_id=ward, n=n)), OFFICIAL)
    await w.player.press(ME, on(TreeCb(action="done", n=n)), OFFICIAL)
    await w.player.press(ME, on(WhenCb(action="now", n=n)), OFFICIAL)
    await w.player.press(ME, on(ConfirmCb(action="send", n=n)), OFFICIAL)
    notice = await latest_notice(w)
    await wait_status(w, notice.id or 0, NoticeStatus.done)
    buttons = {chat: await w.player.button(chat, "ack:") for chat in w.leaders}
    people = [(chat, leader) for chat, leader in w.leaders.items()]
    people += [
        (chat, {"id": 7000 + i, "first_name": f"Tổ viên {i}"})
        for i, chat in enumerate(list(w.leaders) * 2)
    ]
    people = people[:30]
    assert len(people) == 30
    cqs = await asyncio.gather(
        *(
            w.client.press(TOKEN, chat, buttons[chat][0], user, buttons[chat][1])
            for chat, user in people
        )
    )
    for cq in cqs:
        assert await w.client.callback_answer(cq, wait=15.0) is not None
    groups = len(w.leaders)
    await w.player.wait_text(ME, f"Đã nhận: {groups}/{groups} nhóm (30 người)", timeout=30)
    assert w.runtime.services is not None
    await w.runtime.services.outbox.settled()
    status = next(
        m
        for m in await w.client.messages(TOKEN, ME)
        if m["message_id"] == int(notice.status_message_ref or 0)
    )
    assert f"Đã nhận: {groups}/{groups} nhóm (30 người)" in status["text"]
