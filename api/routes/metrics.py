"""`/metrics`: every Loa metric in Prometheus's text format (`broadcasts.metrics`).

Guarded by `LOA_METRICS__TOKEN` (a bearer token) when set; without it, only clients on
this machine may scrape, and not through a proxy (a request that says it was forwarded
comes, for all Loa knows, from anyone the proxy serves). Not in the OpenAPI document: it
is for Prometheus, not for API clients, and takes no API key.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import ServicesDep, SessionDep
from broadcasts.metrics import queue_figures, render
from broadcasts.models import utcnow

router = APIRouter(tags=["metrics"])

_LOCAL = frozenset({"127.0.0.1", "::1"})
_FORWARDED = ("x-forwarded-for", "forwarded", "x-real-ip")


def _check_access(request: Request, token: str | None) -> None:
    if token is not None:
        given = request.headers.get("authorization", "")
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            credentials.strip().encode(), token.encode()
        ):
            raise HTTPException(
                401,
                "/metrics needs the metrics token: send Authorization: Bearer <LOA_METRICS__TOKEN>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return
    host = request.client.host if request.client else ""
    if host not in _LOCAL or any(h in request.headers for h in _FORWARDED):
        raise HTTPException(
            403,
            "/metrics answers only this machine while LOA_METRICS__TOKEN is not set",
        )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    token = services.settings.metrics.token
    _check_access(request, token.get_secret_value() if token is not None else None)
    figures = await queue_figures(session=session, now=utcnow())
    return Response(render(figures), media_type=CONTENT_TYPE_LATEST)
