"""The area tree: create, read, rename or move areas, and import a ward's tree as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.datastructures import UploadFile

from api.deps import AdminKey, Limit, Offset, SessionDep, actor, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.schemas import Listing
from broadcasts import audit
from broadcasts.area_import import ImportResult, import_areas_csv
from broadcasts.areas import (
    AreaCreate,
    AreaNode,
    AreaPublic,
    AreaUpdate,
    area_tree,
    create_area,
    get_area_by_code,
    list_areas,
    to_public,
    update_area,
)
from broadcasts.errors import InvalidInput
from broadcasts.models import Area, AreaLevel

MAX_CSV_BYTES = 10 * 1024 * 1024
_CSV_EXAMPLE = (
    "code,name,level,parent_code,kind\n"
    "BT-KP1,Khu phố 1,neighbourhood,BT,khu phố\n"
    "BT-KP1-T1,Tổ dân phố 1,group,BT-KP1,tổ dân phố\n"
)

router = APIRouter(
    prefix="/areas",
    tags=["areas"],
    dependencies=[Depends(require_scope("admin"))],
    responses=PROBLEM_RESPONSES,
)


async def area_by_code(code: str, session: SessionDep) -> Area:
    return await get_area_by_code(session=session, code=code)


AreaDep = Annotated[Area, Depends(area_by_code)]


@router.post("", status_code=201, summary="Create an area", responses=problem_responses(409))
async def create(body: AreaCreate, session: SessionDep, key: AdminKey) -> AreaPublic:
    area = await create_area(session=session, data=body)
    await audit.record(
        session=session,
        actor=actor(key),
        action="area.create",
        subject=f"area:{area.code}",
        parent=area.path,
    )
    return to_public(area)


@router.get("", summary="List areas in tree order", responses=problem_responses(404))
async def index(
    session: SessionDep,
    offset: Offset = 0,
    limit: Limit = 100,
    root: Annotated[str | None, Query(description="only this area and those below it")] = None,
    level: AreaLevel | None = None,
) -> Listing[AreaPublic]:
    rows, count = await list_areas(
        session=session, root_code=root, level=level, offset=offset, limit=limit
    )
    return Listing(data=[to_public(a) for a in rows], count=count)


@router.get("/tree", summary="The area tree, nested", responses=problem_responses(404))
async def tree(
    session: SessionDep,
    root: Annotated[str | None, Query(description="code of the subtree's root")] = None,
) -> Listing[AreaNode]:
    roots = await area_tree(session=session, root_code=root)
    return Listing(data=roots, count=len(roots))


def _too_large() -> HTTPException:
    return HTTPException(413, f"the CSV is larger than {MAX_CSV_BYTES // 2**20} MB")


async def _read_csv(request: Request) -> bytes:
    """The CSV from a raw `text/csv` body or from a multipart form's `file` field."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=5) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("send the CSV in a form field named 'file'", field="file")
            data = await upload.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise _too_large()
        return data
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_CSV_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/import",
    summary="Import areas from CSV",
    description=(
        "Columns `code,name,level,parent_code,kind` (UTF-8, with or without BOM; `;` also "
        "works as separator). Every row is checked first: if any is wrong, nothing is "
        "written and the answer lists each bad line. Stored codes get their name and kind "
        "updated. With `ward`, every row must lie inside that ward, and a blank "
        "`parent_code` means the ward."
    ),
    responses=problem_responses(404, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "additionalProperties": False,
                    }
                },
            },
        }
    },
)
async def import_csv(
    request: Request,
    session: SessionDep,
    key: AdminKey,
    ward: Annotated[str | None, Query(description="code of the ward the file is for")] = None,
) -> ImportResult:
    data = await _read_csv(request)
    result = await import_areas_csv(session=session, ward_code=ward, data=data)
    await audit.record(
        session=session,
        actor=actor(key),
        action="area.import",
        subject=f"area:{ward}" if ward else "",
        **result.model_dump(),
    )
    return result


@router.get("/{code}", summary="One area", responses=problem_responses(404))
async def show(area: AreaDep) -> AreaPublic:
    return to_public(area)


@router.patch(
    "/{code}",
    summary="Rename, change the level or kind, or move an area",
    responses=problem_responses(404),
)
async def patch(area: AreaDep, body: AreaUpdate, session: SessionDep, key: AdminKey) -> AreaPublic:
    changes = body.model_dump(exclude_unset=True)
    updated = await update_area(session=session, code=area.code, data=body)
    await audit.record(
        session=session,
        actor=actor(key),
        action="area.update",
        subject=f"area:{updated.code}",
        **changes,
    )
    return to_public(updated)
