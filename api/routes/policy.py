"""A ward's policy: whether its notices need approval, urgent ones excepted, and the
default acknowledgement deadline. Reading needs `reports`; changing it needs `admin`."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import AdminCaller, ReaderCaller, SessionDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import WardCode
from broadcasts.areas import get_ward_by_code
from broadcasts.policy import PolicyPublic, PolicyUpdate, policy_public, set_policy

router = APIRouter(
    prefix="/wards",
    tags=["wards"],
    dependencies=[Depends(require_scope("reports"))],
    responses={**PROBLEM_RESPONSES, **problem_responses(404)},
)


@router.get(
    "/{code}/policy",
    summary="A ward's approval policy",
    description="Defaults (no approval) for a ward that never set one (`updated_at` null).",
)
async def show(code: WardCode, session: SessionDep, caller: ReaderCaller) -> PolicyPublic:
    ward = await get_ward_by_code(session=session, code=code, within=caller.tenant)
    return await policy_public(session=session, ward=ward)


@router.put(
    "/{code}/policy",
    summary="Set a ward's approval policy",
    description=(
        "With `needs_approval`, a confirmed notice waits until an official with the "
        "`approver` role (`PATCH /officials/{id}`) approves it in the bot; urgent notices "
        "go out at once when `urgent_skips_approval`, and the approvers are told."
    ),
)
async def replace(
    code: WardCode, body: PolicyUpdate, session: SessionDep, caller: AdminCaller
) -> PolicyPublic:
    ward = await get_ward_by_code(session=session, code=code, within=caller.tenant)
    await set_policy(session=session, ward=ward, data=body, actor=caller.actor)
    return await policy_public(session=session, ward=ward)
