"""Acknowledgement without buttons: a reply in the chat a notice went to.

On a transport without buttons (Zalo) each notice ends with «Trả lời 1 hoặc "đã nhận" để
xác nhận». A reply «1», «đã nhận» or «ok» (any case, with or without accents, a full stop
or an emoji after it) counts, and so does a quote-reply of the notice whatever it says.
A quote-reply names its notice; a plain reply counts for the latest notice sent to that
chat. Each person counts once per notice (`acks.record_ack`: the database settles races),
with the method «reply».

The chat is known only as (bot account, chat ref): a reply through another bot, or to a
chat that is not an active channel, counts for nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts.acks import record_ack
from broadcasts.delivery.claims import decode_refs
from broadcasts.models import Channel, Delivery, DeliveryKind, DeliveryStatus

ACK_WORDS = frozenset({"1", "da nhan", "ok", "oke", "okay", "nhan"})
_NOT_WORD = re.compile(r"[^\w\s]+")
# A quote-reply may name a notice sent long ago; look that far back in the channel.
_QUOTE_LOOKBACK = 500


def folded(text: str) -> str:
    """`text` lower-cased, without accents (đ → d), punctuation or extra spaces."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", bare).split())


def is_ack_reply(text: str) -> bool:
    """Whether a message says «1», «đã nhận» or «ok» (and nothing else)."""
    return folded(text) in ACK_WORDS


class ReplyVerdict(StrEnum):
    recorded = "recorded"
    repeated = "repeated"
    no_channel = "no_channel"  # the chat is not an active channel of this bot
    no_notice = "no_notice"  # nothing was sent there yet (or the quote names nothing)


@dataclass(frozen=True, slots=True)
class ReplyAck:
    verdict: ReplyVerdict
    notice_id: int | None = None


async def _notice_delivery(
    session: AsyncSession, channel_id: int, quoted_ref: str | None
) -> Delivery | None:
    query = (
        select(Delivery)
        .where(
            col(Delivery.channel_id) == channel_id,
            col(Delivery.status) == DeliveryStatus.sent,
        )
        .order_by(col(Delivery.sent_at).desc(), col(Delivery.id).desc())
    )
    if quoted_ref is None:
        query = query.where(col(Delivery.kind) == DeliveryKind.notice).limit(1)
        return await session.scalar(query)
    for delivery in await session.scalars(query.limit(_QUOTE_LOOKBACK)):
        if quoted_ref in decode_refs(delivery.provider_message_ref):
            if delivery.kind != DeliveryKind.notice and delivery.parent_id is not None:
                return await session.get(Delivery, delivery.parent_id)  # a reminder's notice
            return delivery
    return None


async def record_reply_ack(
    *,
    session: AsyncSession,
    bot_id: int,
    chat_ref: str,
    person_ref: str,
    person_name: str,
    quoted_ref: str | None = None,
) -> ReplyAck:
    """Count a reply (or a quote-reply of `quoted_ref`) from `person_ref` in `chat_ref`."""
    channel = await session.scalar(
        select(Channel).where(col(Channel.bot_id) == bot_id, col(Channel.chat_ref) == chat_ref)
    )
    if channel is None or not channel.active or channel.id is None:
        return ReplyAck(ReplyVerdict.no_channel)
    delivery = await _notice_delivery(session, channel.id, quoted_ref)
    if delivery is None and quoted_ref is not None:
        # A quote of some other message of the bot: the latest notice, like a plain reply.
        delivery = await _notice_delivery(session, channel.id, None)
    if delivery is None or delivery.id is None:
        return ReplyAck(ReplyVerdict.no_notice)
    ack, created = await record_ack(
        session=session,
        delivery_id=delivery.id,
        person_ref=person_ref,
        person_name=person_name,
        method="reply",
    )
    if created:
        await audit.record(
            session=session,
            actor=f"{channel.transport}:{person_ref}"[:100],
            action="ack.reply",
            subject=f"notice:{ack.notice_id}",
            channel_id=channel.id,
            delivery_id=delivery.id,
            person_name=person_name,
        )
    verdict = ReplyVerdict.recorded if created else ReplyVerdict.repeated
    return ReplyAck(verdict, ack.notice_id)
