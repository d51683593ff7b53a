"""A notice already delivered to one chat, for the signed-link pages: its ward, official,
bot, channel, rendition, sent delivery and (optionally) a PDF in a file store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from broadcasts.attachments import store_file
from broadcasts.db import session_scope
from broadcasts.links import LinkKind, sign
from broadcasts.models import (
    Acknowledgement,
    Area,
    AreaLevel,
    Attachment,
    BotAccount,
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Official,
    Rendition,
)
from broadcasts.settings import AttachmentSettings

NOTICE_TEXT = (
    "Cắt điện khu phố 1\n\n"
    "Điện lực Sài Gòn cắt điện để bảo trì lưới điện trên đường Lê Lợi.\n\n"
    "Thời gian: 7 giờ 30 – 16 giờ, thứ Bảy, ngày 05/12/2026"
)
PDF_BYTES = b"%PDF-1.4\n% Loa test\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PDF_NAME = "Công văn số 12.pdf"


@dataclass(frozen=True, slots=True)
class Delivered:
    notice_id: int
    channel_id: int
    delivery_id: int
    attachment_id: int | None

    def ack_token(self, *, expires_in: timedelta = timedelta(days=7)) -> str:
        return sign(
            LinkKind.ack,
            delivery_id=self.delivery_id,
            expires_at=datetime.now(UTC) + expires_in,
        )

    def file_token(self, *, expires_in: timedelta = timedelta(days=7)) -> str:
        assert self.attachment_id is not None
        return sign(
            LinkKind.file,
            delivery_id=self.delivery_id,
            attachment_id=self.attachment_id,
            expires_at=datetime.now(UTC) + expires_in,
        )


async def seed_delivered(
    sessionmaker: async_sessionmaker[AsyncSession], *, store: Path | None = None
) -> Delivered:
    async with session_scope(sessionmaker) as session:
        ward = Area(code="BT", name="Phường Bến Thành", level=AreaLevel.ward, path="BT/")
        session.add(ward)
        await session.flush()
        official = Official(user_ref="501", name="Trần Văn Minh", ward_id=ward.id or 0)
        bot = BotAccount(
            transport="zalo", token="4100:zaloTEST_links", username="bot.loa", ward_id=ward.id
        )
        session.add_all([official, bot])
        await session.flush()
        channel = Channel(
            area_id=ward.id or 0, bot_id=bot.id or 0, transport="zalo", chat_ref="chat-lan"
        )
        now = datetime.now(UTC)
        notice = Notice(
            ward_id=ward.id or 0,
            official_id=official.id,
            text=NOTICE_TEXT,
            title="Cắt điện khu phố 1",
            status=NoticeStatus.done,
            dispatched_at=now,
        )
        session.add_all([channel, notice])
        await session.flush()
        session.add(Rendition(notice_id=notice.id or 0, locale="vi", text=NOTICE_TEXT))
        attachment_id = None
        if store is not None:
            digest, key = store_file(AttachmentSettings(dir=store), PDF_BYTES)
            attachment = Attachment(
                notice_id=notice.id or 0,
                kind="document",
                file_name=PDF_NAME,
                mime_type="application/pdf",
                size=len(PDF_BYTES),
                sha256=digest,
                storage_key=key,
            )
            session.add(attachment)
            await session.flush()
            attachment_id = attachment.id
        delivery = Delivery(
            notice_id=notice.id or 0,
            channel_id=channel.id or 0,
            bot_id=bot.id or 0,
            status=DeliveryStatus.sent,
            provider_message_ref="zm-1",
            sent_at=now,
        )
        session.add(delivery)
        await session.flush()
        return Delivered(notice.id or 0, channel.id or 0, delivery.id or 0, attachment_id)


async def link_acks(
    sessionmaker: async_sessionmaker[AsyncSession], notice_id: int
) -> list[Acknowledgement]:
    async with session_scope(sessionmaker) as session:
        rows = await session.scalars(
            select(Acknowledgement)
            .where(col(Acknowledgement.notice_id) == notice_id)
            .order_by(col(Acknowledgement.id))
        )
        return list(rows)


async def count_acks(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessionmaker) as session:
        return await session.scalar(select(func.count()).select_from(Acknowledgement)) or 0
