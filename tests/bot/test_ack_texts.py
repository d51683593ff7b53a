"""The per-area acknowledgement block: group by group for a small ward, counts per area
for a big one, always within the room it is given (a Telegram message: 4,096)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from bot.ack_texts import acks_block, contact_text, detail_pages, escalation_summary
from bot.i18n import make_i18n
from bot.texts import utf16_len
from broadcasts.failures import classify
from broadcasts.reminders import AreaAcks, GroupAcks, GroupState, NoticeAcks

AT = datetime(2026, 12, 1, 1, 14, tzinfo=UTC)  # 08:14 in Ho Chi Minh City


def _group(n: int, state: GroupState, *, leader: bool = False) -> GroupAcks:
    acked = state is GroupState.acknowledged
    return GroupAcks(
        channel_id=n,
        delivery_id=n,
        area_code=f"KP-T{n}",
        area_name=f"Tổ dân phố {n}",
        chat_title=f"Nhóm {n}",
        state=state,
        first_name="Ông Chín" if acked else "",
        first_at=AT if acked else None,
        first_by_leader=leader,
        people=2 if acked else 0,
        reason="forbidden: bot was kicked" if state is GroupState.failed else "",
        failure=classify("forbidden: bot was kicked") if state is GroupState.failed else None,
    )


def _visible(text: str) -> int:
    return utf16_len(html.unescape(re.sub(r"</?b>", "", text)))


def test_a_small_ward_is_shown_group_by_group() -> None:
    area = AreaAcks(
        "KP3",
        "Khu phố 3",
        groups=[
            _group(1, GroupState.acknowledged, leader=True),
            _group(2, GroupState.acknowledged),
            _group(3, GroupState.silent),
            _group(4, GroupState.failed),
        ],
    )
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = acks_block(NoticeAcks(1, 0, [area]), room=4000)
    lines = text.split("\n")
    assert lines[0] == "📍 <b>Khu phố 3</b>: 2/4 nhóm đã nhận"
    assert lines[1] == "✅ Tổ dân phố 1: Ông Chín (08:14, tổ trưởng) +1 người khác"
    assert lines[2] == "✅ Tổ dân phố 2: Ông Chín (08:14) +1 người khác"
    assert lines[3] == "⏳ Chưa nhận: Tổ dân phố 3"
    assert lines[4].startswith("✖️ Tổ dân phố 4: Loa đã bị") and "kicked" not in lines[4]


def test_a_big_ward_is_summarised_within_the_room() -> None:
    areas = [
        AreaAcks(
            f"KP{k}",
            f"Khu phố {k}",
            groups=[
                _group(k * 100 + t, GroupState.silent if t % 3 else GroupState.acknowledged)
                for t in range(10)
            ],
        )
        for k in range(150)
    ]
    acks = NoticeAcks(1, 0, areas)
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = acks_block(acks, room=3500)
        summary = escalation_summary(
            notice_id=1, title="Cắt điện", acks=acks, reminded=1000, room=4096
        )
    assert _visible(text) <= 3500 and _visible(summary) <= 4096
    assert text.startswith("Theo khu phố (✅ đã nhận · ⏳ chưa nhận · ✖️ không gửi được):")
    assert "📍 <b>Khu phố 0</b>: ✅ 4 · ⏳ 6 · ✖️ 0" in text
    assert re.search(r"… và \d+ khu phố khác$", text)
    assert summary.startswith("⏰ Đã đến hạn nhận thông báo #1 «Cắt điện»: 600/1500 nhóm")


def test_the_contact_is_told_which_groups_of_the_area_have_not_acknowledged() -> None:
    area = AreaAcks(
        "KP3",
        "Khu phố 3",
        "Ông Năm",
        "7001",
        groups=[
            _group(1, GroupState.acknowledged),
            _group(2, GroupState.silent),
            _group(3, GroupState.silent),
        ],
    )
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = contact_text(notice_id=7, title="Cắt <điện>", area=area)
    assert text.startswith("Chào anh/chị Ông Năm! Thông báo #7 «Cắt &lt;điện&gt;» của phường")
    assert "2 nhóm ở Khu phố 3" in text and "Tổ dân phố 2, Tổ dân phố 3" in text
    assert "Tổ dân phố 1" not in text


def test_the_whole_list_comes_in_pages_that_each_fit() -> None:
    areas = [
        AreaAcks(
            f"KP{k}",
            f"Khu phố {k}",
            groups=[
                _group(k * 100 + t, GroupState.acknowledged if t % 2 else GroupState.failed)
                for t in range(10)
            ],
        )
        for k in range(40)
    ]
    acks = NoticeAcks(1, 0, areas)
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        pages = detail_pages(acks, room=3800)
        whole = acks_block(NoticeAcks(1, 0, areas[:1]), room=4000)
    assert len(pages) > 1 and all(_visible(p) <= 3800 for p in pages)
    lines = [line for page in pages for line in page.split("\n")]
    assert len(lines) == 40 * (1 + 5 + 5)  # every area's header, acknowledged and failed
    assert "\n".join(lines).startswith(whole)


def test_groups_on_two_transports_are_named_with_their_platform() -> None:
    def chat(n: int, state: GroupState, transport: str) -> GroupAcks:
        base = _group(n, state)
        return GroupAcks(
            **{
                **{f: getattr(base, f) for f in GroupAcks.__dataclass_fields__},
                "area_name": "Khu phố 3",
                "transport": transport,
            }
        )

    area = AreaAcks(
        "KP3",
        "Khu phố 3",
        groups=[
            chat(1, GroupState.acknowledged, "zalo"),
            chat(2, GroupState.silent, "telegram"),
            chat(3, GroupState.silent, "zalo"),
            chat(4, GroupState.silent, "zalo"),
            chat(5, GroupState.failed, "zalo"),
        ],
    )
    only_telegram = AreaAcks("KP1", "Khu phố 1", groups=[_group(6, GroupState.silent)])
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        mixed = acks_block(NoticeAcks(1, 0, [area, only_telegram]), room=4000).split("\n")
        single = acks_block(NoticeAcks(2, 0, [only_telegram]), room=4000).split("\n")
    assert mixed[1] == "✅ Khu phố 3 · Zalo: Ông Chín (08:14) +1 người khác"
    assert mixed[2] == "⏳ Chưa nhận: Khu phố 3 · Telegram, Khu phố 3 · Zalo ×2"
    assert mixed[3].startswith("✖️ Khu phố 3 · Zalo: ")
    assert mixed[5] == "⏳ Chưa nhận: Tổ dân phố 6 · Telegram"  # every group, in a mixed notice
    assert single[1] == "⏳ Chưa nhận: Tổ dân phố 6"  # one platform: nothing to tell apart
