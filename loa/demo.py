"""`loa demo`: the whole path of a notice on embedded defaults, played by programs.

A temporary SQLite file, the sandbox Telegram and Zalo servers and the offline AI step: a
sample ward is seeded with a Telegram bot and a Zalo bot, leaders register their group
chats, residents of some khu phố register their Zalo private chats («DK <mã>»), an
official sends the Telegram bot a photo of the paper notice (a small PNG made here), then
its text when the bot asks for it, and schedules it a few seconds ahead, deliveries go
out to Telegram groups and Zalo chats alike (with a progress bar), some leaders press Đã
nhận and some Zalo residents reply «1» / «đã nhận», the report is printed, and one JSON
line ends it all.
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
from broadcasts.bots import add_bot
from broadcasts.channels import registration_command
from broadcasts.db import session_scope
from broadcasts.invites import create_invite
from broadcasts.migrate import upgrade_async
from broadcasts.models import Area, AreaLevel, InviteKind
from broadcasts.notices import notice_progress
from broadcasts.reminders import reminder_progress
from broadcasts.settings import (
    ApiSettings,
    AttachmentSettings,
    Settings,
    TelegramSettings,
    ZaloSettings,
)
from broadcasts.transports.zalo import zalo_identity
from loa.runtime import Roles, Runtime, install_token_key
from sandbox.telegram.client import MediaItem, SandboxClient
from sandbox.telegram.server import SandboxServer
from sandbox.zalo import ZaloControl, ZaloSandbox

SAMPLES = Path(__file__).resolve().parent.parent / "broadcasts" / "samples"
TOKEN = "700001:LoaDemoWardBenThanh"
OFFICIAL_ID = 5001
OFFICIAL: dict[str, Any] = {
    "id": OFFICIAL_ID,
    "first_name": "Lan",
    "last_name": "Nguyễn",
    "username": "canbo_lan",
}
ZALO_TOKEN = "4100700001:LoaDemoZaloBenThanh"
ZALO_NAME = "bot.loa.benthanh"
# Residents who follow the ward on Zalo, one per khu phố; the first two reply «Đã nhận».
ZALO_RESIDENTS: tuple[dict[str, str], ...] = (
    {"id": "7d1e6a0c2b9f4e3d5a81", "display_name": "Bác Tư Hòa"},
    {"id": "3f9b2c7e1a6d0e4b8c52", "display_name": "Chị Thu Trang"},
    {"id": "b64e0d2a9c7f1e3b5d09", "display_name": "Anh Minh Quân"},
    {"id": "0a5c8e2f4b6d1e9c7a33", "display_name": "Cô Ba Hạnh"},
)
ZALO_REPLIES = ("1", "Đã nhận")


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
    sandbox, zalo_sandbox = SandboxServer(), ZaloSandbox()
    await sandbox.start()
    zalo_url = await zalo_sandbox.start()
    admin_key = "loa_demo_" + secrets.token_urlsafe(32)  # a bootstrap key must be strong
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'loa.db'}",
        telegram=TelegramSettings(
            token=SecretStr(TOKEN), api_base=sandbox.url, poll_timeout_seconds=1
        ),
        zalo=ZaloSettings(api_base=zalo_url, poll_timeout_seconds=1),
        api=ApiSettings(port=_free_port(), bootstrap_key=SecretStr(admin_key)),
        # The demo's own database: a fresh key for its bot tokens each run.
        secret_key=SecretStr(Fernet.generate_key().decode()),
        attachments=AttachmentSettings(dir=workdir / "attachments"),
    )
    say(
        f"Loa demo — database {workdir / 'loa.db'}, Telegram sandbox {sandbox.url}, "
        f"Zalo sandbox {zalo_url}"
    )
    runtime = Runtime(settings, Roles())
    client = SandboxClient(sandbox.url)
    zalo = ZaloControl(zalo_url)
    await zalo.__aenter__()
    try:
        seeded = await _seed(runtime, settings, zalo)
        await runtime.start()
        result = await _play(runtime, client, zalo, settings, notice, admin_key, seeded)
        # Telegram's per-chat limit applies to the official's own chat: the aim is none.
        result["official_chat_429s"] = await client.rejected_429(TOKEN, OFFICIAL_ID)
    finally:
        await runtime.stop()
        await zalo.__aexit__(None, None, None)
        await client.aclose()
        await zalo_sandbox.stop()
        await sandbox.stop()
    result["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(result, ensure_ascii=False))
    telegram_groups = result["channels"] - result["zalo_chats"]
    complete = result["sent"] == result["channels"] and result["attachments_sent"] == (
        telegram_groups
    )
    zalo_ok = result["zalo_sent"] == result["zalo_chats"] == len(ZALO_RESIDENTS)
    return 0 if result["failed"] == 0 and complete and zalo_ok else 1


Seeded = tuple[Area, list[tuple[Area, str]], str, list[tuple[Area, str]]]


async def _seed(runtime: Runtime, settings: Settings, zalo: ZaloControl) -> Seeded:
    """The ward's tree, the codes an admin would hand out, and the ward's Zalo bot (stored
    before the start, as `POST /bots` with "transport": "zalo" does: the runtime serves
    the Zalo bots it finds when it starts)."""
    install_token_key(settings)
    await upgrade_async(settings.database_url)
    await zalo.add_bot(ZALO_TOKEN, ZALO_NAME)
    identity = await zalo_identity(token=ZALO_TOKEN, api_base=settings.zalo.api_base)
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
        khu_pho = [a for a in areas if a.level == AreaLevel.neighbourhood]
        zalo_codes = [
            (
                area,
                (
                    await create_invite(
                        session=session, kind=InviteKind.channel, area_id=area.id or 0
                    )
                ).code,
            )
            for area in khu_pho[: len(ZALO_RESIDENTS)]
        ]
        await add_bot(
            session=session, transport="zalo", token=ZALO_TOKEN, identity=identity, ward=ward
        )
    say(f"Seeded {ward.name}: {len(areas)} khu phố and tổ dân phố, a Telegram and a Zalo bot")
    return ward, channel_codes, official_code, zalo_codes


async def _play(
    runtime: Runtime,
    client: SandboxClient,
    zalo: ZaloControl,
    settings: Settings,
    notice: str,
    admin_key: str,
    seeded: Seeded,
) -> dict[str, Any]:
    player = Player(client)
    ward, channel_codes, official_code, zalo_codes = seeded

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

    # 2b. Residents write «DK <mã>» to the ward's Zalo bot: each private chat is a channel.
    zalo_chats: list[str] = []
    for person, (_area, code) in zip(ZALO_RESIDENTS, zalo_codes, strict=False):
        zalo_chats.append(await zalo.say(ZALO_TOKEN, person, f"DK {code}"))
    for chat in zalo_chats:
        await _zalo_wait(zalo, chat, "Đã đăng ký")
    say(f"{len(zalo_chats)} Zalo chats registered («DK <mã>»)")

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
    # … and some Zalo residents reply to the notice (Zalo has no buttons).
    first_zalo = await _zalo_wait(zalo, zalo_chats[0], 'Trả lời 1 hoặc "đã nhận"')
    say("\nA Zalo chat received:\n" + first_zalo + "\n")
    for person, chat, reply in zip(ZALO_RESIDENTS, zalo_chats, ZALO_REPLIES, strict=False):
        await zalo.say(ZALO_TOKEN, person, reply)
        await _zalo_wait(zalo, chat, "Loa đã ghi nhận")
    say(f"{min(len(zalo_chats), len(ZALO_REPLIES))} Zalo residents replied «Đã nhận»")

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
    by_transport = report.get("by_transport", {})
    zalo_totals = by_transport.get("zalo", {})
    return {
        "notice_id": notice_id,
        "channels": final.total,
        "sent": final.sent,
        "failed": final.failed,
        "acknowledged": int(totals.get("acknowledged", final.acknowledged_channels)),
        "attachments_sent": with_file,
        "reminded": reminded,
        "reminders_sent": reminders,
        "zalo_chats": len(zalo_chats),
        "zalo_sent": int(zalo_totals.get("sent", 0)),
        "zalo_acknowledged": int(zalo_totals.get("acknowledged", 0)),
    }


async def _zalo_wait(zalo: ZaloControl, chat: str, needle: str, timeout: float = 20.0) -> str:
    """The newest message of the Zalo bot in `chat` that contains `needle`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(await zalo.messages(ZALO_TOKEN, chat)):
            if needle in (message.get("text") or ""):
                return str(message["text"])
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the Zalo bot never said {needle!r}")


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
