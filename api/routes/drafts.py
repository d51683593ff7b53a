"""Preparing notices through the API: the AI step's renditions, warnings and findings.

An admin (or an integration) posts a notice's text for a ward and gets back what would be
sent in each language, with what the official must be told; renditions can be edited and
are fact-checked again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AdminCaller, ServicesDep, SessionDep, TenantDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath, Locale, LocalePath
from broadcasts.areas import get_ward_by_code
from broadcasts.compose import edit_rendition, prepare_draft
from broadcasts.models import Rendition
from broadcasts.notices import get_notice, renditions_of
from broadcasts.transports.telegram_wire import TELEGRAM_CAPABILITIES

router = APIRouter(
    prefix="/notices",
    tags=["drafts"],
    dependencies=[Depends(require_scope("admin"))],
    responses={**PROBLEM_RESPONSES, **problem_responses(404)},
)


class PrepareRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ward_code": "BT",
                    "locales": ["vi", "en"],
                    "text": (
                        "THÔNG BÁO\nTạm ngừng cung cấp điện từ 07 giờ 30 "
                        "đến 16 giờ 00 ngày 28/11/2026…"
                    ),
                }
            ]
        }
    )

    ward_code: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=20_000)
    locales: list[Locale] | None = Field(
        default=None,
        max_length=10,
        description="languages to prepare; default: those the ward's groups read",
    )


class RenditionPublic(BaseModel):
    locale: str
    text: str
    source: str = Field(
        description="ai, offline, edited, or cap (an upstream CAP alert's own words)"
    )
    findings: list[dict[str, Any]] = Field(description="facts not traceable to the original")
    flagged: bool = Field(description="cannot go out until edited or confirmed")
    confirmed: bool


class WarningPublic(BaseModel):
    code: str
    detail: str
    locale: str | None = None


class PreparedNotice(BaseModel):
    notice_id: int
    title: str
    engine: str = Field(description="ai or offline")
    urgent: bool
    renditions: list[RenditionPublic]
    warnings: list[WarningPublic]


class RenditionEdit(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "Cúp điện 07:30–16:00 ngày 28/11."}]}
    )

    text: str = Field(min_length=1, max_length=TELEGRAM_CAPABILITIES.max_text)


def _public(r: Rendition) -> RenditionPublic:
    return RenditionPublic(
        locale=r.locale,
        text=r.text,
        source=r.source,
        findings=r.findings,
        flagged=bool(r.findings) and not r.confirmed,
        confirmed=r.confirmed,
    )


def _ordered(renditions: dict[str, Rendition]) -> list[RenditionPublic]:
    return [
        _public(r) for r in sorted(renditions.values(), key=lambda r: (r.locale != "vi", r.locale))
    ]


@router.post(
    "/prepare",
    status_code=201,
    summary="Prepare a draft notice with the AI step",
    responses=problem_responses(422),
)
async def prepare(
    body: PrepareRequest, session: SessionDep, services: ServicesDep, caller: AdminCaller
) -> PreparedNotice:
    ward = await get_ward_by_code(session=session, code=body.ward_code, within=caller.tenant)
    draft = await prepare_draft(
        session=session,
        ward_id=ward.id or 0,
        official_id=None,
        text=body.text,
        ai=services.settings.ai,
        locales=body.locales,
    )
    notice_id = draft.notice.id or 0
    await caller.record(
        session,
        "notice.prepare",
        f"notice:{notice_id}",
        ward_id=ward.id,
        engine=draft.preparation.engine,
    )
    return PreparedNotice(
        notice_id=notice_id,
        title=draft.notice.title,
        engine=draft.preparation.engine,
        urgent=draft.notice.urgent,
        renditions=_ordered(await renditions_of(session=session, notice_id=notice_id)),
        warnings=[
            WarningPublic(code=w.code, detail=w.detail, locale=w.locale)
            for w in draft.preparation.warnings
        ],
    )


@router.get("/{notice_id}/renditions", summary="What would be sent, per language")
async def renditions(
    notice_id: IdPath, session: SessionDep, tenant: TenantDep
) -> list[RenditionPublic]:
    await get_notice(session=session, notice_id=notice_id, within=tenant)
    return _ordered(await renditions_of(session=session, notice_id=notice_id))


@router.put(
    "/{notice_id}/renditions/{locale}",
    summary="Replace a rendition's text",
    responses=problem_responses(409, 422),
)
async def edit(
    notice_id: IdPath,
    locale: LocalePath,
    body: RenditionEdit,
    session: SessionDep,
    caller: AdminCaller,
) -> RenditionPublic:
    notice = await get_notice(session=session, notice_id=notice_id, within=caller.tenant)
    rendition = await edit_rendition(
        session=session, notice_id=notice_id, locale=locale, text=body.text
    )
    await caller.record(
        session, "rendition.edit", f"notice:{notice_id}", ward_id=notice.ward_id, locale=locale
    )
    return _public(rendition)
