"""The dashboard's pages: a ward's last weeks, one notice, and the reminder button.

Thin: each page makes one domain call (`broadcasts.dashboard`) and renders a template;
the reminder goes through `broadcasts.reminders.remind_silent`, the call the bot makes.
A notice outside the viewer's ward is not found (404), as in the API.
"""

from __future__ import annotations

from gettext import NullTranslations
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.dashboard import PREFIX, CsrfViewer, Formatter, PageError, ViewerDep, render
from api.dashboard_charts import ack_time_chart, area_rate_chart, funnel_chart
from api.deps import ServicesDep, SessionDep
from api.params import IdPath
from broadcasts.dashboard import notice_view, ward_view, wards_of
from broadcasts.dashboard_access import Viewer
from broadcasts.errors import Conflict, NotFound
from broadcasts.i18n import translations
from broadcasts.models import Area
from broadcasts.notices import get_notice
from broadcasts.reminders import remind_silent
from broadcasts.tenancy import Tenant, tenant_for_ward

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _not_found(viewer: Viewer) -> PageError:
    t = translations(viewer.locale)
    return PageError(
        404,
        t.gettext("Notice not found"),
        t.gettext("This notice does not exist, or it belongs to another ward."),
    )


async def visible_notice(notice_id: IdPath, session: SessionDep, viewer: ViewerDep) -> int:
    """The notice id if the viewer's ward has it; a 404 page otherwise."""
    try:
        await get_notice(session=session, notice_id=notice_id, within=viewer.tenant)
    except NotFound as exc:
        raise _not_found(viewer) from exc
    return notice_id


NoticeId = Annotated[int, Depends(visible_notice)]


async def _ward_tenant(session: SessionDep, viewer: Viewer, ward: str | None) -> Tenant | None:
    """A ward viewer sees their ward; a city viewer the ward they picked (None: not yet)."""
    if not viewer.tenant.is_city:
        return viewer.tenant
    if ward is None:
        return None
    for area in await wards_of(session=session):
        if area.code == ward:
            return await tenant_for_ward(session=session, ward_id=area.id)
    raise _not_found(viewer)


async def _ward_name(session: SessionDep, tenant: Tenant) -> str:
    ward = await session.get(Area, tenant.ward_id) if tenant.ward_id is not None else None
    return ward.name if ward is not None else ""


@router.get("", response_class=HTMLResponse)
async def ward_page(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    viewer: ViewerDep,
    ward: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    settings = services.settings
    tenant = await _ward_tenant(session, viewer, ward)
    if tenant is None:
        wards = await wards_of(session=session)
        return render(
            request,
            settings,
            "wards.html",
            {"viewer": viewer, "wards": wards},
            locale=viewer.locale,
        )
    view = await ward_view(session=session, within=tenant)
    fmt = Formatter(viewer.locale, settings.timezone)
    chart = area_rate_chart(view.areas, fmt) if view.areas else None
    return render(
        request,
        settings,
        "ward.html",
        {
            "viewer": viewer,
            "view": view,
            "ward_name": await _ward_name(session, tenant),
            "chart": chart,
        },
        locale=viewer.locale,
    )


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
async def notice_page(
    request: Request,
    notice_id: NoticeId,
    session: SessionDep,
    services: ServicesDep,
    viewer: ViewerDep,
    reminded: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> HTMLResponse:
    view = await notice_view(session=session, notice_id=notice_id, within=viewer.tenant)
    fmt = Formatter(viewer.locale, services.settings.timezone)
    return render(
        request,
        services.settings,
        "notice.html",
        {
            "viewer": viewer,
            "view": view,
            "funnel_chart": funnel_chart(view, fmt),
            "ack_chart": ack_time_chart(view, fmt) if view.ack_times or view.sent_from else None,
            "reminded": reminded,
        },
        locale=viewer.locale,
    )


@router.post("/notices/{notice_id}/remind", response_class=HTMLResponse)
async def remind(notice_id: NoticeId, session: SessionDep, viewer: CsrfViewer) -> RedirectResponse:
    t = translations(viewer.locale)
    if not viewer.may_remind:
        raise PageError(
            403,
            t.gettext("Only admins can send reminders"),
            t.gettext("This key may read reports only."),
        )
    try:
        count = await remind_silent(
            session=session, notice_id=notice_id, actor=viewer.actor, within=viewer.tenant
        )
    except Conflict as exc:
        raise PageError(409, t.gettext("No reminder was sent"), _conflict_text(t, exc)) from exc
    return RedirectResponse(f"{PREFIX}/notices/{notice_id}?reminded={count}", status_code=303)


def _conflict_text(t: NullTranslations, exc: Conflict) -> str:
    reason = exc.detail.get("reason")
    if reason == "recalled":
        return t.gettext("This notice was recalled.")
    if reason == "cancelled":
        return t.gettext("This notice was cancelled.")
    return t.gettext("This notice has not reached any group yet.")
