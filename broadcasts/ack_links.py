"""The acknowledgement page and the file download behind a delivery's signed links.

`open_ack_page` checks an `/a/<token>` link (`broadcasts.links`) and returns what the page
shows: the notice as that chat received it, who sent it and when, and whether this
browser has acknowledged already. `confirm_by_link` records the acknowledgement with
method `link` through `broadcasts.acks.record_ack`, so the database settles a double
press or a race as for the button. `open_download` checks an `/f/<token>` link and
returns the file in Loa's store.

A link opens only while its delivery still stands: a notice recalled or cancelled, a
chat no longer receiving, or a delivery that never went out refuse it ("withdrawn"),
like a tampered token ("invalid") or an old one ("expired"), and nothing is recorded.
Every text the page shows comes from the catalogs, in the chat's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts import audit
from broadcasts import message as group_message
from broadcasts.acks import record_ack
from broadcasts.ai.wording import clock_vi, day_vi
from broadcasts.delivery.claims import load_notices
from broadcasts.errors import LinkRefused
from broadcasts.i18n import translations
from broadcasts.links import LinkClaim, LinkKind, is_page_check, verify
from broadcasts.models import (
    Acknowledgement,
    Attachment,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeStatus,
    Official,
)
from broadcasts.timeparse import TZ

PERSON_PREFIX = "link:"
MAX_NAME = 100
# A delivery being sent already holds its link (the link rides in its message).
_STANDING = (DeliveryStatus.sent, DeliveryStatus.sending)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class PageTexts:
    """The page's words, in the chat's language."""

    lang: str
    title: str
    sender: str
    sent: str
    help: str
    name_label: str
    button: str


@dataclass(frozen=True, slots=True)
class AckPage:
    notice_id: int
    delivery_id: int
    message: str  # the notice as that chat received it, plain text
    texts: PageTexts
    acknowledged_at: datetime | None  # when this browser acknowledged, if it has


@dataclass(frozen=True, slots=True)
class Refusal:
    """The page for a link that does not open, and its HTTP status."""

    status: int
    lang: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    file_name: str
    mime_type: str


def person_ref(person: str) -> str:
    return f"{PERSON_PREFIX}{person}"


def clean_name(name: str) -> str:
    """A typed name as stored: no control characters, spaces collapsed, at most 100."""
    return " ".join(_CONTROL.sub(" ", name).split())[:MAX_NAME]


def local_time(at: datetime, tz: ZoneInfo = TZ) -> str:
    """«7 giờ 30, thứ Bảy, ngày 28/11/2026» (WORDING.md)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(tz)
    return f"{clock_vi(local.time())}, {day_vi(local.date())}"


async def _standing(session: AsyncSession, claim: LinkClaim) -> tuple[Delivery, Channel, Notice]:
    """The delivery, chat and notice of a verified link, if the link still stands."""
    row = (
        await session.execute(
            select(Delivery, Channel, Notice)
            .join(Channel, col(Channel.id) == col(Delivery.channel_id))
            .join(Notice, col(Notice.id) == col(Delivery.notice_id))
            .where(col(Delivery.id) == claim.delivery_id)
        )
    ).first()
    if row is None:
        raise LinkRefused("invalid", "no such delivery")
    delivery, channel, notice = row
    if delivery.kind != DeliveryKind.notice:
        raise LinkRefused("invalid", "not a notice's delivery")
    if (
        delivery.status not in _STANDING
        or notice.recalled_at is not None
        or notice.status is NoticeStatus.cancelled
        or not channel.active
    ):
        raise LinkRefused("withdrawn", "the notice or the chat no longer takes acknowledgements")
    return delivery, channel, notice


async def _acknowledged_at(
    session: AsyncSession, delivery: Delivery, person: str | None
) -> datetime | None:
    if person is None:
        return None
    return await session.scalar(
        select(col(Acknowledgement.created_at)).where(
            col(Acknowledgement.notice_id) == delivery.notice_id,
            col(Acknowledgement.channel_id) == delivery.channel_id,
            col(Acknowledgement.occurrence) == delivery.occurrence,
            col(Acknowledgement.person_ref) == person_ref(person),
        )
    )


async def _page(
    session: AsyncSession, delivery: Delivery, notice: Notice, person: str | None
) -> AckPage:
    texts = (await load_notices(session=session, notice_ids=[notice.id or 0]))[notice.id or 0]
    locale = delivery.locale if delivery.locale in texts.texts else "vi"
    sent_at = texts.sent_at or notice.created_at
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    body = texts.text_for(locale) or ""
    rendered = group_message.render_group_message(
        text=body,
        sender=texts.sender,
        sent_at=sent_at,
        urgent=texts.urgent,
        limit=1_000_000,
        locale=locale,
        markup="plain",
    )
    official = await session.get(Official, notice.official_id) if notice.official_id else None
    t = translations(locale)
    who = texts.sender
    if official is not None and official.name:
        who = f"{official.name} · {texts.sender}" if texts.sender else official.name
    page_texts = PageTexts(
        lang=locale,
        title=t.gettext("Notice from {ward}").format(ward=texts.sender or "?"),
        sender=t.gettext("Sent by: {who}").format(who=who),
        sent=t.gettext("Sent at {time}").format(time=local_time(sent_at)),
        help=t.gettext("Press the button below so the ward knows you have read this notice."),
        name_label=t.gettext("Full name (optional)"),
        button=t.gettext("✅ I have received it"),
    )
    return AckPage(
        notice_id=notice.id or 0,
        delivery_id=delivery.id or 0,
        message="\n\n".join(rendered),
        texts=page_texts,
        acknowledged_at=await _acknowledged_at(session, delivery, person),
    )


