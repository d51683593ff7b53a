"""Acknowledgements recorded by an admin: someone confirmed by phone or in person."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from api.deps import AdminCaller, SessionDep, require_scope
from api.errors import PROBLEM_RESPONSES
from broadcasts.acks import AckCreate, AckPublic, record_ack_for_channel, to_public
from broadcasts.notices import get_notice

router = APIRouter(
    prefix="/acknowledgements",
    tags=["acknowledgements"],
    dependencies=[Depends(require_scope("admin"))],
    responses=PROBLEM_RESPONSES,
)


@router.post(
    "",
    status_code=201,
    summary="Record that a person in a channel saw a notice",
    description="201 when recorded now; 200 (`created: false`) when this person had already "
    "acknowledged this notice in this channel, which is then left as it was.",
    responses={200: {"model": AckPublic, "description": "Already recorded"}},
)
async def create(
    body: AckCreate, session: SessionDep, caller: AdminCaller, response: Response
) -> AckPublic:
    ack, created = await record_ack_for_channel(
        session=session,
        notice_id=body.notice_id,
        channel_id=body.channel_id,
        person_ref=body.person_ref,
        person_name=body.person_name,
        within=caller.tenant,
    )
    if created:
        notice = await get_notice(session=session, notice_id=ack.notice_id)
        await caller.record(
            session,
            "ack.record",
            f"notice:{ack.notice_id}",
            ward_id=notice.ward_id,
            channel_id=ack.channel_id,
            person_ref=ack.person_ref,
        )
    else:
        response.status_code = 200
    return to_public(ack, created)
