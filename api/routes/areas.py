"""The area tree: create, read, rename or move areas, and import a ward's tree as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.datastructures import UploadFile

from api.deps import AdminCaller, Limit, Offset, SessionDep, TenantDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.schemas import Listing
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
from broadcasts.tenancy import ward_id_of

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


async def area_by_code(code: str, session: SessionDep, tenant: TenantDep) -> Area:
    return await get_area_by_code(session=session, code=code, within=tenant)


async def _ward_id(session: SessionDep, area: Area) -> int | None:
    return await ward_id_of(session=session, area=area)


AreaDep = Annotated[Area, Depends(area_by_code)]


@router.post("", status_code=201, summary="Create an area", responses=problem_responses(409))
async def create(body: AreaCreate, session: SessionDep, caller: AdminCaller) -> AreaPublic:
    area = await create_area(session=session, data=body, within=caller.tenant)
    await caller.record(
        session,
        "area.create",
        f"area:{area.code}",
        ward_id=await _ward_id(session, area),
        parent=area.path,
    )
    return to_public(area)


@router.get("", summary="List areas in tree order", responses=problem_responses(404))
async def index(
    session: SessionDep,
    tenant: TenantDep,
    offset: Offset = 0,
    limit: Limit = 100,
    root: Annotated[str | None, Query(description="only this area and those below it")] = None,
    level: AreaLevel | None = None,
) -> Listing[AreaPublic]:
    rows, count = await list_areas(
        session=session, root_code=root, level=level, offset=offset, limit=limit, within=tenant
    )
    return Listing(data=[to_public(a) for a in rows], count=count)


@router.get("/tree", summary="The area tree, nested", responses=problem_responses(404))
async def tree(
    session: SessionDep,
    tenant: TenantDep,
    root: Annotated[str | None, Query(description="code of the subtree's root")] = None,
) -> Listing[AreaNode]:
    roots = await area_tree(session=session, root_code=root, within=tenant)
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
        "`parent_code` means the ward. A ward key imports into its own ward (the default "
        "`ward` for it) or an area inside it."
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
    caller: AdminCaller,
    ward: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="code of the ward the file is for"),
    ] = None,
) -> ImportResult:
    target = ward or caller.tenant.ward_code
    area = (
        await get_area_by_code(session=session, code=target, within=caller.tenant)
        if target
        else None
    )
    data = await _read_csv(request)
    result = await import_areas_csv(
        session=session, ward_code=area.code if area else None, data=data
    )
    await caller.record(
        session,
        "area.import",
        f"area:{area.code}" if area else "",
        ward_id=await _ward_id(session, area) if area else None,
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
async def patch(
    area: AreaDep, body: AreaUpdate, session: SessionDep, caller: AdminCaller
) -> AreaPublic:
    changes = body.model_dump(exclude_unset=True)
    updated = await update_area(session=session, code=area.code, data=body, within=caller.tenant)
    await caller.record(
        session,
        "area.update",
        f"area:{updated.code}",
        ward_id=await _ward_id(session, updated),
        **changes,
    )
    return to_public(updated)
