"""The administrative tree: city → ward → khu phố / ấp → tổ dân phố.

Every area keeps a materialised `path` of codes ("HCM/BT/BT-KP3/"), so a subtree is one
indexed prefix query. Codes are stable and upper-case; names and the local word for the
level (`kind`) are editable. A ward's whole tree comes in as one CSV file, see
`broadcasts.area_import`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Protocol

from pydantic import ConfigDict, JsonValue, field_validator
from sqlalchemy import ColumnElement, String, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from broadcasts.bounds import DbId
from broadcasts.errors import Conflict, InvalidInput, NotFound
from broadcasts.models import LEVEL_ORDER, Area, AreaLevel, utcnow
from broadcasts.tenancy import CITY, Tenant

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9.\-]{0,63}$"
_AREA_EXAMPLE: dict[str, JsonValue] = {
    "code": "BT-KP3",
    "name": "Khu phố 3",
    "kind": "khu phố",
    "level": "neighbourhood",
    "parent_code": "BT",
}


def normalize_code(code: str) -> str:
    return code.strip().upper()


def clean_text(value: str) -> str:
    # Files saved on a Mac may carry decomposed Vietnamese letters; store one form.
    return unicodedata.normalize("NFC", value).strip()


def natural_key(code: str) -> tuple[int | str, ...]:
    """Sort "KP2" before "KP10"."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code))


def level_rank(level: AreaLevel) -> int:
    return LEVEL_ORDER.index(level)


def subtree_condition(path: str) -> ColumnElement[bool]:
    # autoescape: a "_" or "%" in a path must not act as a LIKE wildcard.
    return col(Area.path).startswith(path, autoescape=True)


CONTACT_REF_PATTERN = r"^[A-Za-z0-9_:.\-]{1,64}$"
_CONTACT_NAME = "the area's contact person (the khu phố head), told at a notice's deadline"
_CONTACT_REF = (
    "the contact's user id on the bot (Telegram: the numeric user id); they are told in a "
    "private chat once they have started the bot"
)


class AreaBase(SQLModel):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(default="", max_length=40)
    level: AreaLevel
    contact_name: str = Field(default="", max_length=200, description=_CONTACT_NAME)
    contact_ref: str | None = Field(default=None, max_length=64, description=_CONTACT_REF)


def _contact_ref(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if value and not re.match(CONTACT_REF_PATTERN, value):
        raise ValueError("a user id: letters, digits, '_', ':', '.' or '-', 1 to 64 of them")
    return value


class AreaCreate(AreaBase):
    """A new area under `parent_code` (or `parent_id`); no parent makes a root."""

    model_config = ConfigDict(json_schema_extra={"examples": [_AREA_EXAMPLE]})  # type: ignore[assignment]

    code: str = Field(
        min_length=1, max_length=64, schema_extra={"json_schema_extra": {"pattern": CODE_PATTERN}}
    )
    name: str = Field(min_length=1, max_length=200)
    parent_code: str | None = Field(default=None, max_length=64)
    parent_id: DbId | None = None

    @field_validator("code", "parent_code", mode="before")
    @classmethod
    def _upper_code(cls, value: object) -> object:
        return normalize_code(value) if isinstance(value, str) else value

    @field_validator("code")
    @classmethod
    def _code_shape(cls, value: str) -> str:
        if not re.match(CODE_PATTERN, value):
            raise ValueError(
                "use only letters A-Z, digits, '.' and '-', starting with a letter or digit"
            )
        return value

    @field_validator("name", "kind", "contact_name", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("contact_ref")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        return _contact_ref(value) or None


class AreaUpdate(SQLModel):
    """Rename, change the local word or level, or move under another parent."""

    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {"name": "Khu phố 3 (mới)"},
                {"parent_code": "BT"},
                {"contact_name": "Ông Nguyễn Văn Năm", "contact_ref": "5550123"},
            ]
        }
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, max_length=40)
    level: AreaLevel | None = None
    parent_code: str | None = Field(default=None, min_length=1, max_length=64)
    contact_name: str | None = Field(default=None, max_length=200, description=_CONTACT_NAME)
    contact_ref: str | None = Field(
        default=None, max_length=64, description=_CONTACT_REF + ' ("" removes it)'
    )

    @field_validator("name", "kind", "contact_name", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("contact_ref")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        return _contact_ref(value)


class AreaPublic(AreaBase):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [{**_AREA_EXAMPLE, "id": 5, "parent_id": 2, "path": "HCM/BT/BT-KP3/"}]
        }
    )

    id: int
    parent_id: int | None
    parent_code: str | None = None
    path: str


