"""Rows for delivery tests and benchmarks: a ward, bot accounts, channels, a notice and
its deliveries, written straight to the database (dispatch is not under test here)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.db import session_scope
from broadcasts.models import (
    Area,
    AreaLevel,
    BotAccount,
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Rendition,
    utcnow,
)
from broadcasts.tokens import token_hash

_codes = itertools.count(1)


@dataclass
class Seeded:
    notice_id: int
    ward_id: int
    accounts: dict[str, int]  # token -> bot account id
    channels: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (token, chat)
    deliveries: list[int] = field(default_factory=list)
    ward_name: str = ""  # the sender named on a group message's first line
    dispatched_at: datetime | None = None  # its date line

    def channel_of(self, token: str, chat_ref: str | int) -> int:
        for channel_id, (t, chat) in self.channels.items():
            if t == token and chat == str(chat_ref):
                return channel_id
        raise KeyError((token, chat_ref))


async def seed(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    groups: Mapping[str, Sequence[int | str]],
    text: str = "Thông báo: cúp điện khu phố 1 từ 8 giờ đến 11 giờ sáng thứ Bảy.",
    texts: Mapping[str, str] | None = None,
    locales: Mapping[str, str] | None = None,
    urgent: bool = False,
    dispatched_at: datetime | None = None,
) -> Seeded:
    """A dispatching notice with one pending delivery per (token, chat) in `groups`."""
    async with session_scope(sessionmaker) as session:
        code = f"W{next(_codes)}-{id(session) % 100000}"
        ward = Area(code=code, name=f"Phường {code}", level=AreaLevel.ward, path=f"{code}/")
        session.add(ward)
        await session.flush()
        accounts = await _accounts(session, list(groups))
        now = utcnow()
        dispatched_at = dispatched_at or now
        channel_rows = [
            {
                "area_id": ward.id,
                "bot_id": accounts[token],
                "transport": "telegram",
                "chat_ref": str(chat),
                "title": f"Tổ {i}",
                "locale": (locales or {}).get(str(chat), "vi"),
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for token, chats in groups.items()
            for i, chat in enumerate(chats, start=1)
        ]
        for start in range(0, len(channel_rows), 5000):
            await session.execute(insert(Channel), channel_rows[start : start + 5000])
        rows = (
            await session.execute(
                select(Channel.id, Channel.bot_id, Channel.chat_ref, Channel.locale)  # type: ignore[call-overload]
                .where(Channel.area_id == ward.id)
                .order_by(Channel.id)
            )
        ).all()
        by_account = {v: k for k, v in accounts.items()}
        channels = {cid: (by_account[bot_id], chat) for cid, bot_id, chat, _ in rows}
        locale_of = {cid: loc for cid, _, _, loc in rows}
        notice = Notice(
            ward_id=ward.id or 0,
            title="Cúp điện",
            text=text,
            status=NoticeStatus.dispatching,
            urgent=urgent,
            dispatched_at=dispatched_at,
        )
        session.add(notice)
        await session.flush()
        assert notice.id is not None
        for locale, body in {"vi": text, **(texts or {})}.items():
            session.add(Rendition(notice_id=notice.id, locale=locale, text=body))
        seeded = Seeded(
            notice_id=notice.id,
            ward_id=ward.id or 0,
            accounts=accounts,
            channels=channels,
            ward_name=ward.name,
            dispatched_at=dispatched_at,
        )
        await session.flush()
    seeded.deliveries = await add_deliveries(
        sessionmaker,
        notice_id=seeded.notice_id,
        channel_ids=list(channels),
        accounts={cid: accounts[t] for cid, (t, _) in channels.items()},
        locales=locale_of,
        priority=10 if urgent else 0,
    )
    return seeded


async def _accounts(session: AsyncSession, tokens: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    existing = await session.execute(
        select(BotAccount.token, BotAccount.id).where(  # type: ignore[call-overload]
            BotAccount.token_hash.in_([token_hash(t) for t in tokens])  # type: ignore[attr-defined]
        )
    )
    found.update({t: i for t, i in existing})
    for token in tokens:
        if token not in found:
            account = BotAccount(token=token, username=f"bot{token.split(':')[0]}")
            session.add(account)
            await session.flush()
            found[token] = account.id or 0
    return found


async def add_deliveries(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    notice_id: int,
    channel_ids: Sequence[int],
    accounts: Mapping[int, int],
    locales: Mapping[int, str] | None = None,
    priority: int = 0,
    occurrence: int = 0,
) -> list[int]:
    now = utcnow()
    rows = [
        {
            "notice_id": notice_id,
            "channel_id": cid,
            "bot_id": accounts[cid],
            "occurrence": occurrence,
            "locale": (locales or {}).get(cid, "vi"),
            "priority": priority,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            "next_attempt_at": now,
            "updated_at": now,
        }
        for cid in channel_ids
    ]
    async with session_scope(sessionmaker) as session:
        for start in range(0, len(rows), 5000):
            await session.execute(insert(Delivery), rows[start : start + 5000])
        ids = await session.scalars(
            select(col(Delivery.id))
            .where(col(Delivery.notice_id) == notice_id)
            .order_by(col(Delivery.id))
        )
        return [i for i in ids if i is not None]


async def second_notice(
    sessionmaker: async_sessionmaker[AsyncSession],
    seeded: Seeded,
    *,
    text: str,
    urgent: bool,
    channel_ids: Sequence[int] | None = None,
) -> int:
    """Another dispatching notice of the same ward to (some of) the same channels."""
    async with session_scope(sessionmaker) as session:
        notice = Notice(
            ward_id=seeded.ward_id,
            text=text,
            status=NoticeStatus.dispatching,
            urgent=urgent,
            dispatched_at=utcnow(),
        )
        session.add(notice)
        await session.flush()
        assert notice.id is not None
        session.add(Rendition(notice_id=notice.id, locale="vi", text=text))
        notice_id = notice.id
    ids = list(channel_ids if channel_ids is not None else seeded.channels)
    await add_deliveries(
        sessionmaker,
        notice_id=notice_id,
        channel_ids=ids,
        accounts={cid: seeded.accounts[seeded.channels[cid][0]] for cid in ids},
        priority=10 if urgent else 0,
    )
    return notice_id
