"""How many times an official acts, from the notice's text to «sent», on each front.

    python -m tests.benchmarks.compose_steps

The common case: a sample notice to one khu phố, sent now, with the ward's default
«Đã nhận» deadline. Both fronts run for real (the whole runtime on the Telegram and Zalo
sandboxes, a fresh migrated SQLite file): on Telegram the official sends the text and
taps; on Zalo, where there are no buttons, every step is a message. Each action is
counted as it is made, and the flow must end with the notice's deliveries sent. Prints one
JSON line: {"telegram": {"messages", "taps", "actions"}, "zalo": {"messages", "actions"}}.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlmodel import col

from bot.keyboards import ConfirmCb, ReviewCb, TreeCb, WhenCb
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.migrate import upgrade_async
from broadcasts.models import Area, InviteKind, Notice, NoticeStatus
from broadcasts.tokens import use_token_key
from tests.bot.world import ME, OFFICIAL, SAMPLES, area_id, on, register_official, wait_status
from tests.zalo.world import ZALO_TOKEN, ZaloWorld, open_zalo_world, wait_for

HOA = {"id": "b7c6d5e4f3a2b1c0d9e8", "display_name": "Nguyễn Thị Hoa"}
TEXT = (SAMPLES / "notices" / "01-cat-dien.txt").read_text(encoding="utf-8")


async def _latest(zw: ZaloWorld) -> Notice:
    async with session_scope(zw.runtime.sessionmaker) as session:
        return (await session.scalars(select(Notice).order_by(col(Notice.id).desc()))).first()  # type: ignore[return-value]


async def telegram(zw: ZaloWorld) -> dict[str, int]:
    w, chat, me = zw.world, int(str(ME)), OFFICIAL
    await register_official(w)
    messages = taps = 0
    await w.player.say_private(TEXT)
    messages += 1
    await w.player.wait_text(chat, "👆")
    notice = await _latest(zw)
    n = notice.id or 0
    for cb in (
        ReviewCb(action="targets", n=n),
        TreeCb(action="toggle", area_id=await area_id(w, "BT-KP3"), n=n),
        TreeCb(action="done", n=n),
        WhenCb(action="now", n=n),
        ConfirmCb(action="send", n=n),
    ):
        await w.player.press(chat, on(cb), me)
        taps += 1
    await wait_status(w, n, NoticeStatus.done)
    return {"messages": messages, "taps": taps, "actions": messages + taps}


async def zalo(zw: ZaloWorld) -> dict[str, int]:
    async with session_scope(zw.runtime.sessionmaker) as session:
        ward = (await session.scalars(select(Area).where(col(Area.code) == "BT"))).one()
        code = await create_invite(session=session, kind=InviteKind.official, area_id=ward.id or 0)
    messages = 0

    async def say(text: str, part: str, *, counted: bool = True) -> None:
        nonlocal messages
        before = len(await zw.zalo.messages(ZALO_TOKEN, HOA["id"]))
        await zw.zalo.say(ZALO_TOKEN, HOA, text)
        messages += counted
        await wait_for(
            zw, HOA["id"], lambda ms: any(part in (m.get("text") or "") for m in ms[before:])
        )

    await say(f"DK {code.code}", "Từ nay", counted=False)  # once, like /start CODE
    await say(TEXT, "Gõ 1 để chọn nơi nhận")
    await say("1", "Chọn nơi nhận")
    await say("3", "Đã chọn: Khu phố 3")
    await say("xong", "Gửi khi nào?")
    await say("1", "Gửi ngay đến")
    await say("1", "Đang gửi thông báo")
    await wait_status(zw.world, (await _latest(zw)).id or 0, NoticeStatus.done)
    return {"messages": messages, "actions": messages}


async def main() -> None:
    use_token_key(Fernet.generate_key().decode())  # as a process with LOA_SECRET_KEY set
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'loa.db'}"
        await upgrade_async(url)
        async with open_zalo_world(url) as zw:
            figures = {"telegram": await telegram(zw), "zalo": await zalo(zw)}
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
