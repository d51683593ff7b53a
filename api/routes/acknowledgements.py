"""Acknowledgements recorded by an admin: someone confirmed by phone or in person."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from api.deps import AdminKey, SessionDep, actor, require_scope
from api.errors import PROBLEM_RESPONSES
from broadcasts import audit
from broadcasts.acks import AckCreate, AckPublic, record_ack_for_channel, to_public

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
    body: AckCreate, session: SessionDep, key: AdminKey, response: Response
) -> AckPublic:
    ack, created = await record_ack_for_channel(
        session=session,
        notice_id=body.notice_id,
        channel_id=body.channel_id,
        person_ref=body.person_ref,
        person_name=body.person_name,
    )
    if created:
        await audit.record(
            session=session,
            actor=actor(key),
            action="ack.record",
            subject=f"notice:{ack.notice_id}",
            channel_id=ack.channel_id,
            person_ref=ack.person_ref,
        )
    else:
        response.status_code = 200
    return to_public(ack, created)
