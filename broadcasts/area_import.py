"""A ward's area tree from one CSV file: every row is checked first, and one bad row
writes nothing.

Rows are `code,name,level,parent_code,kind`; the level may be the English level name or
the local word ("khu phố", "ấp", "tổ dân phố"), which then becomes the `kind` when the
row gives none.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import ConfigDict, ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from broadcasts.areas import (
    AreaCreate,
    clean_text,
    get_area_by_code,
    level_rank,
    normalize_code,
    parent_code_of,
)
from broadcasts.errors import ImportRejected
from broadcasts.models import LEVEL_ORDER, Area, AreaLevel, utcnow

CSV_COLUMNS = ("code", "name", "level", "parent_code", "kind")
_REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")
MAX_REPORTED_ERRORS = 200
# The local words admins write in the level column, and the level each one means.
_LEVEL_WORDS = {
    "thành phố": AreaLevel.city,
    "tỉnh": AreaLevel.city,
    "phường": AreaLevel.ward,
    "xã": AreaLevel.ward,
    "đặc khu": AreaLevel.ward,
    "khu phố": AreaLevel.neighbourhood,
    "ấp": AreaLevel.neighbourhood,
    "thôn": AreaLevel.neighbourhood,
    "tổ dân phố": AreaLevel.group,
    "tổ nhân dân": AreaLevel.group,
    "tổ": AreaLevel.group,
}


class ImportResult(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={"examples": [{"created": 12, "updated": 2, "unchanged": 40}]}
    )

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class _Row:
    line: int
    data: AreaCreate


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _decode(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRejected(
                "the file is not UTF-8 text; save it as 'CSV UTF-8'",
                errors=[{"line": 0, "error": f"not UTF-8 (byte {exc.start})"}],
            ) from exc
    if "\x00" in data:  # no database stores it in text; a CSV never needs it
        line = data.count("\n", 0, data.index("\x00")) + 1
        raise ImportRejected(
            "the file contains a NUL character; save it as 'CSV UTF-8'",
            errors=[{"line": line, "error": "NUL character"}],
        )
    return data.removeprefix("\ufeff")


def _parse_level(value: str) -> tuple[AreaLevel | str, str]:
    """The level, and the local word to use as `kind` when the file gave one."""
    word = clean_text(value).lower()
    if word in AreaLevel.__members__:
        return AreaLevel(word), ""
    if word in _LEVEL_WORDS:
        return _LEVEL_WORDS[word], word
    return value, ""


def _read_rows(text: str) -> tuple[list[_Row], list[dict[str, object]]]:
    """Parse and check each row on its own: columns, code, name, level, duplicates."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    errors: list[dict[str, object]] = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in _REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ImportRejected(
                f"the header row lacks column(s) {', '.join(missing)}",
                errors=[{"line": 1, "error": "header must be: " + ",".join(CSV_COLUMNS)}],
            )
        rows: list[_Row] = []
        seen: dict[str, int] = {}
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) < len(header):
                record = record + [""] * (len(header) - len(record))
            cells = dict(zip(header, record, strict=False))
            level, word = _parse_level(cells["level"])
            try:
                data = AreaCreate.model_validate(
                    {
                        "code": cells["code"],
                        "name": cells["name"],
                        "level": level,
                        "kind": cells.get("kind", "").strip() or word,
                        "parent_code": normalize_code(cells["parent_code"]) or None,
                    }
                )
            except ValidationError as exc:
                for err in exc.errors():
                    field = ".".join(str(p) for p in err["loc"])
                    value = cells.get(field, "")
                    message = _message(err["msg"])
                    errors.append({"line": line, "error": f"{field} '{value}': {message}"})
                continue
            if data.code in seen:
                errors.append(
                    {
                        "line": line,
                        "error": f"code '{data.code}' is already on line {seen[data.code]}",
                    }
                )
                continue
            seen[data.code] = line
            rows.append(_Row(line=line, data=data))
    except csv.Error as exc:
        raise ImportRejected(
            f"the file is not valid CSV: {exc}",
            errors=[{"line": reader.line_num, "error": str(exc)}],
        ) from exc
    return rows, errors


class _Stored(NamedTuple):
    id: int
    code: str
    name: str
    kind: str
    level: AreaLevel
    path: str


async def _existing(session: AsyncSession, codes: set[str]) -> dict[str, _Stored]:
    query = select(
        col(Area.id),
        col(Area.code),
        col(Area.name),
        col(Area.kind),
        col(Area.level),
        col(Area.path),
    )
    # One query either way: many same-shaped IN queries would get PostgreSQL's generic
    # plan, which right after a big import (no statistics yet) is a sequential scan each.
    if len(codes) <= 1000:
        query = query.where(col(Area.code).in_(codes))
    rows = await session.execute(query)
    return {
        r.code: _Stored(
            id=r.id or 0, code=r.code, name=r.name, kind=r.kind, level=r.level, path=r.path
        )
        for r in rows
        if r.code in codes
    }


