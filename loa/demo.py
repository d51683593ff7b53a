"""`loa demo`: the whole path of a notice on embedded defaults, played by programs.

A temporary SQLite file, the sandbox Telegram server and the offline AI step: a sample
ward is seeded, leaders register their group chats, an official sends the bot a photo of
the paper notice (a small PNG made here), then its text when the bot asks for it, and
schedules it a few seconds ahead, deliveries go out (with a progress
bar), some leaders press Đã nhận, the report is printed, and one JSON line ends it all.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import struct
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col
from tqdm import tqdm

from broadcasts.area_import import import_areas_csv
from broadcasts.channels import registration_command
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.models import Area, AreaLevel, InviteKind
from broadcasts.notices import notice_progress
from broadcasts.reminders import reminder_progress
from broadcasts.settings import ApiSettings, AttachmentSettings, Settings, TelegramSettings
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import MediaItem, SandboxClient
from sandbox.telegram.server import SandboxServer

SAMPLES = Path(__file__).resolve().parent.parent / "broadcasts" / "samples"
TOKEN = "700001:LoaDemoWardBenThanh"
OFFICIAL_ID = 5001
OFFICIAL: dict[str, Any] = {
    "id": OFFICIAL_ID,
    "first_name": "Lan",
    "last_name": "Nguyễn",
    "username": "canbo_lan",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Player:
    """Acts as people in the sandbox and waits for what the bot answers."""

    def __init__(
        self, client: SandboxClient, token: str = TOKEN, official: dict[str, Any] | None = None
    ) -> None:
        self.client = client
        self.token = token
        self.official = official or OFFICIAL

    async def button(
        self, chat_id: int, prefix: str, timeout: float = 20.0, exact: bool = False
    ) -> tuple[int, str]:
        """Wait for the newest bot message in the chat with a button whose data starts so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in reversed(await self.client.messages(self.token, chat_id)):
                for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []):
                    for b in row:
                        data = b.get("callback_data", "")
                        if data == prefix or (not exact and data.startswith(prefix)):
                            return int(msg["message_id"]), data
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no button {prefix!r} in chat {chat_id}")

    async def press(
        self, chat_id: int, prefix: str, user: dict[str, Any], exact: bool = False
    ) -> str:
        message_id, data = await self.button(chat_id, prefix, exact=exact)
        cq = await self.client.press(self.token, chat_id, message_id, user, data)
        answer = await self.client.callback_answer(cq, wait=10.0)
        return str((answer or {}).get("text") or "")

    async def say_private(self, text: str) -> None:
        await self.client.private_message(self.token, self.official, text)

    async def wait_text(self, chat_id: int, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in reversed(await self.client.messages(self.token, chat_id)):
                if needle in msg.get("text", ""):
                    return str(msg["text"])
            await asyncio.sleep(0.1)
        raise TimeoutError(f"the bot never said {needle!r}")


async def run_demo(*, notice: str = "07-trieu-cuong.txt", groups: int = 3) -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="loa-demo-"))
    sandbox = SandboxServer()
    await sandbox.start()
    admin_key = "loa_demo_" + secrets.token_urlsafe(32)  # a bootstrap key must be strong
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'loa.db'}",
        telegram=TelegramSettings(
            token=SecretStr(TOKEN), api_base=sandbox.url, poll_timeout_seconds=1
        ),
        api=ApiSettings(port=_free_port(), bootstrap_key=SecretStr(admin_key)),
        # The demo's own database: a fresh key for its bot token each run.
        secret_key=SecretStr(Fernet.generate_key().decode()),
        attachments=AttachmentSettings(dir=workdir / "attachments"),
    )
    say(f"Loa demo — database {workdir / 'loa.db'}, Telegram sandbox {sandbox.url}")
    runtime = Runtime(settings, Roles())
    client = SandboxClient(sandbox.url)
    try:
        await runtime.start()
        result = await _play(runtime, client, settings, notice, admin_key)
        # Telegram's per-chat limit applies to the official's own chat: the aim is none.
        result["official_chat_429s"] = await client.rejected_429(TOKEN, OFFICIAL_ID)
    finally:
        await runtime.stop()
        await client.aclose()
        await sandbox.stop()
    result["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(result, ensure_ascii=False))
    complete = result["sent"] == result["channels"] == result["attachments_sent"]
    return 0 if result["failed"] == 0 and complete else 1


async def _play(
    runtime: Runtime, client: SandboxClient, settings: Settings, notice: str, admin_key: str
) -> dict[str, Any]:
    player = Player(client)
    # 1. The ward's tree and the codes an admin would hand out.
    async with session_scope(runtime.sessionmaker) as session:
        csv_text = (SAMPLES / "ward-ben-thanh.csv").read_text(encoding="utf-8")
        await import_areas_csv(session=session, ward_code=None, data=csv_text)
        ward = (await session.scalars(select(Area).where(col(Area.code) == "BT"))).one()
        areas = list(
            await session.scalars(
                select(Area)
                .where(col(Area.level).in_([AreaLevel.neighbourhood, AreaLevel.group]))
                .order_by(col(Area.path))
            )
        )
        official_code = (
            await create_invite(session=session, kind=InviteKind.official, area_id=ward.id or 0)
        ).code
        channel_codes = [
            (
                area,
                (
                    await create_invite(
                        session=session, kind=InviteKind.channel, area_id=area.id or 0
                    )
                ).code,
            )
            for area in areas
        ]
    say(f"Seeded {ward.name}: {len(areas)} khu phố and tổ dân phố")

    # 2. Leaders add the bot to their groups and register them.
    leaders: dict[int, dict[str, Any]] = {}
    assert runtime.bot is not None
    username = (await runtime.bot.me()).username  # privacy mode: the command names the bot
    for i, (area, code) in enumerate(channel_codes):
        leader = {"id": 6000 + i, "first_name": f"Tổ trưởng {area.name}"}
        chat_id = await client.add_bot_to_group(TOKEN, f"Nhóm {area.name}", leader)
        command = registration_command(username=username, code=code)
        await client.group_message(TOKEN, chat_id, leader, command)
        leaders[chat_id] = leader
    for chat_id in leaders:
        await player.wait_text(chat_id, "✅")
    say(f"{len(leaders)} group chats registered")

    # 3. The official registers, writes the notice, reviews, targets, schedules.
    await player.say_private(f"/start {official_code}")
    await player.wait_text(OFFICIAL_ID, "Lan")
    photo: MediaItem = {"kind": "photo", "data": sample_png(), "file_name": "cong-van.png"}
    await client.private_media(TOKEN, OFFICIAL, [photo])  # no caption: the bot asks
    await player.wait_text(OFFICIAL_ID, "vài dòng")
    text = (SAMPLES / "notices" / notice).read_text(encoding="utf-8")
    await player.say_private(text)
    await player.press(OFFICIAL_ID, "rv:targets", OFFICIAL)
    await player.press(OFFICIAL_ID, f"tr:toggle:{ward.id}:", OFFICIAL)
    await player.press(OFFICIAL_ID, "tr:done", OFFICIAL)
    await player.press(OFFICIAL_ID, "wh:later", OFFICIAL)
    # Ahead of the steps left (each screen paced at Telegram's one message a second).
    at = (datetime.now(UTC) + timedelta(seconds=8)).astimezone(ZoneInfo(settings.timezone))
    await player.say_private(at.strftime("%H:%M:%S %d/%m/%Y"))
    await player.press(OFFICIAL_ID, "cf:send", OFFICIAL)
    status = await player.wait_text(OFFICIAL_ID, "#")
    found = re.search(r"#(\d+)", status)
    assert found is not None
    notice_id = int(found.group(1))
    say(f"Notice #{notice_id} scheduled for {at:%H:%M:%S} (Ho Chi Minh City time)")

    # 4. Delivery progress.
    await _follow(runtime, notice_id)

    # 5. Some leaders press Đã nhận (every other group), one of them twice.
    pressed = 0
    for i, (chat_id, leader) in enumerate(leaders.items()):
        if i % 2:
            continue
        await player.press(chat_id, "ack:", leader)
        pressed += 1
        if i == 0:
            await player.press(chat_id, "ack:", leader)  # a second press does not count twice
    say(f"{pressed} leaders pressed Đã nhận")

    # 6. The report, through the API as an admin would read it; the groups that have not
    # pressed Đã nhận get a reminder (a reply to the notice, with the button).
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.api.port}",
        headers={"Authorization": f"Bearer {admin_key}"},
    ) as api:
        reminded = int(
            (await api.post(f"/notices/{notice_id}/remind")).raise_for_status().json()["reminded"]
        )
        reminders = await _follow_reminders(runtime, notice_id)
        say(f"{reminded} groups that had not pressed Đã nhận were reminded ({reminders} sent)")
        report = (await api.get(f"/notices/{notice_id}/report")).raise_for_status().json()
        csv_text = (await api.get(f"/notices/{notice_id}/report.csv")).raise_for_status().text
    say("\nReport by area (CSV from the API):")
    say(csv_text.lstrip("\ufeff").strip())
    totals = report.get("totals", report)
    async with session_scope(runtime.sessionmaker) as session:
        final = await notice_progress(session=session, notice_id=notice_id)
    with_file = 0
    for chat_id in leaders:
        if any(m["media"] == "photo" for m in await client.messages(TOKEN, chat_id)):
            with_file += 1
    say(f"{with_file} groups received the photo with the notice")
    return {
        "notice_id": notice_id,
        "channels": final.total,
        "sent": final.sent,
        "failed": final.failed,
        "acknowledged": int(totals.get("acknowledged", final.acknowledged_channels)),
        "attachments_sent": with_file,
        "reminded": reminded,
        "reminders_sent": reminders,
    }


