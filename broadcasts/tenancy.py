"""Wards as tenants: what one API key may see.

A city key (no ward) sees everything. A ward key sees its ward's subtree only: the
ward's areas and what hangs off them (channels, officials, notices, acknowledgements,
audit events, keys of that ward). Everything else is *not found*, exactly as if it did not
exist, so that a ward cannot learn about another ward's rows by probing ids or codes.

`Tenant` carries the ward (id, code, path) and the ids of every area in its subtree; the
domain's list and lookup functions take it as `within=` and filter with it, so routes do
not repeat the checks. `CITY` is the tenant that sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from broadcasts.errors import NotFound
from broadcasts.models import Area, AreaLevel


@dataclass(frozen=True, slots=True)
class Tenant:
    """The part of the tree a caller sees: all of it (`ward_id` None) or one ward's subtree."""

    ward_id: int | None = None
    ward_code: str | None = None
    ward_path: str | None = None
    area_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_city(self) -> bool:
        return self.ward_id is None

    def covers_path(self, path: str) -> bool:
        return self.ward_path is None or path.startswith(self.ward_path)

    def covers_area(self, area: Area) -> bool:
        return self.covers_path(area.path)

    def covers_area_id(self, area_id: int | None) -> bool:
        return self.is_city or (area_id is not None and area_id in self.area_ids)

    def covers_ward_id(self, ward_id: int | None) -> bool:
        """For rows tied to a ward (notices, officials, keys, audit events)."""
        return self.is_city or ward_id == self.ward_id

    def area_condition(self) -> ColumnElement[bool]:
        """A WHERE clause on `Area` keeping the subtree (a no-op for the city)."""
        if self.ward_path is None:
            return true()
        return col(Area.path).startswith(self.ward_path, autoescape=True)

    def ward_condition(self, column: int | None) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose ward column (e.g. `Notice.ward_id`) is this
        ward's."""
        if self.ward_id is None:
            return true()
        return col(column) == self.ward_id


CITY = Tenant()


async def tenant_for_ward(*, session: AsyncSession, ward_id: int | None) -> Tenant:
    """The tenant of a key tied to `ward_id` (None: the city)."""
    if ward_id is None:
        return CITY
    ward = await session.get(Area, ward_id)
    if ward is None:  # an area is never deleted; a key pointing nowhere sees nothing
        return Tenant(ward_id=ward_id, ward_code="", ward_path="\x00/")
    ids = await session.scalars(
        select(col(Area.id)).where(col(Area.path).startswith(ward.path, autoescape=True))
    )
    return Tenant(
        ward_id=ward.id,
        ward_code=ward.code,
        ward_path=ward.path,
        area_ids=frozenset(i for i in ids if i is not None),
    )


def not_found_outside(tenant: Tenant, area: Area, *, what: str | None = None) -> Area:
    """The area if the tenant covers it; else the same NotFound as an unknown code."""
    if not tenant.covers_area(area):
        raise NotFound(what or f"area '{area.code}' does not exist", code=area.code)
    return area


async def ward_of(*, session: AsyncSession, area: Area) -> Area | None:
    """The ward an area lies in (the area itself if it is a ward); None above ward level."""
    if area.level == AreaLevel.ward:
        return area
    codes = area.path.rstrip("/").split("/")
    return await session.scalar(
        select(Area).where(col(Area.code).in_(codes), col(Area.level) == AreaLevel.ward)
    )


async def ward_id_of(*, session: AsyncSession, area: Area) -> int | None:
    """The id of the ward an area lies in, for the audit log; None above ward level."""
    ward = await ward_of(session=session, area=area)
    return ward.id if ward is not None else None