async def open_ack_page(
    *, session: AsyncSession, token: str, person: str | None, now: datetime
) -> AckPage:
    """What `/a/<token>` shows to the browser `person` (None: a new one); LinkRefused
    when the link does not open."""
    claim = verify(token, LinkKind.ack, now=now)
    delivery, _, notice = await _standing(session, claim)
    return await _page(session, delivery, notice, person)


async def confirm_by_link(
    *,
    session: AsyncSession,
    token: str,
    person: str | None,
    check: str | None,
    name: str,
    now: datetime,
) -> tuple[AckPage, bool]:
    """Record that the browser `person` (from its signed cookie; named `name`, perhaps
    "") saw the notice; True if new. `check` must be the page's (`page_check` of this
    link and this browser), else LinkRefused("stale"): a POST from another site, or
    without the cookie, records nothing. The caller commits."""
    claim = verify(token, LinkKind.ack, now=now)
    delivery, channel, notice = await _standing(session, claim)
    if person is None or not is_page_check(check, token, person):
        raise LinkRefused("stale", "the page's check is missing or wrong")
    ack, created = await record_ack(
        session=session,
        delivery_id=delivery.id or 0,
        person_ref=person_ref(person),
        person_name=clean_name(name),
        method="link",
    )
    if created:
        await audit.record(
            session=session,
            actor=f"link:{person}"[:100],
            action="ack.link",
            subject=f"notice:{ack.notice_id}",
            channel_id=channel.id,
            delivery_id=delivery.id,
            person_name=ack.person_name,
        )
    page = await _page(session, delivery, notice, person)
    return page, created


def thanks(page: AckPage, created: bool) -> tuple[str, str]:
    """The title and text after a press: thanks, or that it was recorded already."""
    t = translations(page.texts.lang)
    if created:
        return (
            t.gettext("Thank you for confirming!"),
            t.gettext("The ward now knows you have received this notice."),
        )
    at = page.acknowledged_at
    when = local_time(at) if at is not None else ""
    return (
        t.gettext("Already confirmed"),
        t.gettext("You confirmed this notice at {time}. Thank you!").format(time=when),
    )


def refusal(exc: LinkRefused, *, locale: str = "vi", lifetime_days: float = 7) -> Refusal:
    """The page for a link that does not open: 404 (not Loa's, or tampered), 410 (too
    old, or its notice withdrawn), 403 (a press without the page's check)."""
    t = translations(locale)
    if exc.reason == "stale":
        return stale_page(locale)
    if exc.reason == "expired":
        return Refusal(
            410,
            locale,
            t.gettext("This link has expired"),
            t.gettext(
                "Confirmation links work for {days} days after the notice is sent. "
                "Please tell your group leader that you have received it."
            ).format(days=f"{lifetime_days:g}"),
        )
    if exc.reason == "withdrawn":
        return Refusal(
            410,
            locale,
            t.gettext("This notice no longer needs confirming"),
            t.gettext(
                "The ward has recalled this notice, or your group no longer receives "
                "notices. There is nothing more to do."
            ),
        )
    return Refusal(
        404,
        locale,
        t.gettext("This link is not right"),
        t.gettext(
            "Part of the link may be missing or changed. Please open it again from "
            "the ward's message."
        ),
    )


def stale_page(locale: str = "vi") -> Refusal:
    """A POST without the page's check (an old page, blocked cookies, another site)."""
    t = translations(locale)
    return Refusal(
        403,
        locale,
        t.gettext("Not confirmed yet"),
        t.gettext(
            "This page is out of date, or the browser blocks cookies. Please open the "
            "link again from the ward's message and press the button once more."
        ),
    )


def missing_file(locale: str = "vi") -> Refusal:
    t = translations(locale)
    return Refusal(
        404,
        locale,
        t.gettext("This file cannot be opened"),
        t.gettext(
            "The download link is not right, has expired, or the notice was recalled. "
            "Please open it again from the ward's latest message."
        ),
    )


async def open_download(
    *, session: AsyncSession, token: str, store: Path, now: datetime
) -> Download:
    """The file `/f/<token>` names, from Loa's store; LinkRefused when it does not open."""
    claim = verify(token, LinkKind.file, now=now)
    delivery, _, _ = await _standing(session, claim)
    attachment = await session.get(Attachment, claim.attachment_id)
    if attachment is None or attachment.notice_id != delivery.notice_id:
        raise LinkRefused("invalid", "no such file in this notice")
    path = (store / attachment.storage_key).resolve()
    if not path.is_file() or store.resolve() not in path.parents:
        raise LinkRefused("invalid", "the file is not in the store")
    return Download(path=path, file_name=attachment.file_name, mime_type=attachment.mime_type)
