"""Getting into the dashboard: an official's signed link (from /baocao), an admin's API key
once (a form), and signing out. Each sets or clears the session cookie (`api.dashboard`).

A wrong key counts towards the same failed-authentication limits as the API's
(`api.auth_limits`); past them the form answers 429 until the window has room.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.auth_limits import TooManyFailures, guarded_attempt
from api.dashboard import (
    LOGIN_COOKIE,
    LOGIN_COOKIE_SECONDS,
    PREFIX,
    SESSION_COOKIE,
    STATIC_DIR,
    CsrfViewer,
    MaybeViewer,
    PageError,
    login_token,
    render,
    secret_or_page,
    set_cookie,
    start_session,
)
from api.deps import ServicesDep, SessionDep
from broadcasts.apikeys import has_scope, verify_api_key
from broadcasts.dashboard_access import read_link, session_value
from broadcasts.errors import LinkRefused, NotAllowed
from broadcasts.i18n import translations
from broadcasts.models import Official

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/static/dashboard.css")
async def stylesheet() -> FileResponse:
    return FileResponse(STATIC_DIR / "dashboard.css", media_type="text/css")


def _login_form(
    request: Request, services: ServicesDep, *, error: str = "", status: int = 200
) -> HTMLResponse:
    token = login_token()
    response = render(
        request, services.settings, "login.html", {"csrf": token, "error": error}, status=status
    )
    set_cookie(response, request, services.settings, LOGIN_COOKIE, token, LOGIN_COOKIE_SECONDS)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, services: ServicesDep, viewer: MaybeViewer) -> Response:
    if viewer is not None:
        return RedirectResponse(PREFIX, status_code=303)
    return _login_form(request, services)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    settings = services.settings
    t = translations(settings.default_locale)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not csrf or not expected or not hmac.compare_digest(csrf, expected):
        return _login_form(
            request,
            services,
            error=t.gettext("The form had expired. Please try again."),
            status=403,
        )
    secret = secret_or_page(settings)
    bootstrap = settings.api.bootstrap_key
    try:
        async with guarded_attempt(request, key.strip()):
            found = await verify_api_key(
                session=session,
                presented=key.strip(),
                bootstrap_key=bootstrap.get_secret_value() if bootstrap else None,
            )
    except TooManyFailures as exc:
        response = _login_form(
            request,
            services,
            error=t.gettext("Too many wrong keys. Please wait a few minutes and try again."),
            status=429,
        )
        response.headers.update(exc.headers or {})
        return response
    except NotAllowed:
        return _login_form(
            request,
            services,
            error=t.gettext("This key is not right, or no longer works."),
            status=401,
        )
    if not has_scope(found, "reports"):
        return _login_form(
            request, services, error=t.gettext("This key may not read reports."), status=403
        )
    value = session_value(secret=secret, kind="key", subject_id=found.id or 0)
    return start_session(request, settings, value)


@router.get("/open", response_class=HTMLResponse)
async def open_link(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    t_: Annotated[str, Query(alias="t", max_length=1000)] = "",
) -> Response:
    """An official's link from /baocao: sets the session, then shows the ward."""
    settings = services.settings
    t = translations(settings.default_locale)
    secret = secret_or_page(settings)
    again = t.gettext("Please send /baocao to the bot again to get a new link.")
    try:
        official_id = read_link(secret=secret, token=t_)
    except LinkRefused as exc:
        if exc.reason == "expired":
            raise PageError(410, t.gettext("This link has expired"), again) from exc
        raise PageError(400, t.gettext("This link is not valid"), again) from exc
    official = await session.get(Official, official_id)
    if official is None or not official.active:
        raise PageError(
            403,
            t.gettext("This link no longer works"),
            t.gettext("Only registered ward officials can open the dashboard."),
        )
    value = session_value(secret=secret, kind="official", subject_id=official_id)
    return start_session(request, settings, value)


@router.post("/logout")
async def logout(viewer: CsrfViewer) -> RedirectResponse:
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
