"""The FastAPI application: admins manage areas, channels, officials and keys; report
readers follow notices. Built by `create_app` with the services the process already has."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth_limits import AuthFailureLimiter
from api.dashboard import DASHBOARD_CSP, install_dashboard_errors
from api.dashboard import PREFIX as DASHBOARD_PREFIX
from api.deps import AckHook, ApiServices, CancelHook
from api.docs import STATIC_PREFIX, install_docs
from api.errors import PROBLEM_JSON, Problem, install_error_handlers
from api.guard import BodyLimitMiddleware, BodyLimits, SecurityHeadersMiddleware
from api.methods import install_method_not_allowed
from api.routes import (
    ROUTERS,
    ack_links,
    dashboard,
    dashboard_auth,
    telegram_webhook,
    zalo_webhook,
)
from api.routes.health import BotHealthSource
from api.routes.telegram_webhook import UpdateReceiver
from api.routes.zalo_webhook import ZaloReceiver
from broadcasts.apikeys import ensure_bootstrap_key
from broadcasts.db import session_scope

if TYPE_CHECKING:
    from broadcasts.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """\
Loa carries a ward's notices to the group chats of its neighbourhoods. This API is for
admins (areas, channels, officials, API keys) and for report readers (notices, reports).

Send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Keys with the
`admin` scope may do everything; keys with `reports` may read notices and reports.
A key is a city key (sees every ward) or a ward key (sees its ward's subtree only: areas,
channels, officials, notices, acknowledgements, audit events and keys of that ward).
Whatever lies outside a ward key's ward answers 404, as if it did not exist.
Errors are RFC 9457 problem details (`application/problem+json`). Lists come as
`{"data": [...], "count": n}`, `count` being the total over all pages.
"""


WEBHOOK_MAX_BYTES = telegram_webhook.MAX_BYTES


def _attachment_cap(settings: Settings) -> int:
    files = settings.attachments
    return max(files.max_photo_bytes, files.max_file_bytes) + 64 * 1024


def body_limits(settings: Settings) -> BodyLimits:
    """Per-route body caps: imports and notice texts may be larger than the rest."""
    return BodyLimits(
        settings.api.max_body_bytes,
        [
            ("POST", r"/areas/import", settings.api.max_import_bytes),
            ("POST", r"/notices/prepare", settings.api.max_notice_body_bytes),
            ("POST", r"/notices/cap", settings.api.max_notice_body_bytes),
            # A file and its multipart form: the largest Loa keeps, and room for the rest.
            ("POST", r"/notices/\d+/attachments", _attachment_cap(settings)),
            ("POST", r"/telegram/webhook/[^/]+", WEBHOOK_MAX_BYTES),
        ],
    )


def document_guard_responses(schema: dict[str, Any]) -> None:
    """Every operation that takes a body can answer 413 (the body cap) and, for JSON or a
    form, 400 (not parseable), and every one
    that takes a key can answer 429 (too many failed authentications)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("413", _problem("Request body too large"))
                content = operation["requestBody"].get("content", {})
                if "application/json" in content or "multipart/form-data" in content:
                    responses.setdefault("400", _problem("The body cannot be parsed"))
            if operation.get("security"):
                responses.setdefault(
                    "429",
                    _problem(
                        "Too many failed authentications from this address or for this "
                        "key; see Retry-After",
                        headers={"Retry-After": {"schema": {"type": "integer"}}},
                    ),
                )


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    response: dict[str, Any] = {"description": description, "content": content}
    if headers:
        response["headers"] = headers
    return response


def create_app(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    on_cancel: CancelHook | None = None,
    webhooks: Mapping[int, UpdateReceiver] | None = None,
    bot_health: BotHealthSource | None = None,
    zalo_webhooks: Mapping[int, ZaloReceiver] | None = None,
    on_ack: AckHook | None = None,
) -> FastAPI:
    """The API over an existing sessionmaker; `on_cancel(notice_id)` runs after a notice
    is cancelled through the API (and committed), so the runtime can unschedule it.

    `webhooks` maps bot account ids to their update receivers (webhook mode), and
    `bot_health` tells `/health` whether this process's bot receives updates;
    `on_ack(notice_id, delivery_id)` runs after a press on a signed link is committed, so
    the status message and the «✅ Đã nhận» line follow."""
    services = ApiServices(
        sessionmaker=sessionmaker, settings=settings, on_cancel=on_cancel, on_ack=on_ack
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Without the setting a stored bootstrap key stops working at once (see
        # verify_api_key); with it, the key is stored, or retired if a city admin exists.
        bootstrap = settings.api.bootstrap_key
        if bootstrap is not None:
            async with session_scope(sessionmaker) as session:
                await ensure_bootstrap_key(session=session, plaintext=bootstrap.get_secret_value())
        yield

    app = FastAPI(
        title="Loa",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.state.webhooks = webhooks or {}
    app.state.zalo_webhooks = zalo_webhooks or {}  # Zalo bot account id -> its intake
    app.state.bot_health = bot_health
    app.state.auth_limiter = AuthFailureLimiter(
        failures_per_address=settings.api.auth_failures_per_address,
        failures_per_key=settings.api.auth_failures_per_key,
        window_seconds=settings.api.auth_failure_window_seconds,
        redis_url=settings.redis_url,
    )
    install_error_handlers(app)
    install_method_not_allowed(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(telegram_webhook.router)
    app.include_router(zalo_webhook.router)
    app.include_router(ack_links.router)  # residents' pages: no key, not in the schema
    app.include_router(dashboard_auth.router)
    app.include_router(dashboard.router)
    install_dashboard_errors(app)
    pages = install_docs(app, title="Loa")
    # Added last, so outermost: the body cap runs before routing and authentication, and
    # every answer (a 413 too) gets the security headers.
    app.add_middleware(BodyLimitMiddleware, limits=body_limits(settings))
    if webhooks:  # Telegram's posts, ahead of the routing (its answers get the headers too)
        app.add_middleware(telegram_webhook.WebhookShortcut, receivers=webhooks)
    app.add_middleware(
        SecurityHeadersMiddleware,
        pages=pages,
        static_prefix=STATIC_PREFIX,
        page_prefixes=[
            *((prefix, ack_links.PAGE_CSP) for prefix in ack_links.PAGE_PREFIXES),
            (DASHBOARD_PREFIX, DASHBOARD_CSP),
        ],
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            # Every error response refers to Problem; no route returns it, so add it here.
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                Problem.model_json_schema()
            )
            document_guard_responses(schema)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app
