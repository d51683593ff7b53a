"""Approval end to end over the strict sandbox, with the real aiogram bot and runtime.

A ward whose notices need approval: the official confirms, nothing is sent, the ward's
approver gets the request in the bot and decides; what the groups receive, what the
official is told and what the audit log holds are checked at each step.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.approvals import sweep_approvals
from bot.keyboards import ReviewCb, TreeCb, WhenCb
from broadcasts.compose import send_off
from broadcasts.db import session_scope
from broadcasts.models import (
    Area,
    AuditEvent,
    Delivery,
    Notice,
    NoticeStatus,
    Official,
)
from broadcasts.notices import dispatch_notice
from broadcasts.officials import deactivate_official, set_official_role
from broadcasts.policy import PolicyUpdate, set_policy
from loa.demo import Player
from tests.bot.world import (
    ME,
    OFFICIAL,
    TOKEN,
    World,
    another_official,
    area_id,
    compose,
    on,
    open_world,
    register_official,
    wait_status,
    write_notice,
)

APPROVER_ID = 9101
SECOND_APPROVER_ID = 9102
KP3 = ("BT-KP3", "BT-KP3-T5", "BT-KP3-T6")  # Khu phố 3 and its two tổ: three groups


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with open_world(database_url) as w:
        yield w


async def require_approval(w: World, *, urgent_skips: bool = True) -> None:
    async with session_scope(w.runtime.sessionmaker) as session:
        ward = (await session.scalars(select(Area).where(Area.code == "BT"))).one()
        data = PolicyUpdate(needs_approval=True, urgent_skips_approval=urgent_skips)
        await set_policy(session=session, ward=ward, data=data, actor="test")


async def make_approver(w: World, user_id: int) -> Player:
    player = await another_official(w, user_id)
    async with session_scope(w.runtime.sessionmaker) as session:
        official = (
            await session.scalars(select(Official).where(Official.user_ref == str(user_id)))
        ).one()
        await set_official_role(session=session, official_id=official.id or 0, role="approver")
    return player


async def notice_row(w: World, notice_id: int) -> Notice:
    async with session_scope(w.runtime.sessionmaker) as session:
        notice = await session.get(Notice, notice_id)
    assert notice is not None
    return notice


async def group_notices(w: World) -> dict[str, int]:
    """How many messages with the Đã nhận button each group chat got."""
    got = {}
    for code, chat in w.chats.items():
        got[code] = sum(
            1
            for m in await w.client.messages(TOKEN, chat)
            if "ack:" in str(m.get("reply_markup") or "")
        )
    return got


async def deliveries(w: World, notice_id: int) -> int:
    async with session_scope(w.runtime.sessionmaker) as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.notice_id == notice_id)
        )
    return count or 0


async def audit_of(w: World, notice_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    async with session_scope(w.runtime.sessionmaker) as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.detail)
            .where(AuditEvent.subject == f"notice:{notice_id}")
            .order_by(AuditEvent.id)
        )
        return [(a, actor, detail) for a, actor, detail in rows]


async def official_id_of(w: World, user_id: int) -> int:
    async with session_scope(w.runtime.sessionmaker) as session:
        official = (
            await session.scalars(select(Official).where(Official.user_ref == str(user_id)))
        ).one()
    return official.id or 0


async def confirm_now(w: World, area_codes: list[str], notice_file: str = "01-cat-dien.txt") -> int:
    n = await compose(w, notice_file, area_codes)
    await w.player.press(ME, "wh:now", OFFICIAL)
    answer = await w.player.press(ME, "cf:send", OFFICIAL)
    assert answer == "📨 Đã gửi lãnh đạo phường duyệt."
    return n


async def _buttons(w: World, prefix: str) -> set[tuple[int, str]]:
    return {
        (m["message_id"], b["callback_data"])
        for m in await w.client.messages(TOKEN, ME)
        for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
        if b.get("callback_data", "").startswith(prefix)
    }


async def press_for_new(w: World, prefix: str, then: str) -> str:
    """Press `prefix` (newest), then wait for a new message with a `then` button: an
    older screen of the same notice must not be taken for the next step."""
    before = await _buttons(w, then)
    answer = await w.player.press(ME, prefix, OFFICIAL)
    for _ in range(200):
        if await _buttons(w, then) - before:
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError(f"no new {then!r} screen after {prefix!r} ({answer!r})")


async def assert_nothing_goes_out(w: World, notice_id: int) -> None:
    """However the scheduler is poked, a notice waiting for approval is not sent."""
    assert w.runtime.scheduler is not None
    await w.runtime.scheduler.sweep()
    assert await w.runtime.scheduler.fire(notice_id) is None
    async with session_scope(w.runtime.sessionmaker) as session:
        assert await dispatch_notice(session=session, notice_id=notice_id) is None
    assert await deliveries(w, notice_id) == 0
    assert sum((await group_notices(w)).values()) == 0


async def test_approved_notice_goes_out_only_after_approval(world: World) -> None:
    w = world
    await register_official(w)
    approver = await make_approver(w, APPROVER_ID)
    await require_approval(w)
    n = await confirm_now(w, ["BT-KP3"])

    notice = await notice_row(w, n)
    assert (notice.status, notice.approval) == (NoticeStatus.draft, "pending")
    await w.player.wait_text(ME, "⏳ Chờ duyệt")
    await w.player.wait_text(ME, "Sẽ gửi ngay khi được duyệt")
    await assert_nothing_goes_out(w, n)

    request = await approver.wait_text(APPROVER_ID, f"Thông báo #{n} cần anh/chị duyệt")
    assert "Người soạn: Hùng Trần" in request
    assert "Khu phố 3 (3 nhóm)" in request
    assert "gửi ngay khi được duyệt" in request
    # The renditions as the groups will see them, above the request.
    shown = await approver.wait_text(APPROVER_ID, "Các nhóm đọc tiếng Việt sẽ nhận")
    assert "1900 545454" in shown and "Phường Bến Thành" in shown

    toast = await approver.press(APPROVER_ID, f"ap:ok:{n}", approver.official)
    assert toast == "✅ Đã duyệt."
    await wait_status(w, n, NoticeStatus.done)
    got = await group_notices(w)
    assert {code for code, count in got.items() if count} == set(KP3)
    assert all(got[code] == 1 for code in KP3)
    told = await w.player.wait_text(ME, f"đã duyệt thông báo #{n}")
    assert told.startswith("✅ Cán bộ 9101 đã duyệt")
    await approver.wait_text(APPROVER_ID, f"Thông báo #{n} đã được Cán bộ 9101 duyệt.")

    approver_ref = await official_id_of(w, APPROVER_ID)
    events = await audit_of(w, n)
    assert [a for a, _, _ in events] == [
        "notice.compose",
        "notice.approval_request",
        "notice.approve",
    ]
    assert events[2][1] == f"official:{approver_ref}:Cán bộ 9101"
    assert events[2][2]["decision"] == "approved"
    assert (await notice_row(w, n)).approved_by == approver_ref


async def test_rejected_notice_is_never_sent_and_the_official_reads_why(world: World) -> None:
    w = world
    await register_official(w)
    approver = await make_approver(w, APPROVER_ID)
    await require_approval(w)
    n = await confirm_now(w, ["BT-KP2"])
    request_id, _ = await approver.button(APPROVER_ID, f"ap:no:{n}")
    assert await approver.press(APPROVER_ID, f"ap:no:{n}", approver.official) == ""
    await approver.wait_text(APPROVER_ID, f"lý do không duyệt thông báo #{n}")
    await approver.say_private("Sai ngày cúp điện, kiểm tra lại với điện lực.")

    told = await w.player.wait_text(ME, f"không duyệt thông báo #{n}")
    assert "“Sai ngày cúp điện, kiểm tra lại với điện lực.”" in told
    assert "không gửi đến nhóm nào" in told
    await w.player.wait_text(ME, "❌ Bị từ chối")
    notice = await notice_row(w, n)
    assert (notice.status, notice.approval) == (NoticeStatus.cancelled, "rejected")
    await assert_nothing_goes_out(w, n)
    events = await audit_of(w, n)
    assert events[-1][0] == "notice.reject"
    assert events[-1][2]["reason"] == "Sai ngày cúp điện, kiểm tra lại với điện lực."
    # The request has no buttons any more, and says who decided.
    reason = "Sai ngày cúp điện, kiểm tra lại với điện lực."
    await approver.wait_text(APPROVER_ID, f"❌ Thông báo #{n} bị Cán bộ 9101 từ chối: “{reason}”.")
    (request,) = [
        m for m in await w.client.messages(TOKEN, APPROVER_ID) if m["message_id"] == request_id
    ]
    assert not request.get("reply_markup")


async def test_changes_go_back_to_the_official_who_edits_and_sends_again(world: World) -> None:
    w = world
    await register_official(w)
    approver = await make_approver(w, APPROVER_ID)
    await require_approval(w)
    n = await confirm_now(w, ["BT-KP2"])
    await approver.press(APPROVER_ID, f"ap:fix:{n}", approver.official)
    await approver.wait_text(APPROVER_ID, f"cần sửa ở thông báo #{n}")
    await approver.say_private("Ghi thêm giờ có điện lại")

    told = await w.player.wait_text(ME, f"yêu cầu sửa thông báo #{n}")
    assert "“Ghi thêm giờ có điện lại”" in told
    notice = await notice_row(w, n)
    assert (notice.status, notice.approval) == (NoticeStatus.draft, "changes")
    await w.player.wait_text(ME, "✏️ Cần sửa")
    await assert_nothing_goes_out(w, n)
    # /thongbao lists it too, with its state and the way back into the wizard.
    before = await _buttons(w, f"ap:edit:{n}")
    await w.player.say_private("/thongbao")
    for _ in range(100):
        if new := await _buttons(w, f"ap:edit:{n}") - before:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("/thongbao did not list the notice sent back")
    ((listed_id, _),) = new
    texts = {m["message_id"]: m["text"] for m in await w.client.messages(TOKEN, ME)}
    assert "Trạng thái: ✏️ Cần sửa" in texts[listed_id]

    # The official opens it again: the review, the picker with its areas still chosen.
    steps = [
        f"ap:edit:{n}",
        on(ReviewCb(action="targets", n=n)),
        on(TreeCb(action="done", n=n)),
        on(WhenCb(action="now", n=n)),
        "cf:send",
    ]
    for pressed, then in zip(steps, steps[1:], strict=False):
        answer = await press_for_new(w, pressed, then)
        assert answer == "", (pressed, answer)
    assert await w.player.press(ME, "cf:send", OFFICIAL) == "📨 Đã gửi lãnh đạo phường duyệt."
    assert (await notice_row(w, n)).approval == "pending"

    # Asked again: the new request has the buttons (the old one lost them).
    assert await approver.press(APPROVER_ID, f"ap:ok:{n}", approver.official) == "✅ Đã duyệt."
    await wait_status(w, n, NoticeStatus.done)
    assert (await group_notices(w))["BT-KP2"] == 1
    actions = [a for a, _, _ in await audit_of(w, n)]
    assert actions[1:] == [
        "notice.approval_request",
        "notice.request_changes",
        "notice.approval_request",
        "notice.approve",
    ]


async def test_urgent_notice_skips_approval_and_the_approver_is_told(world: World) -> None:
    w = world
    await register_official(w)
    approver = await make_approver(w, APPROVER_ID)
    await require_approval(w, urgent_skips=True)
    n = await write_notice(w, "02-tiem-soi.txt")
    if not (await notice_row(w, n)).urgent:
        await w.player.press(ME, on(ReviewCb(action="urgent", n=n)), OFFICIAL)
    await w.player.press(ME, on(ReviewCb(action="targets", n=n)), OFFICIAL)
    kp2 = TreeCb(action="toggle", area_id=await area_id(w, "BT-KP2"), n=n)
    await w.player.press(ME, on(kp2), OFFICIAL)
    await w.player.press(ME, on(TreeCb(action="done", n=n)), OFFICIAL)
    await w.player.press(ME, on(WhenCb(action="now", n=n)), OFFICIAL)
    assert await w.player.press(ME, "cf:send", OFFICIAL) == "📣 Đang gửi…"
    await wait_status(w, n, NoticeStatus.done)
    assert (await group_notices(w))["BT-KP2"] == 1
    told = await approver.wait_text(APPROVER_ID, f"Thông báo khẩn #{n}")
    assert "đang được gửi đến 3 nhóm mà không chờ duyệt" in told
    # A later sweep leaves that message as it is: it asks nothing, so it has no outcome to
    # show (it used to be edited into "decided" a few seconds later, whenever a sweep ran).
    await sweep_approvals(w.runtime.served[0].services, lambda _ward: True)
    assert await approver.wait_text(APPROVER_ID, f"Thông báo khẩn #{n}", timeout=1) == told
    assert (await notice_row(w, n)).approval == "skipped"
    assert "notice.approval_skipped" in [a for a, _, _ in await audit_of(w, n)]


async def test_two_approvers_at_once_decide_once(world: World) -> None:
    w = world
    await register_official(w)
    first = await make_approver(w, APPROVER_ID)
    second = await make_approver(w, SECOND_APPROVER_ID)
    await require_approval(w)
    n = await confirm_now(w, ["BT-KP3"])
    pressed = []
    for player, user_id in ((first, APPROVER_ID), (second, SECOND_APPROVER_ID)):
        message_id, data = await player.button(user_id, f"ap:ok:{n}")
        pressed.append((user_id, message_id, data, player.official))
    queries = await asyncio.gather(
        *(w.client.press(TOKEN, chat, mid, user, data) for chat, mid, data, user in pressed)
    )
    answers = [
        str((await w.client.callback_answer(q, wait=10.0) or {}).get("text") or "") for q in queries
    ]
    assert answers.count("✅ Đã duyệt.") == 1, answers
    (late,) = [a for a in answers if a != "✅ Đã duyệt."]
    winner = "Cán bộ 9101" if answers[0] == "✅ Đã duyệt." else "Cán bộ 9102"
    assert late == f"✅ Thông báo #{n} đã được {winner} duyệt."
    await wait_status(w, n, NoticeStatus.done)
    assert await deliveries(w, n) == 3
    assert [a for a, _, _ in await audit_of(w, n)].count("notice.approve") == 1
    for user_id in (APPROVER_ID, SECOND_APPROVER_ID):  # both requests say who decided
        await first.wait_text(user_id, f"Thông báo #{n} đã được {winner} duyệt.")


async def test_a_reason_typed_after_another_approved_changes_nothing(world: World) -> None:
    w = world
    await register_official(w)
    first = await make_approver(w, APPROVER_ID)
    second = await make_approver(w, SECOND_APPROVER_ID)
    await require_approval(w)
    n = await confirm_now(w, ["BT-KP2"])
    await first.press(APPROVER_ID, f"ap:fix:{n}", first.official)
    await first.wait_text(APPROVER_ID, f"cần sửa ở thông báo #{n}")
    assert await second.press(SECOND_APPROVER_ID, f"ap:ok:{n}", second.official) == "✅ Đã duyệt."
    await first.say_private("Sửa lại tiêu đề")
    await first.wait_text(APPROVER_ID, f"Thông báo #{n} đã được Cán bộ 9102 duyệt.")
    await wait_status(w, n, NoticeStatus.done)
    assert "notice.request_changes" not in [a for a, _, _ in await audit_of(w, n)]


async def test_no_approver_in_the_ward_is_said_plainly(world: World) -> None:
    w = world
    await register_official(w)
    await require_approval(w)
    n = await compose(w, "01-cat-dien.txt", ["BT-KP2"])
    await w.player.press(ME, "wh:now", OFFICIAL)
    answer = await w.player.press(ME, "cf:send", OFFICIAL)
    assert "chưa có lãnh đạo nào được giao quyền duyệt" in answer
    notice = await notice_row(w, n)
    assert (notice.status, notice.approval) == (NoticeStatus.draft, "")
    assert await deliveries(w, n) == 0


async def test_a_notice_confirmed_elsewhere_reaches_the_approver(world: World) -> None:
    """As the API's confirm (another process) does: `send_off`, then the bot's sweep."""
    w = world
    await register_official(w)
    approver = await make_approver(w, APPROVER_ID)
    await require_approval(w)
    n = await compose(w, "01-cat-dien.txt", ["BT-KP2"])  # left at the "when" step
    async with session_scope(w.runtime.sessionmaker) as session:
        await send_off(
            session=session,
            notice_id=n,
            at=None,
            status_chat_ref=str(ME),
            status_message_ref="1",
            actor="api-key:1:portal",
        )
    await approver.wait_text(APPROVER_ID, f"Thông báo #{n} cần anh/chị duyệt", timeout=30)
    assert await approver.press(APPROVER_ID, f"ap:ok:{n}", approver.official) == "✅ Đã duyệt."
    await wait_status(w, n, NoticeStatus.done)
    # Asked once, though the sweep keeps running.
    await asyncio.sleep(0)
    messages = await w.client.messages(TOKEN, APPROVER_ID)
    assert sum(f"Thông báo #{n} cần anh/chị duyệt" in m.get("text", "") for m in messages) <= 1


async def test_a_press_by_someone_no_longer_an_approver_changes_nothing(world: World) -> None:
    w = world
    await register_official(w)
    approver = await make_approver(w, APPROVER_ID)
    second = await make_approver(w, SECOND_APPROVER_ID)  # so that the ward still has one
    await require_approval(w)
    n = await confirm_now(w, ["BT-KP2"])
    await approver.button(APPROVER_ID, f"ap:ok:{n}")
    refused = "Chỉ lãnh đạo phường được giao duyệt thông báo mới làm được việc này."
    async with session_scope(w.runtime.sessionmaker) as session:  # no longer an approver
        await set_official_role(
            session=session, official_id=await official_id_of(w, APPROVER_ID), role="official"
        )
    assert await approver.press(APPROVER_ID, f"ap:ok:{n}", approver.official) == refused
    async with session_scope(w.runtime.sessionmaker) as session:  # no longer an official
        await deactivate_official(session=session, official_id=await official_id_of(w, APPROVER_ID))
    assert await approver.press(APPROVER_ID, f"ap:ok:{n}", approver.official) == refused
    notice = await notice_row(w, n)
    assert (notice.status, notice.approval) == (NoticeStatus.draft, "pending")
    assert await second.press(SECOND_APPROVER_ID, f"ap:ok:{n}", second.official) == "✅ Đã duyệt."


async def test_a_notice_cancelled_while_waiting_closes_the_requests(world: World) -> None:
    w = world
    await register_official(w)
    approver = await make_approver(w, APPROVER_ID)
    await require_approval(w)
    n = await confirm_now(w, ["BT-KP2"])
    request_id, _ = await approver.button(APPROVER_ID, f"ap:ok:{n}")
    await w.player.say_private("/huy")
    await w.player.wait_text(ME, f"Đã bỏ thông báo #{n}")
    # The bot's sweep takes the buttons off the request, saying why.
    await approver.wait_text(APPROVER_ID, f"Thông báo #{n} không còn chờ duyệt nữa.", timeout=30)
    (request,) = [
        m for m in await w.client.messages(TOKEN, APPROVER_ID) if m["message_id"] == request_id
    ]
    assert not request.get("reply_markup")
    assert (await notice_row(w, n)).status == NoticeStatus.cancelled
    await assert_nothing_goes_out(w, n)
