"""Correcting and recalling a sent notice through the API (admin scope).

`POST /notices/{id}/correct` runs the corrected text through the AI step, replaces the
renditions and has the delivery engine edit the notice in every group that received it
(or reply «Đính chính» where Telegram does not allow the edit); `POST /notices/{id}/recall`
has it deleted where Telegram allows (within 48 hours), else a short «đã được thu hồi»
posted. Both answer at once; the follow-ups run in the background, per channel, and
their progress shows in `GET /notices/{id}` (the correction / recall delivery rows).
A notice no group received, or one recalled already, is a 409; empty text is a 422.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AdminCaller, ServicesDep, SessionDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from broadcasts.corrections import Amendment, correct_notice, recall_notice
from broadcasts.notices import renditions_of

router = APIRouter(
    prefix="/notices",
    tags=["notices"],
    dependencies=[Depends(require_scope("admin"))],
    responses={**PROBLEM_RESPONSES, **problem_responses(404, 409)},
)


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": (
                        "THÔNG BÁO (đính chính)\nTạm ngừng cung cấp điện từ 08 giờ 00 "
                        "đến 16 giờ 00 ngày 28/11/2026…"
                    )
                }
            ]
        }
    )

    text: str = Field(min_length=1, max_length=20_000, description="the whole corrected text")


class CorrectedRendition(BaseModel):
    locale: str
    text: str
    source: str = Field(description="ai, offline or edited")
    findings: list[dict[str, object]] = Field(
        description="facts not traceable to the corrected text"
    )


class AmendmentPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"notice_id": 12, "kind": "recall", "groups": 12, "stopped": 0}]
        }
    )

    notice_id: int
    kind: str = Field(description="correction or recall")
    groups: int = Field(description="groups the follow-up goes to (those the notice reached)")
    stopped: int = Field(
        default=0, description="recall: deliveries of the notice stopped before they went"
    )
    renditions: list[CorrectedRendition] = Field(
        default_factory=list, description="correction: what the groups will read now"
    )


def _public(done: Amendment) -> AmendmentPublic:
    return AmendmentPublic(
        notice_id=done.notice_id, kind=done.kind.value, groups=done.groups, stopped=done.stopped
    )


@router.post(
    "/{notice_id}/correct",
    summary="Correct a sent notice",
    description="The corrected text goes through the AI step like a new notice; every "
    "group that received the notice gets it edited in place (the «Đã nhận» button kept), "
    "or a «Đính chính» reply where Telegram does not allow the edit. 409 for a notice "
    "not sent yet, still going out, or recalled (`reason`: not_sent, sending, recalled).",
    responses=problem_responses(422),
)
async def correct(
    notice_id: IdPath,
    body: CorrectionRequest,
    session: SessionDep,
    caller: AdminCaller,
    services: ServicesDep,
) -> AmendmentPublic:
    done = await correct_notice(
        session=session,
        notice_id=notice_id,
        text=body.text,
        ai=services.settings.ai,
        actor=caller.actor,
        within=caller.tenant,
    )
    answer = _public(done)
    renditions = await renditions_of(session=session, notice_id=notice_id)
    answer.renditions = [
        CorrectedRendition(locale=r.locale, text=r.text, source=r.source, findings=r.findings)
        for r in sorted(renditions.values(), key=lambda r: (r.locale != "vi", r.locale))
    ]
    return answer


@router.post(
    "/{notice_id}/recall",
    summary="Recall a sent notice",
    description="Deletes the notice in every group that received it less than 48 hours "
    "ago; older ones get a short «Thông báo #N đã được thu hồi». What has not gone out "
    "yet does not go. 409 for a notice not sent yet or recalled already "
    "(`reason`: not_sent, recalled).",
)
async def recall(notice_id: IdPath, session: SessionDep, caller: AdminCaller) -> AmendmentPublic:
    done = await recall_notice(
        session=session, notice_id=notice_id, actor=caller.actor, within=caller.tenant
    )
    return _public(done)
