"""Typed dependencies: the request's session, the services, API-key security and tenancy.

A key is a city key or a ward key. `TenantDep` is what the key may see (the whole tree or
one ward's subtree, `broadcasts.tenancy.Tenant`); `AdminCaller` / `ReaderCaller` bundle
the key, its scope check and its tenant for the routes, which pass the tenant on to the
domain as `within=`. Rows outside the tenant are *not found* (404), never 403.

One session per request: the routes and the domain functions they call only flush; the
session commits once, after the route returns and before the response goes out, or rolls
back when anything raised.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth_limits import guarded_attempt
from broadcasts import audit
from broadcasts.apikeys import has_scope, verify_api_key
from broadcasts.bounds import MAX_OFFSET
from broadcasts.errors import NotAllowed
from broadcasts.models import ApiKey
from broadcasts.tenancy import Tenant, tenant_for_ward

if TYPE_CHECKING:
    from broadcasts.settings import Settings

CancelHook = Callable[[int], Awaitable[None]]
# Called with (notice id, delivery id) after an acknowledgement by link is committed.
AckHook = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ApiServices:
    """Created once by `create_app`, shared by every request."""

    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    on_cancel: CancelHook | None = None
    on_ack: AckHook | None = None


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


ServicesDep = Annotated[ApiServices, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


# scope="function": commit before the response is sent, so a failed commit is an error
# response, never a success the database does not have.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer loa_…`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: loa_…`")
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def current_key(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> ApiKey:
    presented = bearer.credentials if bearer is not None else header
    if not presented:
        raise HTTPException(
            401,
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'",
            headers=_UNAUTHORIZED,
        )
    try:
        bootstrap = services.settings.api.bootstrap_key
        async with guarded_attempt(request, presented):  # 429 after repeated failures
            return await verify_api_key(
                session=session,
                presented=presented,
                bootstrap_key=bootstrap.get_secret_value() if bootstrap else None,
            )
    except NotAllowed as exc:
        raise HTTPException(401, exc.message, headers=_UNAUTHORIZED) from exc


async def current_tenant(
    session: SessionDep, key: Annotated[ApiKey, Depends(current_key)]
) -> Tenant:
    """What the request's key may see: the city, or its ward's subtree."""
    return await tenant_for_ward(session=session, ward_id=key.ward_id)


TenantDep = Annotated[Tenant, Depends(current_tenant)]


@dataclass(frozen=True, slots=True)
class Caller:
    """The request's key and what it may see; routes pass `tenant` to the domain as
    `within=` and write the audit log through `record`."""

    key: ApiKey
    tenant: Tenant

    @property
    def actor(self) -> str:
        return actor(self.key)

    async def record(
        self,
        session: AsyncSession,
        action: str,
        subject: str,
        *,
        ward_id: int | None,
        **detail: object,
    ) -> None:
        """One audit event, filed under the subject's ward (`ward_id`)."""
        await audit.record(
            session=session,
            actor=self.actor,
            action=action,
            subject=subject,
            ward_id=ward_id,
            **detail,
        )


@functools.cache
def require_scope(scope: str) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency giving the request's key if it has `scope` (admin has every scope).

    Cached, so a router-level and a route-level use of the same scope run once.
    """

    async def key_with_scope(key: Annotated[ApiKey, Depends(current_key)]) -> ApiKey:
        if not has_scope(key, scope):
            raise NotAllowed(f"this API key lacks the '{scope}' scope", scope=scope)
        return key

    return key_with_scope


AdminKey = Annotated[ApiKey, Depends(require_scope("admin"))]
ReportsKey = Annotated[ApiKey, Depends(require_scope("reports"))]


async def _admin_caller(key: AdminKey, tenant: TenantDep) -> Caller:
    return Caller(key=key, tenant=tenant)


async def _reader_caller(key: ReportsKey, tenant: TenantDep) -> Caller:
    return Caller(key=key, tenant=tenant)


# The caller of a route that changes something (admin scope) or only reads (reports).
AdminCaller = Annotated[Caller, Depends(_admin_caller)]
ReaderCaller = Annotated[Caller, Depends(_reader_caller)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=500, description="rows to return, at most 500")]


def actor(key: ApiKey) -> str:
    """How the audit log names the caller."""
    return f"api-key:{key.id}:{key.name}"
