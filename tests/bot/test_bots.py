"""Many ward bots in one process, end to end over the strict sandbox: bots added with
POST /bots, each polled and answering, groups and officials kept to their bot's ward,
re-registration by group admins only, wrong codes limited, and a key for the tokens."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlmodel import col

from broadcasts.area_import import import_areas_csv
from broadcasts.channels import get_or_create_bot_account
from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.invites import create_invite
from broadcasts.models import (
    Area,
    AuditEvent,
    BotAccount,
    Channel,
    Invite,
    InviteKind,
    Official,
)
from broadcasts.settings import ApiSettings, CodeSettings, Settings, TelegramSettings
from broadcasts.tokens import use_token_key
from loa.demo import Player
from loa.runtime import Roles, Runtime
from sandbox.telegram.client import SandboxClient
from sandbox.telegram.server import SandboxServer
from tests.api.factories import TREE_CSV
from tests.bot.telegram_world import PUBLIC_URL, TOKEN, USERNAME, Loa, open_loa

CITY_TOKEN = "730001:CityBotOfTheDeployment"
WARD_TOKEN = "730002:WardBotOfBenThanh"
ADMIN_KEY = "loa_test_bots_admin_key_0123456789abcdef"
LEADER = {"id": 8101, "first_name": "Tư", "last_name": "Trần"}
MEMBER = {"id": 8102, "first_name": "Năm", "last_name": "Lê"}
OFFICIAL = {"id": 8201, "first_name": "Lan", "last_name": "Nguyễn"}
OTHER_WARD = "thuộc phường khác"


def _settings(database_url: str, sandbox_url: str) -> Settings:
    settings = Settings(
        database_url=database_url,
        telegram=TelegramSettings(token=SecretStr(CITY_TOKEN), api_base=sandbox_url),
        api=ApiSettings(port=0, bootstrap_key=SecretStr(ADMIN_KEY)),
    )
    settings.telegram.poll_timeout_seconds = 1
    return settings


@asynccontextmanager
async def running(settings: Settings, roles: Roles = Roles()) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, roles)
    try:
        await runtime.start()
        yield runtime
    finally:
        await runtime.stop()


async def _codes(runtime: Runtime) -> dict[tuple[str, str], str]:
    """(kind, area code) -> an unused code, for both wards of the test tree."""
    async with session_scope(runtime.sessionmaker) as session:
        await import_areas_csv(session=session, ward_code=None, data=TREE_CSV)
        areas = {a.code: a for a in await session.scalars(select(Area))}
        wanted = [("official", "BT"), ("official", "TD"), ("channel", "BT-KP1")]
        wanted += [("channel", "TD-A1")]
        return {
            (kind, code): (
                await create_invite(
                    session=session, kind=InviteKind(kind), area_id=areas[code].id or 0
                )
            ).code
            for kind, code in wanted
        }


async def test_two_bots_in_one_process_each_answer_and_keep_to_their_ward(
    database_url: str,
) -> None:
    async with SandboxServer() as sandbox, SandboxClient(sandbox.url) as client:
        settings = _settings(database_url, sandbox.url)
        async with running(settings) as first:
            codes = await _codes(first)
            async with httpx.AsyncClient(
                base_url=first.api_url, headers={"X-API-Key": ADMIN_KEY}
            ) as api:
                added = await api.post(
                    "/bots", json={"transport": "telegram", "token": WARD_TOKEN, "ward": "BT"}
                )
            assert added.status_code == 201, added.text
            assert added.json()["username"] == "loa730002_bot"
            assert len(first.served) == 1  # a bot added is served from the next start
        async with running(settings) as runtime:
            assert [s.ward_id is None for s in runtime.served] == [True, False]
            ward_bot_id = added.json()["id"]
            assert {s.account_id for s in runtime.served} == {1, ward_bot_id}
            # Both bots are polled by this one process, and each answers in its own chats.
            city, ward = Player(client, CITY_TOKEN, OFFICIAL), Player(client, WARD_TOKEN, OFFICIAL)
            await client.private_message(CITY_TOKEN, OFFICIAL, "/start")
            await client.private_message(WARD_TOKEN, OFFICIAL, "/start")
            assert "mã mời" in await city.wait_text(OFFICIAL["id"], "Xin chào")
            assert "mã mời" in await ward.wait_text(OFFICIAL["id"], "Xin chào")

            # An official's code of another ward is refused by the ward's bot, and stays good.
            await client.private_message(WARD_TOKEN, OFFICIAL, f"/start {codes['official', 'TD']}")
            await ward.wait_text(OFFICIAL["id"], OTHER_WARD)
            await client.private_message(WARD_TOKEN, OFFICIAL, f"/start {codes['official', 'BT']}")
            await ward.wait_text(OFFICIAL["id"], "Chào")

            # A group of the ward's bot registers with its ward's code only.
            chat = await client.add_bot_to_group(WARD_TOKEN, "Khu phố 1", LEADER)
            command = "/dangky@loa730002_bot"
            await client.group_message(
                WARD_TOKEN, chat, LEADER, f"{command} {codes['channel', 'TD-A1']}"
            )
            await ward.wait_text(chat, OTHER_WARD)
            await client.group_message(
                WARD_TOKEN, chat, LEADER, f"{command} {codes['channel', 'BT-KP1']}"
            )
            await ward.wait_text(chat, "Khu phố 1")
            async with session_scope(runtime.sessionmaker) as session:
                channel = await session.scalar(
                    select(Channel).where(col(Channel.chat_ref) == str(chat))
                )
                official = await session.scalar(select(Official))
                td_code = await session.scalar(
                    select(Invite).where(col(Invite.code) == codes["channel", "TD-A1"])
                )
                actions = set(await session.scalars(select(col(AuditEvent.action))))
            assert channel is not None and channel.bot_id == ward_bot_id
            assert official is not None and official.name == "Lan Nguyễn"
            assert td_code is not None and td_code.used_at is None
            assert {"bot.create", "official.register", "channel.register"} <= actions


async def test_reregistering_a_group_needs_a_group_admin(database_url: str) -> None:
    async with open_loa(database_url) as loa:
        chat = await loa.client.add_bot_to_group(TOKEN, "Khu phố 1", LEADER)
        player = Player(loa.client, TOKEN)

        async def register(user: dict[str, Any], area: str) -> None:
            await loa.client.group_message(
                TOKEN, chat, user, f"/dangky@{USERNAME} {loa.codes[area]}"
            )

        await register(LEADER, "BT-KP1")  # the first registration: anyone with the code
        await player.wait_text(chat, "Khu phố 1")
        await register(MEMBER, "BT-KP2")  # a plain member may not move the group
        await player.wait_text(chat, "Chỉ người tạo nhóm hoặc quản trị viên")
        channel = await loa.channel(chat)
        assert channel is not None and await _area_code(loa, channel.area_id) == "BT-KP1"
        assert await _unused(loa, loa.codes["BT-KP2"])

        await loa.client.promote(chat, MEMBER)  # an administrator may
        await register(MEMBER, "BT-KP2")
        await player.wait_text(chat, "Khu phố 2")
        channel = await loa.channel(chat)
        assert channel is not None and await _area_code(loa, channel.area_id) == "BT-KP2"
        await register(LEADER, "BT-KP3")  # and so may the group's creator
        await player.wait_text(chat, "Khu phố 3")
        async with session_scope(loa.runtime.sessionmaker) as session:
            refused = await session.scalar(
                select(AuditEvent).where(col(AuditEvent.action) == "channel.reregister_refused")
            )
        assert refused is not None and refused.actor == f"telegram:{MEMBER['id']}"


async def _area_code(loa: Loa, area_id: int) -> str:
    async with session_scope(loa.runtime.sessionmaker) as session:
        area = await session.get(Area, area_id)
        assert area is not None
        return area.code


async def _unused(loa: Loa, code: str) -> bool:
    async with session_scope(loa.runtime.sessionmaker) as session:
        invite = await session.scalar(select(Invite).where(col(Invite.code) == code))
        return invite is not None and invite.used_at is None


def _three_tries(settings: Settings) -> None:
    settings.codes = CodeSettings(max_attempts=3, window_seconds=600, cooloff_seconds=600)


async def test_wrong_codes_are_limited_per_person_and_per_group(database_url: str) -> None:
    async with open_loa(database_url, configure=_three_tries) as loa:
        player = Player(loa.client, TOKEN, OFFICIAL)
        async with session_scope(loa.runtime.sessionmaker) as session:
            ward = await session.scalar(select(Area).where(col(Area.code) == "BT"))
            assert ward is not None
            real = (
                await create_invite(session=session, kind=InviteKind.official, area_id=ward.id or 0)
            ).code
        for wrong in ("AAAA2222", "BBBB3333", "CCCC4444"):
            await loa.client.private_message(TOKEN, OFFICIAL, f"/start {wrong}")
        await player.wait_text(OFFICIAL["id"], "Mã này không đúng")
        # Cooling off: even the real code is not read, and nothing is registered.
        await loa.client.private_message(TOKEN, OFFICIAL, f"/start {real}")
        await player.wait_text(OFFICIAL["id"], "sai mã quá nhiều lần")
        async with session_scope(loa.runtime.sessionmaker) as session:
            assert await session.scalar(select(Official)) is None
        assert await _unused(loa, real)

        # In a group, the count is the group's too: another member cannot go on guessing.
        chat = await loa.client.add_bot_to_group(TOKEN, "Khu phố 1", LEADER)
        for wrong in ("DDDD5555", "EEEE6666", "FFFF7777"):
            await loa.client.group_message(TOKEN, chat, LEADER, f"/dangky@{USERNAME} {wrong}")

        async def refusals() -> int:
            return sum(
                "Mã này không đúng" in m.get("text", "")
                for m in await loa.client.messages(TOKEN, chat)
            )

        await loa.wait_for(refusals, lambda n: n == 3, "three refusals")  # all counted
        await loa.client.group_message(
            TOKEN, chat, MEMBER, f"/dangky@{USERNAME} {loa.codes['BT-KP1']}"
        )
        await player.wait_text(chat, "sai mã quá nhiều lần")
        assert await loa.channel(chat) is None
        assert await _unused(loa, loa.codes["BT-KP1"])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


async def test_tokens_are_encrypted_and_a_key_is_required(database_url: str) -> None:
    async with SandboxServer() as sandbox:
        settings = _settings(database_url, sandbox.url)
        async with running(settings, Roles(bot=True, api=False, scheduler=False, worker=False)):
            pass
        runtime = Runtime(settings, Roles())
        try:
            async with runtime.engine.connect() as conn:
                raw, digest = (
                    await conn.execute(text("SELECT token, token_hash FROM bot_account"))
                ).one()
            assert raw != CITY_TOKEN and CITY_TOKEN not in raw and raw.startswith("gAAAAA")
            assert len(digest) == 64 and CITY_TOKEN not in digest
            async with session_scope(runtime.sessionmaker) as session:
                assert (await session.scalars(select(BotAccount))).one().token == CITY_TOKEN
            use_token_key(None)  # a process without LOA_SECRET_KEY, with a bot stored
            with pytest.raises(SystemExit, match="LOA_SECRET_KEY is not set"):
                await runtime.start()
        finally:
            await runtime.stop()


WEBHOOK_WARD_TOKEN = "730003:WardBotOnTheWebhook"


async def test_webhook_mode_routes_each_update_to_its_bot(database_url: str) -> None:
    async def store_ward_bot(_sandbox_url: str) -> None:
        engine = make_engine(database_url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                await get_or_create_bot_account(
                    session=session, token=WEBHOOK_WARD_TOKEN, username="loa730003_bot"
                )
        finally:
            await engine.dispose()

    async with open_loa(database_url, mode="webhook", before_start=store_ward_bot) as loa:
        ids = {s.bot.token: s.account_id for s in loa.runtime.served}
        assert set(ids) == {TOKEN, WEBHOOK_WARD_TOKEN}
        for token, account_id in ids.items():
            async with httpx.AsyncClient(base_url=loa.sandbox.url) as http:
                info = (await http.post(f"/bot{token}/getWebhookInfo")).json()["result"]
            assert info["url"] == f"{PUBLIC_URL}/telegram/webhook/{account_id}"
        chat_id = await loa.client.add_bot_to_group(WEBHOOK_WARD_TOKEN, "Khu phố 2", LEADER)
        chat = {"id": chat_id, "type": "group", "title": "Khu phố 2"}
        update = loa.group_message(chat, LEADER, f"/dangky@loa730003_bot {loa.codes['BT-KP2']}")
        posted = await loa.post_update(update, bot_id=ids[WEBHOOK_WARD_TOKEN])
        assert posted.json() == {"ok": True, "duplicate": False}
        await Player(loa.client, WEBHOOK_WARD_TOKEN).wait_text(chat_id, "✅")
        channel = await loa.channel(chat_id)
        assert channel is not None and channel.bot_id == ids[WEBHOOK_WARD_TOKEN]
