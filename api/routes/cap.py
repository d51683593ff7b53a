"""CAP 1.2: a notice as an alert (with the key, in the key's ward), a CAP alert from
upstream made into a notice for review, and each ward's public Atom feed of sent notices.

The feed and the alerts it links answer without a key (alert aggregators poll them so),
and only for sent, not recalled notices; `LOA_CAP__PUBLIC_FEED=false` turns them off.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.deps import AdminCaller, ServicesDep, SessionDep, TenantDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath, WardCode
from api.routes.notices import NoticeIntake, notice_intake
from broadcasts.cap.alert import notice_alert
from broadcasts.cap.feed import (
    ATOM_MEDIA_TYPE,
    build_feed,
    public_notice,
    public_notices,
    public_ward,
)
from broadcasts.cap.schema import MEDIA_TYPE
from broadcasts.cap.upstream import import_alert
from broadcasts.errors import NotFound

_CAP_EXAMPLE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
    "<identifier>loa.local:notice:12</identifier><sender>bt@loa.local</sender>"
    "<sent>2026-12-03T18:00:00+07:00</sent><status>Actual</status><msgType>Alert</msgType>"
    "<scope>Public</scope><info><language>vi</language><category>Other</category>"
    "<event>Thông báo của phường</event><urgency>Expected</urgency><severity>Minor</severity>"
    "<certainty>Likely</certainty><description>Thu gom rác cồng kềnh 18 giờ thứ Năm.</description>"
    "<area><areaDesc>Khu phố 1</areaDesc><geocode><valueName>loa-area</valueName>"
    "<value>BT-KP1</value></geocode></area></info></alert>"
)
_CAP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {MEDIA_TYPE: {"example": _CAP_EXAMPLE}}}
}

router = APIRouter(
    prefix="/notices",
    tags=["cap"],
    responses={**PROBLEM_RESPONSES, **problem_responses(404)},
)
public_router = APIRouter(prefix="/wards", tags=["cap"], responses=problem_responses(404, 422))


@router.get(
    "/{notice_id}.cap.xml",
    summary="A notice as a CAP 1.2 alert (Alert, Update once corrected, Cancel once recalled)",
    response_class=Response,
    responses=_CAP_RESPONSE,
    dependencies=[Depends(require_scope("reports"))],
)
async def alert(
    notice_id: IdPath, session: SessionDep, tenant: TenantDep, services: ServicesDep
) -> Response:
    body = await notice_alert(
        session=session, notice_id=notice_id, settings=services.settings.cap, within=tenant
    )
    return Response(body, media_type=MEDIA_TYPE)


@router.post(
    "/cap",
    status_code=201,
    summary="Make a CAP 1.2 alert from upstream into a notice for review",
    description="The body is one CAP 1.2 `alert` (XML, no DTD). It becomes a draft: one "
    "rendition per `info` language (Vietnamese required), the areas from the geocode "
    "`loa-area` or from `areaDesc` (names in the ward's tree, accents ignored). Areas that "
    "match nothing answer 422 naming them; the same alert twice answers 409. Confirm it "
    "with `POST /notices/{id}/confirm`, or name the `official` who reviews it in the bot.",
    responses=problem_responses(409, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                MEDIA_TYPE: {"schema": {"type": "string"}, "example": _CAP_EXAMPLE},
                "application/xml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def take_alert(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    caller: AdminCaller,
    ward: Annotated[
        str | None,
        Query(max_length=64, description="ward code; a ward key's own ward by default"),
    ] = None,
    official: Annotated[
        int | None,
        Query(ge=1, le=2**31 - 1, description="the official who reviews it in the bot"),
    ] = None,
) -> NoticeIntake:
    intake = await import_alert(
        session=session,
        within=caller.tenant,
        data=await request.body(),  # capped by the body limit before it is read
        ai=services.settings.ai,
        actor=caller.actor,
        ward_code=ward,
        official_id=official,
    )
    notice = intake.notice
    await caller.record(
        session,
        "notice.cap_import",
        f"notice:{notice.id}",
        ward_id=notice.ward_id,
        ref=notice.cap_ref,
    )
    return await notice_intake(session, notice, intake)


def _public_feed_on(services: ServicesDep) -> None:
    if not services.settings.cap.public_feed:
        raise NotFound("the public feeds are turned off")


@public_router.get(
    "/{code}/notices.atom",
    summary="The ward's sent notices as an Atom feed, each linking its CAP alert (no key)",
    response_class=Response,
    responses={200: {"content": {ATOM_MEDIA_TYPE: {}}}},
    dependencies=[Depends(_public_feed_on)],
)
async def feed(
    code: WardCode, request: Request, session: SessionDep, services: ServicesDep
) -> Response:
    ward = await public_ward(session=session, code=code)
    notices = await public_notices(
        session=session, ward=ward, limit=services.settings.cap.feed_size
    )
    body = build_feed(
        ward=ward,
        notices=notices,
        feed_url=str(request.url_for("feed", code=ward.code)),
        alert_url=str(request.url_for("public_alert", code=ward.code, notice_id="0")).replace(
            "/0.cap.xml", "/{id}.cap.xml"
        ),
    )
    return Response(body, media_type=ATOM_MEDIA_TYPE)


@public_router.get(
    "/{code}/notices/{notice_id}.cap.xml",
    summary="A sent, not recalled notice of the ward as a CAP 1.2 alert (no key)",
    response_class=Response,
    responses=_CAP_RESPONSE,
    dependencies=[Depends(_public_feed_on)],
)
async def public_alert(
    code: WardCode,
    notice_id: IdPath,
    session: SessionDep,
    services: ServicesDep,
) -> Response:
    ward = await public_ward(session=session, code=code)
    notice = await public_notice(session=session, ward=ward, notice_id=notice_id)
    body = await notice_alert(
        session=session, notice_id=notice.id or 0, settings=services.settings.cap
    )
    return Response(body, media_type=MEDIA_TYPE)