class AreaNode(SQLModel):
    """One area and the areas below it, for pickers and `GET /areas/tree`."""

    id: int
    code: str
    name: str
    kind: str
    level: AreaLevel
    children: list[AreaNode] = Field(default_factory=list)


class _HasPath(Protocol):
    @property
    def path(self) -> str: ...


def parent_code_of(area: _HasPath) -> str | None:
    parts = area.path.rstrip("/").split("/")
    return parts[-2] if len(parts) > 1 else None


def to_public(area: Area) -> AreaPublic:
    return AreaPublic(
        id=area.id or 0,
        code=area.code,
        name=area.name,
        kind=area.kind,
        level=area.level,
        contact_name=area.contact_name,
        contact_ref=area.contact_ref,
        parent_id=area.parent_id,
        parent_code=parent_code_of(area),
        path=area.path,
    )


async def get_area(*, session: AsyncSession, area_id: int) -> Area:
    area = await session.get(Area, area_id)
    if area is None:
        raise NotFound(f"area {area_id} does not exist", area_id=area_id)
    return area


async def get_area_by_code(*, session: AsyncSession, code: str, within: Tenant = CITY) -> Area:
    """The area; one outside `within` is not found, exactly like an unknown code."""
    code = normalize_code(code)
    area = await session.scalar(select(Area).where(col(Area.code) == code))
    if area is None or not within.covers_area(area):
        raise NotFound(f"area '{code}' does not exist", code=code)
    return area


async def get_ward_by_code(*, session: AsyncSession, code: str, within: Tenant = CITY) -> Area:
    """The ward `code` names, seen from `within` (NotFound outside, InvalidInput if the
    area is not a ward)."""
    area = await get_area_by_code(session=session, code=code, within=within)
    if area.level != AreaLevel.ward:
        raise InvalidInput(f"'{area.code}' is a {area.level.value}, not a ward", field="ward")
    return area


def _check_depth(*, level: AreaLevel, parent: Area) -> None:
    if level_rank(level) <= level_rank(parent.level):
        raise InvalidInput(
            f"level '{level.value}' must be below the parent's level "
            f"'{parent.level.value}' ({parent.code})",
            field="level",
        )


async def create_area(*, session: AsyncSession, data: AreaCreate, within: Tenant = CITY) -> Area:
    """A new area; a ward may only add areas below its own (a parent outside it does not
    exist for it)."""
    if not within.is_city and data.parent_code is None and data.parent_id is None:
        raise InvalidInput("an area of a ward needs a parent inside the ward", field="parent_code")
    if await session.scalar(select(col(Area.id)).where(col(Area.code) == data.code)) is not None:
        raise Conflict(f"area code '{data.code}' already exists", code=data.code)
    parent: Area | None = None
    if data.parent_code is not None:
        parent = await session.scalar(
            select(Area).where(col(Area.code) == normalize_code(data.parent_code))
        )
        if parent is None or not within.covers_area(parent):
            raise InvalidInput(
                f"parent area '{data.parent_code}' does not exist", field="parent_code"
            )
        if data.parent_id is not None and data.parent_id != parent.id:
            raise InvalidInput("parent_code and parent_id name different areas", field="parent_id")
    elif data.parent_id is not None:
        parent = await session.get(Area, data.parent_id)
        if parent is None or not within.covers_area(parent):
            raise InvalidInput(f"parent area {data.parent_id} does not exist", field="parent_id")
    if parent is not None:
        _check_depth(level=data.level, parent=parent)
    area = Area(
        code=data.code,
        name=data.name,
        kind=data.kind,
        level=data.level,
        contact_name=data.contact_name,
        contact_ref=data.contact_ref,
        parent_id=parent.id if parent else None,
        path=(parent.path if parent else "") + data.code + "/",
    )
    session.add(area)
    await session.flush()
    return area


async def update_area(
    *, session: AsyncSession, code: str, data: AreaUpdate, within: Tenant = CITY
) -> Area:
    """Apply the given fields; moving an area rewrites the paths of its whole subtree.

    Seen from a ward, areas outside it do not exist (neither the area nor a new parent),
    and the ward itself keeps its level and place: it is what the ward's keys are tied to.
    """
    area = await get_area_by_code(session=session, code=code, within=within)
    parent = await session.get(Area, area.parent_id) if area.parent_id else None
    moving = data.parent_code is not None and normalize_code(data.parent_code) != (
        parent.code if parent else None
    )
    if area.id == within.ward_id and (moving or (data.level not in (None, area.level))):
        raise InvalidInput(
            "a ward's own key cannot move its ward or change its level", field="parent_code"
        )
    if moving:
        assert data.parent_code is not None
        parent = await get_area_by_code(session=session, code=data.parent_code, within=within)
        if parent.path.startswith(area.path):
            raise InvalidInput(
                f"cannot move '{area.code}' under '{parent.code}', which lies inside it",
                field="parent_code",
            )
        await _move(session=session, area=area, parent=parent)
    level = data.level or area.level
    if parent is not None:
        _check_depth(level=level, parent=parent)
    if data.level is not None and data.level != area.level:
        await _check_children_deeper(session=session, area=area, level=data.level)
        area.level = data.level
    if data.name is not None:
        area.name = data.name
    if data.kind is not None:
        area.kind = data.kind
    if data.contact_name is not None:
        area.contact_name = data.contact_name
    if data.contact_ref is not None:
        area.contact_ref = data.contact_ref or None  # "" removes the contact
    area.updated_at = utcnow()
    session.add(area)
    await session.flush()
    return area


