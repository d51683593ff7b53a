"""A merged ward of 150 khu phố × 10 tổ: the official composes and targets it through the
bot, page by page and by search, and no keyboard goes over Telegram's 100 buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from bot.keyboards import ConfirmCb, ReviewCb, TreeCb, WhenCb
from broadcasts.area_import import import_areas_csv
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.models import Area, Channel, Delivery, InviteKind, NoticeTarget
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import SandboxClient
from tests.bot.world import (
    ME,
    OFFICIAL,
    World,
    area_id,
    labels,
    max_buttons,
    official_429s,
    on,
    open_world,
    register_official,
    write_notice,
)

KHU_PHO, TO = 150, 10


def _ward_csv() -> str:
    rows = ["code,name,level,parent_code,kind", "HCM,Thành phố Hồ Chí Minh,city,,thành phố"]
    rows.append("PL,Phường Lớn,ward,HCM,phường")
    for k in range(1, KHU_PHO + 1):
        rows.append(f"PL-KP{k},Khu phố {k},neighbourhood,PL,khu phố")
        rows += [
            f"PL-KP{k}-T{t},Tổ dân phố {t},group,PL-KP{k},tổ dân phố" for t in range(1, TO + 1)
        ]
    return "\n".join(rows) + "\n"


async def _seed(
    runtime: Runtime, client: SandboxClient
) -> tuple[dict[str, int], dict[int, Any], str]:
    """The tree, and one active group chat per khu phố and per tổ (1,650), written
    straight to the database: the picker counts them; nothing is delivered here."""
    assert runtime.services is not None
    async with session_scope(runtime.sessionmaker) as session:
        await import_areas_csv(session=session, ward_code=None, data=_ward_csv())
        areas = list(await session.scalars(select(Area).where(Area.path.like("HCM/PL/_%"))))
        rows = [
            {
                "area_id": a.id,
                "bot_id": runtime.services.bot_account_id,
                "transport": "telegram",
                "chat_ref": str(-4_100_000_000 - i),
                "title": f"Nhóm {a.name}",
                "locale": "vi",
                "active": True,
            }
            for i, a in enumerate(areas)
        ]
        await session.execute(insert(Channel), rows)
        ward = (await session.scalars(select(Area).where(Area.code == "PL"))).one()
        invite = await create_invite(
            session=session, kind=InviteKind.official, area_id=ward.id or 0
        )
    return {}, {}, invite.code


@pytest.fixture
async def big(database_url: str) -> AsyncIterator[World]:
    # No delivery worker: the 12 chosen groups exist only in the database.
    async with open_world(database_url, roles=Roles(api=False, worker=False), seed=_seed) as w:
        await register_official(w)
        yield w


async def test_composing_for_150_khu_pho(big: World) -> None:
    w = big
    n = await write_notice(w)
    await w.player.press(ME, on(ReviewCb(action="targets", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Trang 1/19")
    shown = await labels(w, on(TreeCb(action="done", n=n)))
    assert f"▫️ 📢 Cả phường · {KHU_PHO * (TO + 1)} nhóm" in shown  # the counts stay
    assert "▫️ Khu phố 8 · 11 nhóm" in shown and "Khu phố 9 · 11 nhóm" not in str(shown)
    for page in (1, 2):
        await w.player.press(ME, on(TreeCb(action="page", area_id=page, n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Trang 3/19")
    kp20 = await area_id(w, "PL-KP20")
    await w.player.press(ME, on(TreeCb(action="open", area_id=kp20, n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Bên trong <b>Khu phố 20</b>")
    await w.player.press(ME, on(TreeCb(action="toggle", area_id=kp20, n=n)), OFFICIAL)  # Cả KP
    await w.player.wait_text(ME, "Đã chọn: <b>Khu phố 20</b> (11 nhóm)")
    await w.player.press(ME, on(TreeCb(action="back", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Trang 3/19")  # back where the official was
    # Search by part of a name: every "Tổ dân phố 7" first, then the tổ of Khu phố 7.
    await w.player.say_private("to 7")
    await w.player.wait_text(ME, f"Tìm “to 7”: {KHU_PHO + TO - 1} khu vực")
    assert "▫️ Tổ dân phố 7 (Khu phố 1) · 1 nhóm" in await labels(w, "tr:clear:")
    await w.player.say_private("tổ 7 khu phố 133")  # the khu phố's name narrows it down
    await w.player.wait_text(ME, "Tìm “tổ 7 khu phố 133”: 1 khu vực")
    target = await area_id(w, "PL-KP133-T7")
    await w.player.press(ME, on(TreeCb(action="toggle", area_id=target, n=n)), OFFICIAL)
    await w.player.wait_text(ME, "Đã chọn: <b>Khu phố 20, Tổ dân phố 7 (Khu phố 133)</b> (12 nhóm)")
    await w.player.press(ME, on(TreeCb(action="done", n=n)), OFFICIAL)
    reach = "Thông báo sẽ đến 12 nhóm: <b>Khu phố 20, Tổ dân phố 7 (Khu phố 133)</b>"
    await w.player.wait_text(ME, reach)
    await w.player.press(ME, on(WhenCb(action="now", n=n)), OFFICIAL)
    await w.player.press(ME, on(ConfirmCb(action="send", n=n)), OFFICIAL)
    await w.player.wait_text(ME, "0/12")  # dispatched: twelve deliveries waiting
    async with session_scope(w.runtime.sessionmaker) as session:
        targets = set(
            await session.scalars(select(NoticeTarget.area_id).where(NoticeTarget.notice_id == n))
        )
        deliveries = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.notice_id == n)
        )
    assert targets == {kp20, target}
    assert deliveries == 12
    assert await max_buttons(w) <= 100
    assert await official_429s(w) == 0
