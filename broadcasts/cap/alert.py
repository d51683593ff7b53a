"""A notice as a CAP 1.2 `alert`: what other alerting systems read.

One alert per notice, as it stands now: `Alert` while it has only gone out, `Update` once
corrected (`corrected_at`), `Cancel` once recalled (`recalled_at`); the last two
reference the first. A notice not sent yet is a `Draft`. Each rendition is one `info` in
its language: the text the groups receive as `description`, its title as `headline`,
its «Việc cần làm» line as `instruction`. Every target area is an `area`: its name with
its khu phố («Tổ dân phố 1, Khu phố 1») as `areaDesc`, and its code as the geocode
`loa-area`, which `broadcasts.cap.upstream` reads back first.

Loa keeps no CAP urgency, severity or certainty: an urgent notice is Immediate / Severe /
Observed, any other Expected / Minor / Likely; the category is Other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element, SubElement, tostring

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.cap.schema import NS, schema_errors, tag
from broadcasts.i18n import translations
from broadcasts.message import rendition_parts
from broadcasts.models import Area, Notice, NoticeStatus, NoticeTarget, Rendition
from broadcasts.notices import get_notice, renditions_of
from broadcasts.settings import CapSettings
from broadcasts.tenancy import CITY, Tenant
from broadcasts.timeparse import TZ

GEOCODE = "loa-area"  # the geocode valueName whose value is a Loa area code


@dataclass(frozen=True, slots=True)
class AlertArea:
    code: str
    desc: str


def cap_time(moment: datetime) -> str:
    """CAP's dateTime: seconds and an explicit offset (never «Z»), on the ward's clock."""
    if moment.tzinfo is None:  # stored as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TZ).replace(microsecond=0).isoformat()


def sender_of(ward: Area, settings: CapSettings) -> str:
    return f"{ward.code.lower()}@{settings.sender_domain}"


def identifier_of(notice: Notice, settings: CapSettings) -> str:
    """The first alert's identifier (an update's and a cancel's add a suffix)."""
    return f"{settings.sender_domain}:notice:{notice.id}"


def first_sent(notice: Notice) -> datetime:
    return notice.dispatched_at or notice.scheduled_at or notice.created_at


def _msg(notice: Notice, settings: CapSettings) -> tuple[str, str, datetime]:
    """(msgType, identifier, sent) of the alert that says where the notice stands now."""
    first = identifier_of(notice, settings)
    if notice.recalled_at is not None:
        return "Cancel", f"{first}:cancel", notice.recalled_at
    if notice.corrected_at is not None:
        stamp = cap_time(notice.corrected_at)[:19].replace("-", "").replace(":", "")
        return "Update", f"{first}:update:{stamp}", notice.corrected_at
    return "Alert", first, first_sent(notice)


def _is_actual(notice: Notice) -> bool:
    """Whether the notice has gone out (else the alert is a Draft)."""
    return notice.dispatched_at is not None and notice.status != NoticeStatus.draft


# Characters XML 1.0 cannot carry (a control character pasted into a notice).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _text(parent: Element, name: str, value: str) -> Element:
    child = SubElement(parent, tag(name))
    child.text = xml_text(value)
    return child


def _value_pair(parent: Element, name: str, value_name: str, value: str) -> None:
    pair = SubElement(parent, tag(name))
    _text(pair, "valueName", value_name)
    _text(pair, "value", value)