async def _check_children_deeper(*, session: AsyncSession, area: Area, level: AreaLevel) -> None:
    query = select(col(Area.level)).where(col(Area.parent_id) == area.id)
    levels = set(await session.scalars(query))
    shallow = [lv.value for lv in levels if level_rank(lv) <= level_rank(level)]
    if shallow:
        raise InvalidInput(
            f"'{area.code}' cannot become '{level.value}': it has children at level "
            f"{', '.join(sorted(shallow))}",
            field="level",
        )


async def _move(*, session: AsyncSession, area: Area, parent: Area) -> None:
    old, new = area.path, parent.path + area.code + "/"
    await session.execute(
        update(Area)
        .where(subtree_condition(old))
        .values(
            path=literal(new, String) + func.substr(Area.path, len(old) + 1), updated_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    )
    area.parent_id = parent.id
    # Refresh every loaded area of the subtree so nobody reads a stale path.
    await session.execute(
        select(Area).where(subtree_condition(new)).execution_options(populate_existing=True)
    )


async def list_areas(
    *,
    session: AsyncSession,
    root_code: str | None = None,
    level: AreaLevel | None = None,
    offset: int = 0,
    limit: int = 100,
    within: Tenant = CITY,
) -> tuple[list[Area], int]:
    """Areas in tree order (by path), optionally only a subtree or one level."""
    query = select(Area).where(within.area_condition())
    if root_code:
        root = await get_area_by_code(session=session, code=root_code, within=within)
        query = query.where(subtree_condition(root.path))
    if level is not None:
        query = query.where(col(Area.level) == level)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(col(Area.path)).offset(offset).limit(limit))
    return list(rows), total or 0


async def area_tree(
    *, session: AsyncSession, root_code: str | None, within: Tenant = CITY
) -> list[AreaNode]:
    """The tree below `root_code` as `[root]`, or every root's tree when None (for a
    ward: its own tree).

    Children are in natural code order (KP2 before KP10).
    """
    if root_code is None and within.ward_code is not None:
        root_code = within.ward_code
    query = select(
        col(Area.id),
        col(Area.code),
        col(Area.name),
        col(Area.kind),
        col(Area.level),
        col(Area.parent_id),
    )
    if root_code:
        root = await get_area_by_code(session=session, code=root_code, within=within)
        query = query.where(subtree_condition(root.path))
    rows = (await session.execute(query)).all()
    nodes = {
        row.id: AreaNode(id=row.id, code=row.code, name=row.name, kind=row.kind, level=row.level)
        for row in rows
    }
    roots: list[AreaNode] = []
    for row in rows:
        parent = nodes.get(row.parent_id) if row.parent_id is not None else None
        (parent.children if parent is not None else roots).append(nodes[row.id])
    for node in nodes.values():
        node.children.sort(key=lambda n: natural_key(n.code))
    roots.sort(key=lambda n: natural_key(n.code))
    return roots


async def subtree_paths(*, session: AsyncSession, area_ids: Iterable[int]) -> list[str]:
    """The distinct subtree roots among `area_ids` (an area inside another is dropped)."""
    ids = set(area_ids)
    if not ids:
        return []
    paths = sorted(set(await session.scalars(select(col(Area.path)).where(col(Area.id).in_(ids)))))
    kept: list[str] = []
    for path in paths:  # sorted: an ancestor comes before everything inside it
        if not kept or not path.startswith(kept[-1]):
            kept.append(path)
    return kept


async def subtree_ids(*, session: AsyncSession, area_ids: list[int]) -> set[int]:
    """The given areas and every area below them; unknown ids are ignored."""
    paths = await subtree_paths(session=session, area_ids=area_ids)
    if not paths:
        return set()
    rows = await session.scalars(
        select(col(Area.id)).where(or_(*(subtree_condition(p) for p in paths)))
    )
    return {i for i in rows if i is not None}
