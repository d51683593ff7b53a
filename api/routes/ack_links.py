"""The pages behind a delivery's signed links: `/a/<token>` (see the notice, press «✅ Tôi
đã nhận») and `/f/<token>` (download one of its files). Residents open them from a chat,
on a phone, without an API key; the domain is `broadcasts.ack_links`.

The page is server-rendered (Jinja2) with its CSS inline, allowed by its hash in the
page's Content-Security-Policy: nothing else loads, no script runs. A browser is named
by a long-lived signed cookie (HttpOnly, SameSite=Lax, Secure over https), which the
page's hidden check is bound to, with the link, so a POST from elsewhere gets 403.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Cookie, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import ApiServices, ServicesDep, SessionDep
from broadcasts import ack_links
from broadcasts.errors import LinkRefused
from broadcasts.links import ACK_PATH, FILE_PATH, new_person_cookie, page_check, person_of_cookie

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
CSS = (Path(__file__).resolve().parent.parent / "templates" / "links.css").read_text()
COOKIE = "loa_person"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
# The pages: their one inline style, a form posting to themselves, nothing else.
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_PREFIXES = (ACK_PATH, FILE_PATH)

log = logging.getLogger(__name__)
router = APIRouter(tags=["links"], include_in_schema=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _html(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, template, {"css": CSS, **context}, status_code=status
    )


def _refused(request: Request, services: ServicesDep, exc: LinkRefused) -> HTMLResponse:
    page = ack_links.refusal(exc, lifetime_days=services.settings.api.link_lifetime_days)
    return _html(
        request, "result.html", page.status, lang=page.lang, title=page.title, text=page.text
    )


@router.get(ACK_PATH + "{token}", response_class=HTMLResponse)
async def ack_page(
    token: str,
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    loa_person: Annotated[str | None, Cookie()] = None,
) -> Response:
    person = person_of_cookie(loa_person)
    cookie = None if person is not None else new_person_cookie()
    if cookie is not None:
        person = person_of_cookie(cookie)
    assert person is not None
    try:
        page = await ack_links.open_ack_page(
            session=session, token=token, person=person, now=_now()
        )
    except LinkRefused as exc:
        return _refused(request, services, exc)
    already = ack_links.thanks(page, False)[1] if page.acknowledged_at else ""
    response = _html(
        request,
        "ack.html",
        lang=page.texts.lang,
        title=page.texts.title,
        page=page,
        check=page_check(token, person),
        already=already,
    )
    if cookie is not None:
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


@router.post(ACK_PATH + "{token}", response_class=HTMLResponse)
async def acknowledge(
    token: str,
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    background: BackgroundTasks,
    check: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    loa_person: Annotated[str | None, Cookie()] = None,
) -> Response:
    try:
        page, created = await ack_links.confirm_by_link(
            session=session,
            token=token,
            person=person_of_cookie(loa_person),
            check=check,
            name=name,
            now=_now(),
        )
    except LinkRefused as exc:
        return _refused(request, services, exc)
    if created and services.on_ack is not None:
        # After the response, so after the commit: the status message counts this press.
        background.add_task(_notify, services, page.notice_id, page.delivery_id)
    title, text = ack_links.thanks(page, created)
    return _html(request, "result.html", lang=page.texts.lang, title=title, text=text)


async def _notify(services: ApiServices, notice_id: int, delivery_id: int) -> None:
    assert services.on_ack is not None
    try:
        await services.on_ack(notice_id, delivery_id)
    except Exception:  # the press is committed; a failed hook only delays the status edit
        log.exception("on_ack hook failed for delivery %s", delivery_id)


@router.get(FILE_PATH + "{token}")
async def download(
    token: str, request: Request, session: SessionDep, services: ServicesDep
) -> Response:
    try:
        found = await ack_links.open_download(
            session=session, token=token, store=services.settings.attachments.dir, now=_now()
        )
    except LinkRefused:
        page = ack_links.missing_file()
        return _html(
            request, "result.html", page.status, lang=page.lang, title=page.title, text=page.text
        )
    return FileResponse(
        found.path,
        media_type=found.mime_type or "application/octet-stream",
        filename=found.file_name,
    )
