"""A ward's public notices as an Atom feed (RFC 4287), each entry linking its CAP alert.

Public means sent and not recalled: a notice that is going out or has gone out, never a
draft, a scheduled one, a cancelled one or a recalled one. Alert aggregators poll such a
feed without a key, so it says nothing the groups have not already read. The links are
absolute, built from the URL the feed was asked at (`base_url`), which behind nginx is
the public one (see deploy/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, SubElement, tostring

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.areas import get_ward_by_code
from broadcasts.cap.alert import first_sent, xml_text
from broadcasts.cap.schema import MEDIA_TYPE
from broadcasts.errors import NotFound
from broadcasts.i18n import translations
from broadcasts.models import Area, Notice, NoticeStatus, utcnow

ATOM = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"
_PUBLIC = (NoticeStatus.dispatching, NoticeStatus.done)


def _atom(name: str) -> str:
    # Plain names under a default xmlns (set on the root): ElementTree's
    # `default_namespace` refuses the unqualified attributes Atom uses (rel, href).
    return name


def _text(parent: Element, name: str, value: str) -> Element:
    child = SubElement(parent, _atom(name))
    child.text = xml_text(value)
    return child


def _time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _public(ward_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        col(Notice.ward_id) == ward_id,
        col(Notice.status).in_(_PUBLIC),
        col(Notice.dispatched_at).is_not(None),
        col(Notice.recalled_at).is_(None),
    )


async def public_ward(*, session: AsyncSession, code: str) -> Area:
    return await get_ward_by_code(session=session, code=code)


async def public_notices(*, session: AsyncSession, ward: Area, limit: int) -> list[Notice]:
    """The ward's sent, not recalled notices, newest first."""
    rows = await session.scalars(
        select(Notice)
        .where(*_public(ward.id or 0))
        .order_by(col(Notice.dispatched_at).desc(), col(Notice.id).desc())
        .limit(limit)
    )
    return list(rows)


async def public_notice(*, session: AsyncSession, ward: Area, notice_id: int) -> Notice:
    """One public notice of the ward; any other is not found."""
    notice = await session.scalar(
        select(Notice).where(col(Notice.id) == notice_id, *_public(ward.id or 0))
    )
    if notice is None:
        raise NotFound(f"notice {notice_id} is not in the public feed of ward {ward.code}")
    return notice


def build_feed(
    *,
    ward: Area,
    notices: Sequence[Notice],
    feed_url: str,
    alert_url: str,
) -> bytes:
    """The Atom feed; `alert_url` holds «{id}» where each notice's id goes."""
    catalog = translations("vi")
    feed = Element(_atom("feed"), xmlns=ATOM)
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "vi")
    _text(feed, "id", feed_url)
    _text(feed, "title", catalog.gettext("Notices of {ward}").format(ward=ward.name))
    newest = max((n.corrected_at or first_sent(n) for n in notices), default=utcnow())
    _text(feed, "updated", _time(newest))
    author = SubElement(feed, _atom("author"))
    _text(author, "name", ward.name)
    link = SubElement(feed, _atom("link"))
    link.set("rel", "self")
    link.set("href", feed_url)
    link.set("type", ATOM_MEDIA_TYPE)
    for notice in notices:
        href = alert_url.format(id=notice.id)
        entry = SubElement(feed, _atom("entry"))
        _text(entry, "id", href)
        _text(entry, "title", notice.title or catalog.gettext("Ward notice"))
        _text(entry, "published", _time(first_sent(notice)))
        _text(entry, "updated", _time(notice.corrected_at or first_sent(notice)))
        _text(entry, "summary", notice.title or notice.text[:200])
        alternate = SubElement(entry, _atom("link"))
        alternate.set("rel", "alternate")
        alternate.set("type", MEDIA_TYPE)
        alternate.set("href", href)
    data: bytes = tostring(feed, encoding="utf-8", xml_declaration=True)
    return data
