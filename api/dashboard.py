"""The dashboard's plumbing: templates, the viewer behind the session cookie, CSRF, cookies.

Pages are Jinja2 templates under `api/templates/dashboard/`, every text through the
gettext catalogs (`_` in the templates). The session cookie is HttpOnly, SameSite=Lax,
and Secure when the request came over TLS (uvicorn reports https behind a proxy whose
X-Forwarded-Proto it trusts: `FORWARDED_ALLOW_IPS`) or the public URL is https. Every POST
carries the session's CSRF token in the form (`check_csrf`); the sign-in form, before any
session, a token matched against a short-lived cookie of its own.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import ServicesDep, SessionDep
from broadcasts.dashboard_access import (
    SESSION_SECONDS,
    DashboardUnavailable,
    Viewer,
    read_session,
    signing_secret,
    viewer_of,
)
from broadcasts.failures import Failure, failure_words
from broadcasts.i18n import translations
from broadcasts.settings import Settings

SESSION_COOKIE = "loa_dashboard"
LOGIN_COOKIE = "loa_login"  # the sign-in form's CSRF token, before there is a session
LOGIN_COOKIE_SECONDS = 3600
PREFIX = "/dashboard"
# Pages load this server's stylesheet and show charts as data: images (SVG); no script.
DASHBOARD_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = TEMPLATES_DIR / "dashboard" / "static"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


class PageError(Exception):
    """A page that explains what went wrong (not found, expired link, …), with a status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status, self.title, self.message = status, title, message


def is_tls(request: Request, settings: Settings) -> bool:
    public = settings.api.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def set_cookie(
    response: Response, request: Request, settings: Settings, name: str, value: str, age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=PREFIX,
        httponly=True,
        secure=is_tls(request, settings),
        samesite="lax",
    )


def start_session(
    request: Request, settings: Settings, value: str, to: str = PREFIX
) -> RedirectResponse:
    """A redirect (303) that sets the session cookie."""
    response = RedirectResponse(to, status_code=303)
    set_cookie(response, request, settings, SESSION_COOKIE, value, SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


def secret_or_page(settings: Settings) -> str:
    try:
        return signing_secret(settings)
    except DashboardUnavailable as exc:
        t = translations(settings.default_locale)
        raise PageError(
            503,
            t.gettext("The dashboard is not set up"),
            t.gettext("Please ask the person in charge of Loa at the ward to set it up."),
        ) from exc


async def current_viewer(
    request: Request, session: SessionDep, services: ServicesDep
) -> Viewer | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    secret = secret_or_page(services.settings)
    data = read_session(secret=secret, value=value)
    if data is None:
        return None
    return await viewer_of(session=session, data=data, settings=services.settings)


MaybeViewer = Annotated[Viewer | None, Depends(current_viewer)]


class SignInNeeded(Exception):
    """No (valid) session: the page sends the browser to the sign-in form."""


async def require_viewer(viewer: MaybeViewer) -> Viewer:
    if viewer is None:
        raise SignInNeeded
    return viewer


ViewerDep = Annotated[Viewer, Depends(require_viewer)]


def check_csrf(viewer: ViewerDep, csrf: Annotated[str, Form()] = "") -> Viewer:
    """A POST's form must carry the session's CSRF token; else nothing is done (403)."""
    if not csrf or not hmac.compare_digest(csrf, viewer.csrf):
        t = translations(viewer.locale)
        raise PageError(
            403,
            t.gettext("This form has expired"),
            t.gettext("Please go back, reload the page and try again."),
        )
    return viewer


CsrfViewer = Annotated[Viewer, Depends(check_csrf)]


def login_token() -> str:
    return secrets.token_urlsafe(24)


class Formatter:
    """Times in the ward's zone and failures in plain words, for one locale."""

    def __init__(self, locale: str, timezone: str) -> None:
        self.t = translations(locale)
        self.zone = ZoneInfo(timezone)

    def time(self, at: datetime | None) -> str:
        return at.astimezone(self.zone).strftime("%H:%M %d/%m/%Y") if at is not None else "—"

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone).replace(tzinfo=None)

    def failure(self, failure: Failure) -> str:
        return failure_words(failure, self.t)

    def status(self, status: str) -> str:
        words = {
            "draft": self.t.gettext("draft"),
            "scheduled": self.t.gettext("scheduled"),
            "dispatching": self.t.gettext("sending"),
            "done": self.t.gettext("finished"),
            "cancelled": self.t.gettext("cancelled"),
        }
        return words.get(status, status)

    @staticmethod
    def percent(part: int, whole: int) -> str:
        return f"{round(100 * part / whole)}%" if whole else "—"

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "—"
        minutes = round(seconds / 60)
        if minutes < 1:
            return self.t.gettext("under a minute")
        if minutes < 60:
            return self.t.ngettext("{count} minute", "{count} minutes", minutes).format(
                count=minutes
            )
        hours = round(minutes / 60, 1)
        return self.t.gettext("{count} h").format(count=f"{hours:g}".replace(".", ","))


def render(
    request: Request,
    settings: Settings,
    name: str,
    context: dict[str, Any],
    *,
    locale: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    fmt = Formatter(locale or settings.default_locale, settings.timezone)
    return templates.TemplateResponse(
        request,
        f"dashboard/{name}",
        {"_": fmt.t.gettext, "ngettext": fmt.t.ngettext, "fmt": fmt, **context},
        status_code=status,
    )


def install_dashboard_errors(app: FastAPI) -> None:
    """Pages answer with a page: sign-in needed (303 to the form), or an explained error."""

    async def sign_in(request: Request, exc: Exception) -> Response:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        services = request.app.state.services
        return render(
            request,
            services.settings,
            "message.html",
            {"title": exc.title, "message": exc.message},
            status=exc.status,
        )

    app.add_exception_handler(SignInNeeded, sign_in)
    app.add_exception_handler(PageError, page_error)
