"""Acknowledgements: a person in a group confirms they saw a notice ("Đã nhận").

One per person, channel and notice. Pressing twice, or two presses racing each other
from two bot processes, still counts once: the insert is `ON CONFLICT DO NOTHING` on the
unique constraint, so the database settles the race and nobody sees an error.

(A SAVEPOINT around a plain INSERT would do the same on PostgreSQL, but with SQLite's
Python driver a SAVEPOINT opened before any write commits the transaction on release.)

A button press names its delivery in the callback data, which a modified client can set
at will (delivery ids are sequential). So a press counts only when it comes through the
delivery's bot, from the chat the delivery went to, on the message that carries the
button (the last part of a split text), for a delivery that was sent. Anything else is
refused, logged and written to the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ConfigDict
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from broadcasts import audit
from broadcasts.bounds import DbId
from broadcasts.delivery.claims import decode_refs, load_notices
from broadcasts.delivery.files import delivery_links, plan
from broadcasts.errors import InvalidInput, NotFound
from broadcasts.links import LinkMaker
from broadcasts.message import acknowledged_text
from broadcasts.metrics import ACKNOWLEDGEMENTS
from broadcasts.models import (
    Acknowledgement,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
)
from broadcasts.tenancy import CITY, Tenant
from broadcasts.timeparse import TZ
from broadcasts.transports.base import Markup, TransportCapabilities

log = logging.getLogger(__name__)

METHODS = ("button", "api", "link", "reply")


class PressVerdict(StrEnum):
    recorded = "recorded"  # a new acknowledgement
    repeated = "repeated"  # this person had acknowledged already
    early = "early"  # the right chat, but the send is not recorded yet: press again
    refused = "refused"  # not this chat's or this message's button: nothing counted


@dataclass(frozen=True, slots=True)
class ButtonPress:
    verdict: PressVerdict
    notice_id: int | None = None
    # The delivery whose message shows «✅ Đã nhận: …»: the notice's own, also when the
    # press came on a reminder (which carries the button for the same notice).
    shown_delivery_id: int | None = None


class AckCreate(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "notice_id": 7,
                    "channel_id": 12,
                    "person_ref": "phone:0909123456",
                    "person_name": "Nguyễn Thị Lan",
                }
            ]
        }
    )

    notice_id: DbId
    channel_id: DbId
    person_ref: str = Field(min_length=1, max_length=64)
    person_name: str = Field(default="", max_length=200)


class AckPublic(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "id": 31,
                    "notice_id": 7,
                    "channel_id": 12,
                    "person_ref": "phone:0909123456",
                    "person_name": "Nguyễn Thị Lan",
                    "method": "api",
                    "created_at": "2026-01-05T03:10:00Z",
                    "created": True,
                }
            ]
        }
    )

    id: int
    notice_id: int
    channel_id: int
    person_ref: str
    person_name: str
    method: str
    created_at: datetime
    created: bool = Field(description="false when this person had already acknowledged")


def to_public(ack: Acknowledgement, created: bool) -> AckPublic:
    return AckPublic(
        id=ack.id or 0,
        notice_id=ack.notice_id,
        channel_id=ack.channel_id,
        person_ref=ack.person_ref,
        person_name=ack.person_name,
        method=ack.method,
        created_at=ack.created_at,
        created=created,
    )


def _insert_once(session: AsyncSession, values: dict[str, Any]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(Acknowledgement)
            .values(**values)
            .on_conflict_do_nothing(constraint="uq_ack_once")
            .returning(col(Acknowledgement.id))
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(Acknowledgement)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=["notice_id", "channel_id", "occurrence", "person_ref"]
            )
            .returning(col(Acknowledgement.id))
        )
    raise NotImplementedError(f"acknowledgements are not supported on {dialect}")


async def _record(
    session: AsyncSession,
    *,
    delivery: Delivery,
    person_ref: str,
    person_name: str,
    method: str,
    channel: Channel | None = None,
) -> tuple[Acknowledgement, bool]:
    """One acknowledgement of the delivery's notice, channel and occurrence (a reminder's
    delivery row carries the same three, so a press on a reminder counts for the notice);
    `by_leader` when the person is the channel's registered leader."""
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}, not '{method}'")
    person_ref = person_ref.strip()
    if not person_ref or len(person_ref) > 64:
        raise InvalidInput("person_ref must be 1 to 64 characters", field="person_ref")
    if channel is None:
        channel = await session.get(Channel, delivery.channel_id)
    leader = channel.leader_ref if channel is not None else None
    ack = Acknowledgement(
        notice_id=delivery.notice_id,
        channel_id=delivery.channel_id,
        occurrence=delivery.occurrence,
        by_leader=leader is not None and leader == person_ref,
        delivery_id=delivery.id,
        person_ref=person_ref,
        person_name=person_name.strip()[:200],
        method=method,
    )
    values = ack.model_dump(exclude={"id"})
    new_id = await session.scalar(_insert_once(session, values))
    if new_id is not None:
        ACKNOWLEDGEMENTS.labels(method=method).inc()
        stored = await session.get(Acknowledgement, new_id)
        assert stored is not None
        return stored, True
    existing = await session.scalar(
        select(Acknowledgement).where(
            col(Acknowledgement.notice_id) == delivery.notice_id,
            col(Acknowledgement.channel_id) == delivery.channel_id,
            col(Acknowledgement.occurrence) == delivery.occurrence,
            col(Acknowledgement.person_ref) == person_ref,
        )
    )
    assert existing is not None  # the conflicting row
    return existing, False


