"""Acknowledgements: a person in a group confirms they saw a notice ("Đã nhận").

One per person, channel and notice. Pressing twice, or two presses racing each other
from two bot processes, still counts once: the insert is `ON CONFLICT DO NOTHING` on the
unique constraint, so the database settles the race and nobody sees an error. Button
presses are counted many at a time (`record_button_presses`, driven by
`broadcasts.ack_batch`): one read of their deliveries, one insert for all their rows, the
first press of a person within the batch being the one written.

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
from collections.abc import Sequence
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
from broadcasts.metrics import ACKNOWLEDGEMENTS, count_on_commit
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


def _insert_new(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, returning the rows it wrote (id and the four
    columns of the unique constraint). Executed with a list of rows, SQLAlchemy sends them
    as multi-row INSERTs ("insertmanyvalues") from one compiled statement: inlining the
    rows with `.values(rows)` instead compiled a new statement for every batch, which was
    half of the batch's CPU."""
    dialect = session.get_bind().dialect.name
    table: Any = Acknowledgement.__table__  # type: ignore[attr-defined]  # Core: plain dicts
    returned = (
        table.c.id,
        table.c.notice_id,
        table.c.channel_id,
        table.c.occurrence,
        table.c.person_ref,
    )
    if dialect == "postgresql":
        return (
            postgresql.insert(table)
            .on_conflict_do_nothing(constraint="uq_ack_once")
            .returning(*returned)
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(table)
            .on_conflict_do_nothing(
                index_elements=["notice_id", "channel_id", "occurrence", "person_ref"]
            )
            .returning(*returned)
        )
    raise NotImplementedError(f"acknowledgements are not supported on {dialect}")


AckKey = tuple[int, int, int, str]  # notice, channel, occurrence, person: counted once


def _new_ack(
    *, delivery: Delivery, channel: Channel | None, person_ref: str, person_name: str, method: str
) -> Acknowledgement:
    """The acknowledgement of the delivery's notice, channel and occurrence (a reminder's
    delivery row carries the same three, so a press on a reminder counts for the notice);
    `by_leader` when the person is the channel's registered leader."""
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}, not '{method}'")
    person_ref = person_ref.strip()
    if not person_ref or len(person_ref) > 64:
        raise InvalidInput("person_ref must be 1 to 64 characters", field="person_ref")
    leader = channel.leader_ref if channel is not None else None
    return Acknowledgement(
        notice_id=delivery.notice_id,
        channel_id=delivery.channel_id,
        occurrence=delivery.occurrence,
        by_leader=leader is not None and leader == person_ref,
        delivery_id=delivery.id,
        person_ref=person_ref,
        person_name=person_name.strip()[:200],
        method=method,
    )


def _key(ack: Acknowledgement) -> AckKey:
    return (ack.notice_id, ack.channel_id, ack.occurrence, ack.person_ref)


