"""No bot token, and no code people type, reaches a log line, even at DEBUG: neither from
Loa, nor from aiogram, aiohttp, SQLAlchemy or the sandbox's access log."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col

from broadcasts.channels import get_or_create_bot_account
from broadcasts.db import make_engine, make_sessionmaker, session_scope
from broadcasts.invites import create_invite
from broadcasts.migrate import upgrade_async
from broadcasts.models import Area, InviteKind
from broadcasts.settings import Settings, TelegramSettings
from loa.demo import Player
from loa.logmask import HIDDEN, TokenMask, install_token_mask
from loa.runtime import Roles, Runtime
from tests.bot.telegram_world import TOKEN, USERNAME, open_loa

LEADER = {"id": 8301, "first_name": "Sáu", "last_name": "Phạm"}
OFFICIAL = {"id": 8302, "first_name": "Mai", "last_name": "Võ"}
STORED = "750001:StoredWardBotTokenSecretPart"
SHAPED = "7500012345:AAE_real-looking-token-0123456789abcdef"


def _everything(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as a handler would write it, tracebacks included."""
    return caplog.text + "".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)


def test_the_mask_hides_tokens_in_messages_arguments_and_tracebacks() -> None:
    mask = TokenMask()
    mask.add("42:short")
    logger = logging.getLogger("test.mask")
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{SHAPED}/getUpdates failed")
    except RuntimeError:
        record = logger.makeRecord(
            "test.mask",
            logging.ERROR,
            __file__,
            1,
            "call %s with 42:short, then /start@loa_bot ABCD2345",
            (f"bot{SHAPED}",),
            sys.exc_info(),
        )
    assert mask.filter(record)
    assert record.getMessage() == f"call bot{HIDDEN} with {HIDDEN}, then /start@loa_bot {HIDDEN}"
    assert record.exc_text is not None and SHAPED not in record.exc_text
    assert f"/bot{HIDDEN}/getUpdates" in record.exc_text


async def test_a_run_logs_no_token_and_no_code_even_at_debug(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with open_loa(database_url) as loa:
        async with session_scope(loa.runtime.sessionmaker) as session:
            ward = await session.scalar(select(Area).where(col(Area.code) == "BT"))
            assert ward is not None
            official_code = (
                await create_invite(session=session, kind=InviteKind.official, area_id=ward.id or 0)
            ).code
        player = Player(loa.client, TOKEN, OFFICIAL)
        chat = await loa.client.add_bot_to_group(TOKEN, "Khu phố 1", LEADER)
        await loa.client.group_message(
            TOKEN, chat, LEADER, f"/dangky@{USERNAME} {loa.codes['BT-KP1']}"
        )
        await player.wait_text(chat, "Khu phố 1")
        await loa.client.private_message(TOKEN, OFFICIAL, f"/start {official_code}")
        await player.wait_text(OFFICIAL["id"], "Chào")
        # The Bot API server goes away: the polling loop logs its failed getUpdates (with
        # the URL, which holds the token) at ERROR.
        await loa.sandbox.stop()
        await loa.wait_for(
            lambda: asyncio.sleep(0, _everything(caplog)),
            lambda text: "getUpdates failed" in text,
            "the polling error",
        )
    text = _everything(caplog)
    assert "getUpdates" in text or "Failed to fetch updates" in text  # the logs were taken
    secret = TOKEN.split(":")[1]
    assert secret not in text and TOKEN not in text
    assert loa.codes["BT-KP1"] not in text and official_code not in text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


async def test_an_unreachable_bot_api_server_logs_no_token(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    install_token_mask()
    engine = make_engine(database_url)
    try:
        await upgrade_async(database_url)
        async with session_scope(make_sessionmaker(engine)) as session:
            await get_or_create_bot_account(session=session, token=STORED, username="loa750001_bot")
    finally:
        await engine.dispose()
    settings = Settings(
        database_url=database_url,
        telegram=TelegramSettings(api_base=f"http://127.0.0.1:{_closed_port()}"),
    )
    runtime = Runtime(settings, Roles(bot=True, api=False, scheduler=False, worker=False))
    try:
        with pytest.raises(SystemExit, match="no bot to serve"):
            await runtime.start()
    finally:
        await runtime.stop()
    text = _everything(caplog)
    assert "getMe failed" in text  # the failure is logged, its token is not
    assert STORED not in text and STORED.split(":")[1] not in text

    caplog.clear()
    settings.telegram.token = SecretStr(SHAPED)  # the settings' bot: start fails outright
    runtime = Runtime(settings, Roles(bot=True, api=False, scheduler=False, worker=False))
    try:
        with pytest.raises(Exception, match="Cannot connect|Connect call failed|refused"):
            await runtime.start()
    finally:
        await runtime.stop()
    assert SHAPED not in _everything(caplog) and SHAPED.split(":")[1] not in _everything(caplog)
