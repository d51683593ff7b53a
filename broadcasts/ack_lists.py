"""Acknowledgements and silent channels as the API lists them (`api/routes/notice_acks.py`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from broadcasts.bounds import MAX_ID
from broadcasts.exports import Sheet
from broadcasts.models import Acknowledgement, Area, Channel, Delivery, DeliveryKind
from broadcasts.notices import get_notice
from broadcasts.reminders import pending_channels
from broadcasts.tenancy import CITY, Tenant


class AcknowledgementRow(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "id": 31,
                    "occurrence": 0,
                    "channel_id": 12,
                    "chat_title": "Tổ dân phố 5 - Bến Thành",
                    "transport": "telegram",
                    "area_code": "BT-KP3-T5",
                    "area_name": "Tổ dân phố 5",
                    "person_ref": "5550001",
                    "person_name": "Nguyễn Thị Lan",
                    "by_leader": True,
                    "method": "button",
                    "via": "reminder",
                    "at": "2026-03-11T07:20:00Z",
                }
            ]
        }
    )

    id: int
    occurrence: int
    channel_id: int
    chat_title: str
    transport: str = Field(default="telegram", description="the channel's platform")
    area_code: str
    area_name: str
    person_ref: str
    person_name: str
    by_leader: bool = Field(description="pressed by the group's registered leader (tổ trưởng)")
    method: str = Field(description="button, reply (Zalo), api or link")
    via: str = Field(description="the delivery it came through: notice or reminder")
    at: datetime


class PendingChannelPublic(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "channel_id": 14,
                    "delivery_id": 92,
                    "occurrence": 0,
                    "chat_title": "Tổ dân phố 6 - Bến Thành",
                    "transport": "telegram",
                    "area_code": "BT-KP3-T6",
                    "area_name": "Tổ dân phố 6",
                    "active": True,
                    "sent_at": "2026-03-11T07:05:02Z",
                    "reminders": 1,
                }
            ]
        }
    )

    channel_id: int
    delivery_id: int
    occurrence: int
    chat_title: str
    transport: str = Field(default="telegram", description="the channel's platform")
    area_code: str
    area_name: str
    active: bool
    sent_at: datetime | None
    reminders: int = Field(default=0, description="reminders queued or sent to this channel")


class RemindRequest(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        extra="forbid", json_schema_extra={"examples": [{"occurrence": None}]}
    )

    occurrence: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="the occurrence to remind of; null: the latest"
    )


class RemindResult(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={"examples": [{"notice_id": 7, "occurrence": 0, "reminded": 3}]}
    )

    notice_id: int
    occurrence: int
    reminded: int = Field(
        description="reminders queued: one per channel without an acknowledgement"
    )


async def list_acknowledgements(
    *,
    session: AsyncSession,
    notice_id: int,
    occurrence: int | None = None,
    offset: int = 0,
    limit: int | None = 100,
    within: Tenant = CITY,
) -> tuple[list[AcknowledgementRow], int]:
    """Every acknowledgement of the notice (of one occurrence, if given), oldest first;
    `limit=None`: all of them (the exports)."""
    await get_notice(session=session, notice_id=notice_id, within=within)
    query = (
        select(Acknowledgement, Channel, Area, col(Delivery.kind))
        .join(Channel, col(Channel.id) == col(Acknowledgement.channel_id))
        .join(Area, col(Area.id) == col(Channel.area_id))
        .outerjoin(Delivery, col(Delivery.id) == col(Acknowledgement.delivery_id))
        .where(col(Acknowledgement.notice_id) == notice_id)
    )
    if occurrence is not None:
        query = query.where(col(Acknowledgement.occurrence) == occurrence)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(col(Acknowledgement.created_at), col(Acknowledgement.id))
        .offset(offset)
        .limit(limit)
    )
    return [
        AcknowledgementRow(
            id=ack.id or 0,
            occurrence=ack.occurrence,
            channel_id=ack.channel_id,
            chat_title=channel.title,
            transport=channel.transport,
            area_code=area.code,
            area_name=area.name,
            person_ref=ack.person_ref,
            person_name=ack.person_name,
            by_leader=ack.by_leader,
            method=ack.method,
            via=kind or DeliveryKind.notice,
            at=ack.created_at,
        )
        for ack, channel, area, kind in rows
    ], total


async def list_pending(
    *,
    session: AsyncSession,
    notice_id: int,
    occurrence: int | None = None,
    offset: int = 0,
    limit: int = 100,
    within: Tenant = CITY,
) -> tuple[list[PendingChannelPublic], int]:
    """`pending_channels` for the API, with how many reminders each channel has had."""
    pending = await pending_channels(
        session=session, notice_id=notice_id, occurrence=occurrence, within=within
    )
    page = pending[offset : offset + limit]
    counts: dict[int, int] = {}
    if page:
        counts = {
            channel_id: int(n)
            for channel_id, n in await session.execute(
                select(col(Delivery.channel_id), func.count())
                .where(
                    col(Delivery.notice_id) == notice_id,
                    col(Delivery.occurrence) == page[0].occurrence,
                    col(Delivery.kind) == DeliveryKind.reminder,
                    col(Delivery.channel_id).in_([p.channel_id for p in page]),
                )
                .group_by(col(Delivery.channel_id))
            )
        }
    return [
        PendingChannelPublic(
            channel_id=p.channel_id,
            delivery_id=p.delivery_id,
            occurrence=p.occurrence,
            chat_title=p.chat_title,
            transport=p.transport,
            area_code=p.area_code,
            area_name=p.area_name,
            active=p.active,
            sent_at=p.sent_at,
            reminders=counts.get(p.channel_id, 0),
        )
        for p in page
    ], len(pending)


ACK_HEADER = (
    "occurrence",
    "area_code",
    "area_name",
    "chat_title",
    "person_name",
    "person_ref",
    "by_leader",
    "method",
    "via",
    "acknowledged_at",
)


async def acknowledgement_sheet(
    *, session: AsyncSession, notice_id: int, occurrence: int | None, within: Tenant = CITY
) -> Sheet:
    """Every acknowledgement of the notice (or of one occurrence) as a spreadsheet's table,
    oldest first: the rows of `GET /notices/{id}/acknowledgements`, all pages."""
    rows, _ = await list_acknowledgements(
        session=session, notice_id=notice_id, occurrence=occurrence, limit=None, within=within
    )
    title = f"Notice {notice_id}" + (f" #{occurrence}" if occurrence is not None else "")
    return Sheet(
        title=title,
        header=ACK_HEADER,
        rows=[
            [
                r.occurrence,
                r.area_code,
                r.area_name,
                r.chat_title,
                r.person_name,
                r.person_ref,
                r.by_leader,
                r.method,
                r.via,
                r.at,
            ]
            for r in rows
        ],
    )
