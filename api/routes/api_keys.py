"""API keys: list (never the secrets), create (the key is shown once), revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import AdminKey, Limit, Offset, SessionDep, actor, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import ApiKeyCreated, Listing
from broadcasts import audit
from broadcasts.apikeys import (
    ApiKeyCreate,
    ApiKeyPublic,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    to_public,
)

router = APIRouter(
    prefix="/api-keys",
    tags=["api keys"],
    dependencies=[Depends(require_scope("admin"))],
    responses=PROBLEM_RESPONSES,
)


@router.get("", summary="List API keys")
async def index(
    session: SessionDep, offset: Offset = 0, limit: Limit = 100
) -> Listing[ApiKeyPublic]:
    rows, count = await list_api_keys(session=session, offset=offset, limit=limit)
    return Listing(data=[to_public(k) for k in rows], count=count)


@router.post("", status_code=201, summary="Create an API key (shown once)")
async def create(body: ApiKeyCreate, session: SessionDep, key: AdminKey) -> ApiKeyCreated:
    new, plaintext = await create_api_key(session=session, name=body.name, scopes=body.scopes)
    await audit.record(
        session=session,
        actor=actor(key),
        action="api_key.create",
        subject=f"api_key:{new.id}",
        name=new.name,
        scopes=body.scopes,
    )
    return ApiKeyCreated(**to_public(new).model_dump(), key=plaintext)


@router.delete("/{key_id}", summary="Revoke an API key", responses=problem_responses(404, 409))
async def revoke(key_id: IdPath, session: SessionDep, key: AdminKey) -> ApiKeyPublic:
    revoked = await revoke_api_key(session=session, key_id=key_id)
    await audit.record(
        session=session,
        actor=actor(key),
        action="api_key.revoke",
        subject=f"api_key:{revoked.id}",
        name=revoked.name,
    )
    return to_public(revoked)
