"""RFC 9457 problem details: every error the API answers is `application/problem+json`.

Domain errors (`broadcasts.errors`) are mapped in one handler, by class; FastAPI's request
validation and Starlette's HTTP errors (401, 404 for unknown paths, 413...) get the same
shape, so clients parse one format.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from broadcasts.errors import (
    CodeRejected,
    Conflict,
    ImportRejected,
    InvalidInput,
    LoaError,
    NotAllowed,
    NotFound,
    TransportError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:loa:problem:"

# By class; a subclass not listed takes its nearest listed ancestor (see `_mapping`).
_BY_CLASS: dict[type[LoaError], tuple[int, str, str]] = {
    NotFound: (404, "not-found", "Not found"),
    Conflict: (409, "conflict", "Conflict"),
    InvalidInput: (422, "invalid-input", "Invalid input"),
    ImportRejected: (422, "import-rejected", "Import rejected"),
    CodeRejected: (400, "code-rejected", "Code rejected"),
    NotAllowed: (403, "not-allowed", "Not allowed"),
    TransportError: (502, "transport-error", "Transport error"),
}
_BY_STATUS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("not-allowed", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Content too large"),
    422: ("validation-failed", "Validation failed"),
    500: ("internal", "Internal error"),
    503: ("unavailable", "Service unavailable"),
}
_STANDARD = {"type", "title", "status", "detail", "instance"}


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (extension members vary by type)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:loa:problem:not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "area 'BT-KP9' does not exist",
                    "instance": "/areas/BT-KP9",
                    "code": "BT-KP9",
                }
            ]
        },
    )

    type: str = Field(examples=["urn:loa:problem:invalid-input"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        default=None,
        description="validation and import problems: one entry per field or CSV line",
    )


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    default_slug, default_title = _BY_STATUS.get(status, ("error", "Error"))
    body = {k: v for k, v in (extra or {}).items() if k not in _STANDARD}
    body.update(
        type=TYPE_BASE + (slug or default_slug),
        title=title or default_title,
        status=status,
        detail=detail,
        instance=request.url.path,
    )
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def _mapping(exc: LoaError) -> tuple[int, str, str]:
    for cls in type(exc).__mro__:
        if cls in _BY_CLASS:
            return _BY_CLASS[cls]
    return 500, "internal", "Internal error"


async def _loa_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LoaError)
    status, slug, title = _mapping(exc)
    if status >= 500:
        log.error("%s on %s", type(exc).__name__, request.url.path, exc_info=exc)
    return problem(request, status, exc.message or title, slug=slug, title=title, extra=exc.detail)


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": _field_name(tuple(e.get("loc", ()))),
            "message": str(e.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return problem(request, 422, detail, extra={"errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem(request, exc.status_code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette still re-raises after this answer, so the server logs the traceback.
    return problem(request, 500, "an unexpected error occurred; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(LoaError, _loa_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


# Error responses point at the Problem schema, which `api.app` adds to the components.
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
# For OpenAPI: what a route can answer besides success.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": _PROBLEM_CONTENT}
    for status, description in (
        (401, "No API key, or not a valid one"),
        (403, "The API key lacks the scope"),
        (422, "Invalid input"),
    )
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Code rejected",
        404: "Not found",
        409: "Conflict",
        413: "Content too large",
        503: "Service unavailable",
    }
    return {
        s: {"description": descriptions.get(s, "Error"), "content": _PROBLEM_CONTENT}
        for s in statuses
    }