def _check_tree(
    rows: list[_Row], existing: dict[str, _Stored], ward: Area | None
) -> list[dict[str, object]]:
    """Parents known, levels deepening, existing areas not moved, all inside the ward."""
    errors: list[dict[str, object]] = []
    in_file = {r.data.code: r for r in rows}

    def level_of(code: str) -> AreaLevel | None:
        if code in in_file:
            return in_file[code].data.level
        return existing[code].level if code in existing else None

    for row in rows:
        data = row.data
        parent_level = level_of(data.parent_code) if data.parent_code else None
        old = existing.get(data.code)
        problem = None
        if data.parent_code == data.code:
            problem = f"'{data.code}' cannot be its own parent"
        elif data.parent_code and parent_level is None:
            problem = f"parent_code '{data.parent_code}' is neither in the file nor stored"
        elif parent_level is not None and level_rank(data.level) <= level_rank(parent_level):
            problem = (
                f"level '{data.level.value}' must be below the level of its parent "
                f"'{data.parent_code}' ({parent_level.value})"
            )
        elif old is not None and old.level != data.level:
            problem = f"'{data.code}' is stored as level '{old.level.value}', not '{data.level}'"
        elif old is not None and parent_code_of(old) != data.parent_code:
            problem = (
                f"'{data.code}' is stored under '{parent_code_of(old) or '(none)'}'; "
                "import does not move areas, update the area instead"
            )
        elif ward is not None and not _inside(data.code, ward, in_file, existing):
            problem = f"'{data.code}' is not inside the ward '{ward.code}'"
        if problem:
            errors.append({"line": row.line, "error": problem})
    return errors


def _inside(code: str, ward: Area, in_file: dict[str, _Row], existing: dict[str, _Stored]) -> bool:
    seen: set[str] = set()
    while code not in seen:
        seen.add(code)
        if code == ward.code:
            return True
        if code in existing and code not in in_file:
            return existing[code].path.startswith(ward.path)
        row = in_file.get(code)
        if row is None or row.data.parent_code is None:
            return False
        code = row.data.parent_code
    return False


async def import_areas_csv(
    *, session: AsyncSession, ward_code: str | None, data: bytes | str
) -> ImportResult:
    """Create or update areas from `code,name,level,parent_code,kind` rows.

    With `ward_code`, every row must lie inside that ward and a blank parent means the
    ward. Stored codes get their name and kind updated. Any bad row raises ImportRejected
    with `errors=[{"line", "error"}]` before anything is written.
    """
    ward = await get_area_by_code(session=session, code=ward_code) if ward_code else None
    rows, errors = _read_rows(_decode(data))
    if not rows and not errors:
        raise ImportRejected("the file has no rows", errors=[{"line": 2, "error": "no rows"}])
    if ward is not None:
        for row in rows:
            if row.data.parent_code is None:
                is_ward = row.data.code == ward.code
                row.data.parent_code = parent_code_of(ward) if is_ward else ward.code
    codes = {r.data.code for r in rows} | {r.data.parent_code for r in rows if r.data.parent_code}
    existing = await _existing(session, codes)
    errors += _check_tree(rows, existing, ward)
    if errors:
        errors.sort(key=lambda e: int(str(e["line"])))
        raise ImportRejected(
            f"{len(errors)} row(s) have errors; nothing was imported",
            errors=errors[:MAX_REPORTED_ERRORS],
        )
    return await _write(session, rows, existing)


async def _write(
    session: AsyncSession, rows: list[_Row], existing: dict[str, _Stored]
) -> ImportResult:
    # Bulk statements, not one ORM object per row: a city's tree is some 30,000 rows.
    result = ImportResult()
    paths = {code: area.path for code, area in existing.items()}
    ids: dict[str, int | None] = {code: area.id for code, area in existing.items()}
    now = utcnow()
    changed = [
        {"id": old.id, "name": r.data.name, "kind": r.data.kind, "updated_at": now}
        for r in rows
        if (old := existing.get(r.data.code)) is not None
        and (old.name, old.kind) != (r.data.name, r.data.kind)
    ]
    if changed:
        await session.execute(update(Area), changed)
    result.updated = len(changed)
    result.unchanged = sum(1 for r in rows if r.data.code in existing) - len(changed)
    # A parent's level is always above its children's: going level by level, parents exist.
    for level in LEVEL_ORDER:
        new = [
            {
                "code": d.code,
                "name": d.name,
                "kind": d.kind,
                "level": d.level,
                "parent_id": ids[d.parent_code] if d.parent_code else None,
                "path": (paths[d.parent_code] if d.parent_code else "") + d.code + "/",
                "created_at": now,
                "updated_at": now,
            }
            for d in (r.data for r in rows if r.data.level == level)
            if d.code not in existing
        ]
        for start in range(0, len(new), 5000):
            inserted = await session.execute(
                insert(Area).returning(col(Area.id), col(Area.code), col(Area.path)),
                new[start : start + 5000],
            )
            for area_id, code, path in inserted:
                ids[code], paths[code] = area_id, path
        result.created += len(new)
    return result
