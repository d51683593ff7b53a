"""Registration codes → the bot registers the chat → admins list, tune and switch off."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.channels import register_channel
from broadcasts.db import session_scope
from broadcasts.officials import register_official
from tests.api.conftest import assert_problem
from tests.api.factories import TREE_CSV, add_bot

CSV = {"Content-Type": "text/csv"}


async def test_channel_lifecycle(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await admin.post("/areas/import", content=TREE_CSV, headers=CSV)
    async with session_scope(sessionmaker) as session:
        bot = await add_bot(session)
    issued = await admin.post(
        "/channels/registration-codes", json={"area_code": "BT-KP1", "ttl_hours": 24}
    )
    assert issued.status_code == 201, issued.text
    code = issued.json()
    # Privacy mode: the command names the bot, the instructions say so.
    assert code["command"] == f"/dangky@loa_test_bot {code['code']}"
    assert code["instructions"].startswith("Add @loa_test_bot to the group")
    assert code["instructions"].endswith(code["command"])
    assert_problem(
        await admin.post("/channels/registration-codes", json={"area_code": "NOPE"}), 404, "NOPE"
    )
    assert_problem(
        await admin.post("/channels/registration-codes", json={"area_code": "BT", "ttl_hours": 0}),
        422,
        "ttl_hours",
    )

    async with session_scope(sessionmaker) as session:  # what the bot does on /dangky
        channel = await register_channel(
            session=session,
            code=code["code"].lower(),
            bot_id=bot.id or 0,
            chat_ref="-1001",
            title="Nhóm KP1",
        )

    listed = (await admin.get("/channels", params={"area": "BT", "active": True})).json()
    assert listed["count"] == 1 and listed["data"][0]["area_code"] == "BT-KP1"
    assert (await admin.get("/channels", params={"area": "TD"})).json()["count"] == 0

    url = f"/channels/{channel.id}"
    assert (await admin.patch(url, json={"locale": "en"})).json()["locale"] == "en"
    assert_problem(await admin.patch(url, json={"locale": "english"}), 422, "english")
    off = await admin.post(f"{url}/deactivate", json={"reason": "nhóm giải tán"})
    assert off.json()["active"] is False and off.json()["inactive_reason"] == "nhóm giải tán"
    assert (await admin.get("/channels", params={"active": True})).json()["count"] == 0
    assert (await admin.post(f"{url}/activate")).json()["active"] is True
    assert_problem(await admin.get("/channels/999999"), 404, "999999")
    assert_problem(await admin.post("/channels/999999/deactivate", json={"reason": "x"}), 404)


async def test_official_invite_and_registration(
    admin: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await admin.post("/areas/import", content=TREE_CSV, headers=CSV)
    assert_problem(
        await admin.post("/officials/invite-codes", json={"ward_code": "BT-KP1"}), 422, "ward"
    )
    issued = await admin.post(
        "/officials/invite-codes", json={"ward_code": "BT", "note": "Chị Lan"}
    )
    assert issued.status_code == 201
    code = issued.json()["code"]
    assert "/start " + code in issued.json()["instructions"]

    async with session_scope(sessionmaker) as session:  # what the bot does on /start CODE
        official = await register_official(
            session=session, code=code, user_ref="9001", name="Nguyễn Thị Lan"
        )
    listed = (await admin.get("/officials", params={"ward": "BT"})).json()
    assert listed["count"] == 1
    assert (listed["data"][0]["name"], listed["data"][0]["ward_code"]) == ("Nguyễn Thị Lan", "BT")
    off = await admin.post(f"/officials/{official.id}/deactivate")
    assert off.json()["active"] is False
    assert (await admin.get("/officials", params={"active": True})).json()["count"] == 0
