"""A CAP 1.2 alert from upstream (the city's disaster office, a weather service) becomes a
notice for review: a draft, through the API's intake (`broadcasts.intake.take_notice`).

The alert is read safely and checked against the schema (`broadcasts.cap.schema`); Loa
takes `Actual`, `Public` alerts of type `Alert` or `Update` (a `Cancel` is recalled in
Loa, by the official). Each `info` is one language: its headline, description and
instruction (each once, in that order) become that language's rendition, exactly as the
upstream wrote it; Vietnamese is required, as for every notice. Areas are read from each
`area`: the geocode `loa-area` (a Loa area code, as Loa's own export writes it) first,
else `areaDesc` matched against the names in the ward's tree, ignoring accents and case
(«To dan pho 1, Khu pho 1» is Tổ dân phố 1 of Khu phố 1). An area that matches nothing,
or more than one, refuses the whole alert, naming it; nothing is stored then. The same
alert (sender and identifier) is taken once. A city key names the ward (`ward_code`),
unless every area is a `loa-area` geocode of one ward.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.ai import AISettings
from broadcasts.areas import normalize_code, subtree_condition
from broadcasts.cap.alert import GEOCODE
from broadcasts.cap.schema import check, parse, tag
from broadcasts.errors import Conflict, InvalidInput
from broadcasts.intake import Intake, NoticeRequest, resolve_ward, take_notice
from broadcasts.models import Area, Notice
from broadcasts.notices import RenditionInput, save_renditions
from broadcasts.tenancy import Tenant, ward_of

SOURCE = "cap"  # a rendition's source: the upstream's own words
# The AI step's warnings that still hold for the upstream's text (the others are about
# a summary Loa does not use).
_KEPT_WARNINGS = {"private_id_number", "private_phone", "weekday_mismatch", "past_date"}
_URGENT_SEVERITY = {"Extreme", "Severe"}


@dataclass(frozen=True, slots=True)
class AreaRef:
    desc: str
    codes: tuple[str, ...] = ()  # from geocodes named `loa-area`


@dataclass(slots=True)
class UpstreamAlert:
    sender: str
    identifier: str
    msg_type: str
    status: str
    scope: str
    texts: dict[str, str] = field(default_factory=dict)  # locale → rendition text
    areas: list[AreaRef] = field(default_factory=list)
    urgent: bool = False


def _child(element: Element, name: str) -> str:
    found = element.find(tag(name))
    return (found.text or "").strip() if found is not None else ""


def locale_of(language: str) -> str:
    """A CAP language tag (RFC 3066, «vi-VN») as a Loa locale («vi»)."""
    return language.split("-")[0].strip().lower() or "en"


def _info_text(info: Element) -> str:
    """Headline, description, instruction; one already inside the description (as in
    Loa's own export) is not repeated."""
    description = _child(info, "description")
    headline, instruction = _child(info, "headline"), _child(info, "instruction")
    parts = [
        headline if headline not in description else "",
        description,
        instruction if instruction not in description else "",
    ]
    return "\n\n".join(p for p in parts if p)


def read_alert(data: bytes) -> UpstreamAlert:
    """The alert in `data`, safely parsed and valid, as far as Loa reads it."""
    root = check(parse(data))
    alert = UpstreamAlert(
        sender=_child(root, "sender"),
        identifier=_child(root, "identifier"),
        msg_type=_child(root, "msgType"),
        status=_child(root, "status"),
        scope=_child(root, "scope"),
    )
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for info in root.findall(tag("info")):
        # The schema's default language is en-US.
        locale = locale_of(_child(info, "language") or "en-US")
        if locale in alert.texts:
            raise InvalidInput(
                f"the alert has two info blocks in {locale}: Loa takes one per language",
                field="info",
            )
        text = _info_text(info)
        if not text:
            raise InvalidInput(f"the {locale} info has no headline or description", field="info")
        alert.texts[locale] = text
        alert.urgent |= _child(info, "urgency") == "Immediate"
        alert.urgent |= _child(info, "severity") in _URGENT_SEVERITY
        for area in info.findall(tag("area")):
            codes = tuple(
                normalize_code(_child(code, "value"))
                for code in area.findall(tag("geocode"))
                if _child(code, "valueName") == GEOCODE and _child(code, "value")
            )
            ref = AreaRef(desc=_child(area, "areaDesc"), codes=codes)
            if (ref.desc, ref.codes) not in seen:
                seen.add((ref.desc, ref.codes))
                alert.areas.append(ref)
    return alert


def _check_kind(alert: UpstreamAlert) -> None:
    if alert.status != "Actual":
        raise InvalidInput(
            f"Loa takes Actual alerts only (this one is {alert.status})", field="status"
        )
    if alert.msg_type not in ("Alert", "Update"):
        raise InvalidInput(
            f"Loa takes Alert and Update messages only (this one is {alert.msg_type}); "
            "recall the notice in Loa instead",
            field="msgType",
        )
    if alert.scope != "Public":
        raise InvalidInput(
            f"Loa takes Public alerts only (this one is {alert.scope})", field="scope"
        )
    if "vi" not in alert.texts:
        raise InvalidInput(
            "the alert has no info in Vietnamese (language vi or vi-VN)", field="info"
        )
    if not alert.areas:
        raise InvalidInput("the alert names no area", field="area")


def name_key(name: str) -> str:
    """A name for matching: no accents (đ is d), case folded, spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _matches(area: Area, parts: Sequence[str], by_code: dict[str, Area]) -> bool:
    """Whether `parts` («Tổ dân phố 1», «Khu phố 1», ...) name `area`, then some of its
    parents in order upwards."""
    if name_key(area.name) != parts[0]:
        return False
    parents = [by_code[c] for c in reversed(area.path.strip("/").split("/")[:-1]) if c in by_code]
    keys = iter(name_key(p.name) for p in parents)
    return all(any(key == part for key in keys) for part in parts[1:])


async def map_areas(*, session: AsyncSession, ward: Area, refs: Sequence[AreaRef]) -> list[str]:
    """The codes of the ward's areas the alert names; `InvalidInput` names the others."""
    tree = list(await session.scalars(select(Area).where(subtree_condition(ward.path))))
    by_code = {a.code: a for a in tree}
    codes: set[str] = set()
    unknown: list[str] = []
    ambiguous: list[str] = []
    for ref in refs:
        if ref.codes:
            missing = [c for c in ref.codes if c not in by_code]
            unknown += missing
            codes.update(c for c in ref.codes if c in by_code)
            continue
        parts = [name_key(p) for p in ref.desc.split(",") if p.strip()]
        found = [a for a in tree if parts and _matches(a, parts, by_code)]
        if len(found) == 1:
            codes.add(found[0].code)
        elif found:
            ambiguous.append(ref.desc)
        else:
            unknown.append(ref.desc)
    if unknown or ambiguous:
        said = []
        if unknown:
            said.append(f"not found in ward {ward.code}: {', '.join(unknown)}")
        if ambiguous:
            said.append(f"more than one area has this name: {', '.join(ambiguous)}")
        raise InvalidInput(
            "areas of the alert " + "; ".join(said) + " (use the geocode loa-area with the "
            "area's code, or name its khu phố after a comma)",
            field="area",
            unknown=unknown,
            ambiguous=ambiguous,
        )
    return sorted(codes)


async def _ward_of_geocodes(session: AsyncSession, refs: Sequence[AreaRef]) -> str | None:
    """For a city key that names no ward: the one ward every `loa-area` geocode lies in
    (as in an alert Loa exported), else None (and the key must name the ward)."""
    codes = sorted({c for ref in refs for c in ref.codes})
    if not codes or any(not ref.codes for ref in refs):
        return None
    wards = set()
    for area in await session.scalars(select(Area).where(col(Area.code).in_(codes))):
        ward = await ward_of(session=session, area=area)
        wards.add(ward.code if ward is not None else None)
    return wards.pop() if len(wards) == 1 else None


def cap_ref(alert: UpstreamAlert) -> str:
    return f"{alert.sender},{alert.identifier}"[:500]


async def import_alert(
    *,
    session: AsyncSession,
    within: Tenant,
    data: bytes,
    ai: AISettings,
    actor: str,
    ward_code: str | None = None,
    official_id: int | None = None,
) -> Intake:
    """A draft notice from the CAP alert in `data`, for the official (or an admin) to
    review and confirm; everything is checked before anything is stored."""
    alert = read_alert(data)
    _check_kind(alert)
    ref = cap_ref(alert)
    taken = await session.scalar(select(col(Notice.id)).where(col(Notice.cap_ref) == ref))
    if taken is not None:
        raise Conflict(
            f"this alert ({alert.identifier} from {alert.sender}) is already notice {taken}",
            notice=taken,
        )
    if ward_code is None and within.is_city:
        ward_code = await _ward_of_geocodes(session, alert.areas)
    ward = await resolve_ward(session=session, within=within, code=ward_code)
    targets = await map_areas(session=session, ward=ward, refs=alert.areas)
    locales = ["vi", *sorted(loc for loc in alert.texts if loc != "vi")]
    intake = await take_notice(
        session=session,
        within=within,
        request=NoticeRequest(
            text=alert.texts["vi"],
            targets=targets,
            urgent=alert.urgent,
            locales=locales,
            official_id=official_id,
            ward_code=ward.code,
        ),
        ai=ai,
        actor=actor,
    )
    notice_id = intake.notice.id or 0
    await save_renditions(
        session=session,
        notice_id=notice_id,
        renditions=[
            RenditionInput(locale=loc, text=alert.texts[loc], source=SOURCE) for loc in locales
        ],
    )
    intake.notice.cap_ref = ref
    session.add(intake.notice)
    await session.flush()
    intake.unchecked = []
    if intake.preparation is not None:
        intake.preparation.warnings = [
            w for w in intake.preparation.warnings if w.code in _KEPT_WARNINGS
        ]
    return intake
