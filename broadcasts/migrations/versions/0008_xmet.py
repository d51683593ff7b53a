"""process heartbeats for /health; a delivery's last claim took over a lapsed lease

Revision ID: 0008_xmet
Revises: 0007_reviews
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_xmet"
down_revision: str | None = "0007_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_heartbeat",
        sa.Column("process_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("beat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("process_id"),
    )
    with op.batch_alter_table("process_heartbeat") as batch:
        batch.create_index(batch.f("ix_process_heartbeat_role"), ["role"], unique=False)
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(
            sa.Column(
                "lease_taken_over", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("lease_taken_over")
    with op.batch_alter_table("process_heartbeat") as batch:
        batch.drop_index(batch.f("ix_process_heartbeat_role"))
    op.drop_table("process_heartbeat")