def sample_png(width: int = 48, height: int = 32) -> bytes:
    """A small, valid PNG (a plain light-yellow page): the demo's «photo of the công văn»."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\xff\xf5\xc8" * width  # filter byte, then RGB pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


async def _follow_reminders(runtime: Runtime, notice_id: int) -> int:
    """Wait until the reminders are out; how many were sent."""
    deadline = time.monotonic() + 60
    sent = 0
    while time.monotonic() < deadline:
        async with session_scope(runtime.sessionmaker) as session:
            progress = await reminder_progress(session=session, notice_id=notice_id)
        if progress is None or not progress.pending:
            return progress.sent if progress is not None else 0
        sent = progress.sent
        await asyncio.sleep(0.2)
    return sent


async def _follow(runtime: Runtime, notice_id: int) -> Any:
    bar = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        async with session_scope(runtime.sessionmaker) as session:
            progress = await notice_progress(session=session, notice_id=notice_id)
        if progress.total and bar is None:
            bar = tqdm(total=progress.total, desc="Đang gửi", unit="nhóm", file=sys.stderr)
        if bar is not None:
            bar.update(progress.sent + progress.failed - bar.n)
        if progress.status == "done":
            break
        await asyncio.sleep(0.2)
    if bar is not None:
        bar.close()
    return progress
