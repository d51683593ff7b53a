"""API keys: list (never the secrets), create (the key is shown once), revoke.

A city admin key manages every key. A ward admin key manages its own ward's keys only:
it may create keys for its ward (admin or reports) and revoke them; city keys and other
wards' keys do not exist for it (404). Omitting `ward` asks for a city key, which only a
city admin key may create.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import AdminCaller, Limit, Offset, SessionDep, TenantDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import ApiKeyCreated, Listing
from broadcasts.apikeys import (
    ApiKeyCreate,
    ApiKeyPublic,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    to_public,
)
from broadcasts.areas import get_ward_by_code
from broadcasts.errors import NotAllowed
from broadcasts.models import Area

router = APIRouter(
    prefix="/api-keys",
    tags=["api keys"],
    dependencies=[Depends(require_scope("admin"))],
    responses=PROBLEM_RESPONSES,
)


@router.get("", summary="List API keys")
async def index(
    session: SessionDep, tenant: TenantDep, offset: Offset = 0, limit: Limit = 100
) -> Listing[ApiKeyPublic]:
    rows, count = await list_api_keys(session=session, offset=offset, limit=limit, within=tenant)
    return Listing(data=[to_public(k, code) for k, code in rows], count=count)


@router.post(
    "",
    status_code=201,
    summary="Create an API key (shown once)",
    description="With `ward` (a ward's code) the key sees that ward's subtree only; "
    "without it, a city key that sees everything. A ward key may create keys for its own "
    "ward only (another ward is 404, a city key 403).",
    responses=problem_responses(404),
)
async def create(body: ApiKeyCreate, session: SessionDep, caller: AdminCaller) -> ApiKeyCreated:
    ward: Area | None = None
    if body.ward is not None:
        ward = await get_ward_by_code(session=session, code=body.ward, within=caller.tenant)
    elif not caller.tenant.is_city:
        raise NotAllowed("only a city key may create a city key; give this ward's code as 'ward'")
    new, plaintext = await create_api_key(
        session=session, name=body.name, scopes=body.scopes, ward_id=ward.id if ward else None
    )
    await caller.record(
        session,
        "api_key.create",
        f"api_key:{new.id}",
        ward_id=new.ward_id,
        name=new.name,
        scopes=body.scopes,
    )
    return ApiKeyCreated(**to_public(new, ward.code if ward else None).model_dump(), key=plaintext)


@router.delete("/{key_id}", summary="Revoke an API key", responses=problem_responses(404, 409))
async def revoke(key_id: IdPath, session: SessionDep, caller: AdminCaller) -> ApiKeyPublic:
    revoked = await revoke_api_key(session=session, key_id=key_id, within=caller.tenant)
    await caller.record(
        session,
        "api_key.revoke",
        f"api_key:{revoked.id}",
        ward_id=revoked.ward_id,
        name=revoked.name,
    )
    ward = await session.get(Area, revoked.ward_id) if revoked.ward_id else None
    return to_public(revoked, ward.code if ward else None)