def _info(
    alert: Element,
    *,
    rendition: Rendition,
    notice: Notice,
    ward: Area,
    areas: Sequence[AlertArea],
    expires: datetime,
) -> None:
    catalog = translations(rendition.locale)
    title, _body, facts = rendition_parts(rendition.text)
    info = SubElement(alert, tag("info"))
    _text(info, "language", rendition.locale)
    _text(info, "category", "Other")
    _text(info, "event", catalog.gettext("Ward notice"))
    _text(info, "urgency", "Immediate" if notice.urgent else "Expected")
    _text(info, "severity", "Severe" if notice.urgent else "Minor")
    _text(info, "certainty", "Observed" if notice.urgent else "Likely")
    _text(info, "expires", cap_time(expires))
    _text(info, "senderName", ward.name)
    headline = title or notice.title
    if headline:
        _text(info, "headline", headline[:160])
    _text(info, "description", rendition.text)
    instruction = next((value for key, _label, value in facts if key == "action"), "")
    if instruction:
        _text(info, "instruction", instruction)
    for area in areas:
        block = SubElement(info, tag("area"))
        _text(block, "areaDesc", area.desc)
        _value_pair(block, "geocode", GEOCODE, area.code)


def build_alert(
    *,
    notice: Notice,
    ward: Area,
    renditions: Iterable[Rendition],
    areas: Sequence[AlertArea],
    settings: CapSettings,
) -> Element:
    """The notice's alert as an element (not yet checked against the schema)."""
    sender = sender_of(ward, settings)
    msg_type, identifier, sent = _msg(notice, settings)
    alert = Element(tag("alert"))
    _text(alert, "identifier", identifier)
    _text(alert, "sender", sender)
    _text(alert, "sent", cap_time(sent))
    _text(alert, "status", "Actual" if _is_actual(notice) else "Draft")
    _text(alert, "msgType", msg_type)
    _text(alert, "scope", "Public")
    if msg_type == "Cancel":
        catalog = translations("vi")
        _text(
            alert, "note", catalog.gettext("Notice #{id} has been recalled.").format(id=notice.id)
        )
    if msg_type != "Alert":
        first = f"{sender},{identifier_of(notice, settings)},{cap_time(first_sent(notice))}"
        _text(alert, "references", first)
    expires = notice.ack_deadline or sent + timedelta(hours=settings.expires_hours)
    for rendition in sorted(renditions, key=lambda r: (r.locale != "vi", r.locale)):
        _info(alert, rendition=rendition, notice=notice, ward=ward, areas=areas, expires=expires)
    return alert


async def target_areas(*, session: AsyncSession, notice: Notice, ward: Area) -> list[AlertArea]:
    """The notice's target areas, each named with its parents below the ward."""
    targets = list(
        await session.scalars(
            select(Area)
            .join(NoticeTarget, col(NoticeTarget.area_id) == col(Area.id))
            .where(col(NoticeTarget.notice_id) == notice.id)
        )
    )
    codes = {c for a in targets for c in a.path.strip("/").split("/")}
    names = {
        a.code: a.name
        for a in await session.scalars(select(Area).where(col(Area.code).in_(sorted(codes))))
    }
    below_ward = len(ward.path.strip("/").split("/"))
    areas = []
    for area in sorted(targets, key=lambda a: a.path):
        chain = area.path.strip("/").split("/")
        own = chain[below_ward:] or [area.code]  # the ward itself: its own name
        desc = ", ".join(names.get(code, code) for code in reversed(own))
        areas.append(AlertArea(code=area.code, desc=desc))
    return areas


def to_bytes(element: Element) -> bytes:
    data: bytes = tostring(element, encoding="utf-8", xml_declaration=True, default_namespace=NS)
    return data


async def notice_alert(
    *, session: AsyncSession, notice_id: int, settings: CapSettings, within: Tenant = CITY
) -> bytes:
    """The notice's CAP 1.2 alert, UTF-8 XML, checked against the schema."""
    notice = await get_notice(session=session, notice_id=notice_id, within=within)
    ward = await session.get(Area, notice.ward_id)
    assert ward is not None
    alert = build_alert(
        notice=notice,
        ward=ward,
        renditions=(await renditions_of(session=session, notice_id=notice_id)).values(),
        areas=await target_areas(session=session, notice=notice, ward=ward),
        settings=settings,
    )
    errors = schema_errors(alert)
    if errors:  # Loa's own bug: never hand another system a broken alert
        raise RuntimeError(f"notice {notice_id} exports as an invalid CAP alert: {errors[:3]}")
    return to_bytes(alert)
