"""The domain of the link page (`broadcasts.ack_links`) without HTTP: a press counts once
per browser and shows in the delivered message's «✅ Đã nhận» line like a button press;
that edited message keeps its «Hoặc bấm: …» link; a press without the check is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broadcasts.ack_links import confirm_by_link, open_ack_page
from broadcasts.acks import acknowledged_message
from broadcasts.db import session_scope
from broadcasts.errors import LinkRefused
from broadcasts.links import LinkMaker, page_check
from broadcasts.reports import count_acks
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES
from tests.api.link_world import link_acks, seed_delivered

MAKER = LinkMaker(public_url="https://loa.example.vn", lifetime=timedelta(days=7))


async def test_a_link_press_counts_once_and_the_edit_keeps_the_link(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    delivered = await seed_delivered(sessionmaker)
    token = delivered.ack_token()
    now = datetime.now(UTC)
    for name in ("Bà Tư", "Bà Tư (lần hai)"):
        async with session_scope(sessionmaker) as session:
            page, created = await confirm_by_link(
                session=session,
                token=token,
                person="browser-1",
                check=page_check(token, "browser-1"),
                name=name,
                now=now,
            )
        assert created is (name == "Bà Tư")
    assert page.acknowledged_at is not None
    acks = await link_acks(sessionmaker, delivered.notice_id)
    assert [(a.method, a.person_ref, a.person_name) for a in acks] == [
        ("link", "link:browser-1", "Bà Tư")
    ]
    async with session_scope(sessionmaker) as session:
        shown = await acknowledged_message(
            session=session,
            delivery_id=delivered.delivery_id,
            capabilities=TELEGRAM_CAPABILITIES,
            links=MAKER,
        )
        counted = await count_acks(session=session, notice_ids=[delivered.notice_id])
    assert shown is not None
    lines = shown.text.splitlines()
    assert lines[-3].startswith("Hoặc bấm: https://loa.example.vn/a/")
    assert lines[-1].startswith("✅ Đã nhận: Bà Tư (")
    assert counted == {delivered.notice_id: (1, 1)}  # reports count a link like a button


async def test_a_press_without_the_check_or_for_another_browser_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    delivered = await seed_delivered(sessionmaker)
    token = delivered.ack_token()
    now = datetime.now(UTC)
    for person, check in (
        (None, page_check(token, "browser-1")),
        ("browser-2", page_check(token, "browser-1")),
        ("browser-1", None),
    ):
        async with session_scope(sessionmaker) as session:
            with pytest.raises(LinkRefused) as caught:
                await confirm_by_link(
                    session=session, token=token, person=person, check=check, name="", now=now
                )
        assert caught.value.reason == "stale"
    async with session_scope(sessionmaker) as session:
        page = await open_ack_page(session=session, token=token, person="browser-1", now=now)
    assert page.acknowledged_at is None
    assert await link_acks(sessionmaker, delivered.notice_id) == []
