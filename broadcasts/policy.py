"""A ward's rules for its notices (`WardPolicy`: approval needed, urgent ones excepted, the
default acknowledgement deadline), and who approves: its officials with the `approver` role.
A ward that never set a policy has the defaults, which need no approval."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, StrictBool
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from broadcasts import audit
from broadcasts.models import Area, Official, WardPolicy, utcnow

APPROVER = "approver"


class PolicyPublic(SQLModel):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "ward_code": "BT",
                    "ward_name": "Phường Bến Thành",
                    "needs_approval": True,
                    "urgent_skips_approval": True,
                    "ack_deadline_minutes": 120,
                    "approvers": 2,
                    "updated_at": "2026-12-01T08:00:00Z",
                }
            ]
        }
    )

    ward_code: str
    ward_name: str
    needs_approval: bool
    urgent_skips_approval: bool
    ack_deadline_minutes: int | None
    approvers: int  # active officials of the ward with the `approver` role
    updated_at: datetime | None  # None: the ward has the defaults, never set


class PolicyUpdate(SQLModel):
    """The ward's whole policy (PUT): a field left out takes its default."""

    model_config = ConfigDict(  # type: ignore[assignment]
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "needs_approval": True,
                    "urgent_skips_approval": True,
                    "ack_deadline_minutes": 120,
                }
            ]
        },
    )

    needs_approval: StrictBool = Field(
        description="every notice waits for an approver («lãnh đạo phường») before it goes out"
    )
    urgent_skips_approval: StrictBool = Field(
        default=True, description="urgent notices go out at once; the approvers are told"
    )
    ack_deadline_minutes: int | None = Field(
        default=None,
        ge=1,
        le=7 * 24 * 60,
        description="minutes after sending by which groups should acknowledge (none: default)",
    )


async def get_policy(*, session: AsyncSession, ward_id: int) -> WardPolicy:
    """The ward's policy; a ward that never set one has the defaults (not stored)."""
    policy = await session.get(WardPolicy, ward_id)
    return policy if policy is not None else WardPolicy(ward_id=ward_id)


async def policy_public(*, session: AsyncSession, ward: Area) -> PolicyPublic:
    ward_id = ward.id or 0
    stored = await session.get(WardPolicy, ward_id)
    policy = stored or WardPolicy(ward_id=ward_id)
    approvers = await approvers_of(session=session, ward_id=ward_id)
    return PolicyPublic(
        ward_code=ward.code,
        ward_name=ward.name,
        needs_approval=policy.needs_approval,
        urgent_skips_approval=policy.urgent_skips_approval,
        ack_deadline_minutes=policy.ack_deadline_minutes,
        approvers=len(approvers),
        updated_at=stored.updated_at if stored is not None else None,
    )


async def set_policy(
    *, session: AsyncSession, ward: Area, data: PolicyUpdate, actor: str
) -> WardPolicy:
    """Replace the ward's policy, audited under the ward."""
    ward_id = ward.id or 0
    policy = await session.get(WardPolicy, ward_id) or WardPolicy(ward_id=ward_id)
    policy.needs_approval = data.needs_approval
    policy.urgent_skips_approval = data.urgent_skips_approval
    policy.ack_deadline_minutes = data.ack_deadline_minutes
    policy.updated_at = utcnow()
    session.add(policy)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="ward.policy",
        subject=f"area:{ward.code}",
        ward_id=ward_id,
        **data.model_dump(),
    )
    return policy


async def approvers_of(
    *, session: AsyncSession, ward_id: int, excluding: int | None = None
) -> list[Official]:
    """The ward's active approvers (but `excluding`, the notice's writer), by name."""
    query = select(Official).where(
        col(Official.ward_id) == ward_id, col(Official.role) == APPROVER, col(Official.active)
    )
    if excluding is not None:
        query = query.where(col(Official.id) != excluding)
    return list(await session.scalars(query.order_by(col(Official.name), col(Official.id))))


def is_approver(official: Official | None, ward_id: int) -> bool:
    return (
        official is not None
        and official.active
        and official.role == APPROVER
        and official.ward_id == ward_id
    )
