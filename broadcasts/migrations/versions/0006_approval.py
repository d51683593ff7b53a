"""approval: which approver was asked about which notice, and where the request is

Revision ID: 0006_approval
Revises: 0005_followups
Create Date: 2026-12-01 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0006_approval"
down_revision: str | None = "0005_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approval_prompt",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("chat_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("message_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.ForeignKeyConstraint(["official_id"], ["official.id"]),
        sa.PrimaryKeyConstraint("notice_id", "official_id"),
    )


def downgrade() -> None:
    op.drop_table("approval_prompt")