async def _record(
    session: AsyncSession,
    *,
    delivery: Delivery,
    person_ref: str,
    person_name: str,
    method: str,
    channel: Channel | None = None,
) -> tuple[Acknowledgement, bool]:
    """One acknowledgement (see `_new_ack`), and True if it is new."""
    if channel is None:
        channel = await session.get(Channel, delivery.channel_id)
    ack = _new_ack(
        delivery=delivery,
        channel=channel,
        person_ref=person_ref,
        person_name=person_name,
        method=method,
    )
    written = (
        await session.execute(_insert_new(session), [ack.model_dump(exclude={"id"})])
    ).first()
    if written is not None:
        count_on_commit(session, ACKNOWLEDGEMENTS.labels(method=method))
        stored = await session.get(Acknowledgement, written[0])
        assert stored is not None
        return stored, True
    existing = await session.scalar(
        select(Acknowledgement).where(
            col(Acknowledgement.notice_id) == ack.notice_id,
            col(Acknowledgement.channel_id) == ack.channel_id,
            col(Acknowledgement.occurrence) == ack.occurrence,
            col(Acknowledgement.person_ref) == ack.person_ref,
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
    found = await _deliveries_and_channels(session, {delivery_id})
    return found.get(delivery_id, (None, None))


async def _deliveries_and_channels(
    session: AsyncSession, delivery_ids: set[int]
) -> dict[int, tuple[Delivery, Channel]]:
    """Deliveries and the channels they went to, by delivery id (one query)."""
    rows = await session.execute(
        select(Delivery, Channel)
        .join(Channel, col(Channel.id) == col(Delivery.channel_id))
        .where(col(Delivery.id).in_(delivery_ids))
    )
    return {delivery.id: (delivery, channel) for delivery, channel in rows if delivery.id}


@dataclass(frozen=True, slots=True)
class PressIn:
    """One press of the Đã nhận button, as the bot received it."""

    delivery_id: int  # from the callback data: the client's word, checked against the rest
    bot_id: int
    chat_ref: str
    message_ref: str
    person_ref: str
    person_name: str


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
    press = PressIn(delivery_id, bot_id, chat_ref, message_ref, person_ref, person_name)
    [verdict] = await record_button_presses(session=session, presses=[press])
    return verdict


async def record_button_presses(
    *, session: AsyncSession, presses: Sequence[PressIn]
) -> list[ButtonPress]:
    """Count many presses in the caller's transaction, a verdict for each in their order:
    one query reads their deliveries, one INSERT … ON CONFLICT DO NOTHING writes every
    acknowledgement. A person pressing twice in one batch, or again later, is counted
    once: within the batch the first press is the one written, and the database settles
    what it already holds (and what another process writes at the same time)."""
    found = await _deliveries_and_channels(session, {p.delivery_id for p in presses})
    verdicts: list[ButtonPress | None] = [None] * len(presses)
    new: dict[AckKey, tuple[int, Acknowledgement]] = {}  # the first press of each key
    counted: list[tuple[int, AckKey, Delivery]] = []
    events: list[dict[str, Any]] = []
    for i, press in enumerate(presses):
        delivery, channel = found.get(press.delivery_id, (None, None))
        reason = _refusal(
            delivery,
            channel,
            bot_id=press.bot_id,
            chat_ref=press.chat_ref,
            message_ref=press.message_ref,
        )
        ack = None
        if reason is None:
            assert delivery is not None
            try:
                ack = _new_ack(
                    delivery=delivery,
                    channel=channel,
                    person_ref=press.person_ref,
                    person_name=press.person_name,
                    method="button",
                )
            except InvalidInput as exc:
                reason = exc.message
        if ack is not None and delivery is not None:
            new.setdefault(_key(ack), (i, ack))
            counted.append((i, _key(ack), delivery))
            continue
        if (
            delivery is not None
            and channel is not None
            and channel.chat_ref == press.chat_ref
            and delivery.status is DeliveryStatus.sending
        ):
            verdicts[i] = ButtonPress(PressVerdict.early, delivery.notice_id)
            continue
        log.warning("acknowledge press refused (delivery %s): %s", press.delivery_id, reason)
        events.append(
            audit.event_row(
                actor=f"{channel.transport if channel else 'telegram'}:{press.person_ref}",
                action="ack.refused",
                subject=f"delivery:{press.delivery_id}",
                chat_ref=press.chat_ref,
                message_ref=press.message_ref,
                person_name=press.person_name,
                reason=reason,
            )
        )
        verdicts[i] = ButtonPress(PressVerdict.refused)
    written: set[AckKey] = set()
    if new:
        rows = [ack.model_dump(exclude={"id"}) for _, ack in new.values()]
        result = await session.execute(_insert_new(session), rows)
        written = {(n, c, o, p) for _id, n, c, o, p in result}
        if written:
            count_on_commit(session, ACKNOWLEDGEMENTS.labels(method="button"), len(written))
    for i, key, delivery in counted:
        created = key in written and new[key][0] == i
        if created:
            ack = new[key][1]
            channel = found[delivery.id or 0][1]
            events.append(
                audit.event_row(
                    actor=f"{channel.transport}:{ack.person_ref}",
                    action="ack.button",
                    subject=f"notice:{ack.notice_id}",
                    channel_id=ack.channel_id,
                    delivery_id=presses[i].delivery_id,
                    person_name=presses[i].person_name,
                )
            )
        shown = delivery.parent_id if delivery.kind == DeliveryKind.reminder else delivery.id
        verdicts[i] = ButtonPress(
            PressVerdict.recorded if created else PressVerdict.repeated,
            delivery.notice_id,
            shown or delivery.id,
        )
    await audit.add_rows(session=session, rows=events)
    return [v for v in verdicts if v is not None]


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