async def record_ack(
    *,
    session: AsyncSession,
    delivery_id: int,
    person_ref: str,
    person_name: str,
    method: str = "button",
) -> tuple[Acknowledgement, bool]:
    """Record that `person_ref` saw the notice of this delivery; True if new."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} does not exist", delivery_id=delivery_id)
    return await _record(
        session, delivery=delivery, person_ref=person_ref, person_name=person_name, method=method
    )


def _refusal(
    delivery: Delivery | None,
    channel: Channel | None,
    *,
    bot_id: int,
    chat_ref: str,
    message_ref: str,
) -> str | None:
    """Why a press does not count for this delivery, or None if it does."""
    if delivery is None or channel is None:
        return "no such delivery"
    if delivery.bot_id != bot_id:
        return f"delivery of bot {delivery.bot_id}, pressed through bot {bot_id}"
    if channel.chat_ref != chat_ref:
        return f"delivery to chat {channel.chat_ref}, pressed in chat {chat_ref}"
    if delivery.status is DeliveryStatus.sent:
        refs = decode_refs(delivery.provider_message_ref)
        if refs and refs[-1] == message_ref:
            return None
        return f"button on message {refs[-1] if refs else '?'}, pressed on {message_ref}"
    return f"delivery is {delivery.status.value}"


async def _delivery_and_channel(
    session: AsyncSession, delivery_id: int
) -> tuple[Delivery | None, Channel | None]:
    """A delivery and the channel it went to, or (None, None) if there is no such delivery."""
    row = (
        await session.execute(
            select(Delivery, Channel)
            .join(Channel, col(Channel.id) == col(Delivery.channel_id))
            .where(col(Delivery.id) == delivery_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


async def record_button_press(
    *,
    session: AsyncSession,
    delivery_id: int,
    bot_id: int,
    chat_ref: str,
    message_ref: str,
    person_ref: str,
    person_name: str,
) -> ButtonPress:
    """Count a press of the acknowledge button on `message_ref` in `chat_ref` (see above)."""
    delivery, channel = await _delivery_and_channel(session, delivery_id)
    reason = _refusal(delivery, channel, bot_id=bot_id, chat_ref=chat_ref, message_ref=message_ref)
    if reason is None:
        assert delivery is not None
        ack, created = await _record(
            session,
            delivery=delivery,
            person_ref=person_ref,
            person_name=person_name,
            method="button",
            channel=channel,
        )
        verdict = PressVerdict.recorded if created else PressVerdict.repeated
        if created:
            await audit.record(
                session=session,
                actor=f"{channel.transport if channel else 'telegram'}:{person_ref}"[:100],
                action="ack.button",
                subject=f"notice:{ack.notice_id}",
                channel_id=ack.channel_id,
                delivery_id=delivery_id,
                person_name=person_name,
            )
        shown = delivery.parent_id if delivery.kind == DeliveryKind.reminder else delivery.id
        return ButtonPress(verdict, ack.notice_id, shown or delivery_id)
    if (
        delivery is not None
        and channel is not None
        and channel.chat_ref == chat_ref
        and delivery.status is DeliveryStatus.sending
    ):
        return ButtonPress(PressVerdict.early, delivery.notice_id)
    log.warning("acknowledge press refused (delivery %s): %s", delivery_id, reason)
    await audit.record(
        session=session,
        actor=f"{channel.transport if channel else 'telegram'}:{person_ref}"[:100],
        action="ack.refused",
        subject=f"delivery:{delivery_id}",
        chat_ref=chat_ref,
        message_ref=message_ref,
        person_name=person_name,
        reason=reason,
    )
    return ButtonPress(PressVerdict.refused)


async def record_ack_for_channel(
    *,
    session: AsyncSession,
    notice_id: int,
    channel_id: int,
    person_ref: str,
    person_name: str,
    method: str = "api",
    within: Tenant = CITY,
) -> tuple[Acknowledgement, bool]:
    """The same, for someone confirming through the API (by phone, in person...).

    Only a delivery that was sent can be acknowledged; a notice or channel outside
    `within` is treated as one that does not exist."""
    notice = await session.get(Notice, notice_id)
    if notice is None or not within.covers_ward_id(notice.ward_id):
        raise InvalidInput(f"notice {notice_id} does not exist", field="notice_id")
    row = (
        await session.execute(
            select(Delivery, col(Channel.area_id))
            .join(Channel, col(Channel.id) == col(Delivery.channel_id))
            .where(
                col(Delivery.notice_id) == notice_id,
                col(Delivery.channel_id) == channel_id,
                col(Delivery.status) == DeliveryStatus.sent,
                col(Delivery.kind) == DeliveryKind.notice,
            )
            .order_by(col(Delivery.occurrence).desc())
            .limit(1)
        )
    ).first()
    if row is None or not within.covers_area_id(row[1]):
        raise InvalidInput(
            f"channel {channel_id} has no delivery of notice {notice_id} that was sent",
            field="channel_id",
        )
    delivery = row[0]
    return await _record(
        session, delivery=delivery, person_ref=person_ref, person_name=person_name, method=method
    )


async def ack_count(*, session: AsyncSession, notice_id: int, channel_id: int | None = None) -> int:
    """How many people acknowledged the notice (in one channel, if given)."""
    query = (
        select(func.count())
        .select_from(Acknowledgement)
        .where(col(Acknowledgement.notice_id) == notice_id)
    )
    if channel_id is not None:
        query = query.where(col(Acknowledgement.channel_id) == channel_id)
    return await session.scalar(query) or 0


@dataclass(frozen=True, slots=True)
class AcknowledgedMessage:
    """What the delivered message with the Đã nhận button shows once people pressed it."""

    chat_ref: str
    message_ref: str  # the part that carries the button (the last one)
    text: str
    markup: Markup
    locale: str  # the group's language, for the button's label


async def acknowledged_message(
    *,
    session: AsyncSession,
    delivery_id: int,
    capabilities: TransportCapabilities,
    tz: ZoneInfo = TZ,
    links: LinkMaker | None = None,
) -> AcknowledgedMessage | None:
    """The button's message of a sent delivery, as delivered (the same plan as the
    engine's, `broadcasts.delivery.files.plan`, with the delivery's link when `links`
    are on) with the line of who acknowledged it in that chat
    (`broadcasts.message.acknowledged_text`); None when there is nothing to show."""
    delivery, channel = await _delivery_and_channel(session, delivery_id)
    if delivery is None or channel is None:
        return None
    refs = decode_refs(delivery.provider_message_ref)
    if delivery.status is not DeliveryStatus.sent or not refs or not refs[-1]:
        return None
    if delivery.kind != DeliveryKind.notice:  # a follow-up's message is not the notice's
        return None
    notice = (await load_notices(session=session, notice_ids=[delivery.notice_id])).get(
        delivery.notice_id
    )
    if notice is None:
        return None
    # Planned as the engine planned it, with the delivery's link (a fresh token for the
    # same delivery), so the edit keeps the «Hoặc bấm: …» line.
    own = delivery_links(links, delivery.id or 0, notice, capabilities)
    planned = plan(notice, delivery.locale, capabilities, own)
    if planned is None or not planned[0]:
        return None
    steps, markup = planned
    if steps[-1].files:
        return None  # the button is under a file's caption, which a text edit cannot change
    first = (
        await session.execute(
            select(col(Acknowledgement.person_name), col(Acknowledgement.created_at))
            .where(
                col(Acknowledgement.notice_id) == delivery.notice_id,
                col(Acknowledgement.channel_id) == delivery.channel_id,
            )
            .order_by(col(Acknowledgement.created_at), col(Acknowledgement.id))
            .limit(1)
        )
    ).first()
    text = steps[-1].text
    if first is not None:
        count = await ack_count(
            session=session, notice_id=delivery.notice_id, channel_id=delivery.channel_id
        )
        text = acknowledged_text(
            text,
            first_name=first.person_name,
            first_at=first.created_at,
            others=max(0, count - 1),
            locale=delivery.locale,
            limit=capabilities.max_text,
            markup=markup,
            tz=tz,
        )
    return AcknowledgedMessage(channel.chat_ref, refs[-1], text, markup, delivery.locale)
