"""the wizard of a chat without buttons (a Zalo official composing), kept across restarts

Revision ID: 0010_zmenu
Revises: 0009_cap
Create Date: 2026-12-01 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_zmenu"
down_revision: str | None = "0009_cap"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_wizard",
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("chat_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bot_id"], ["bot_account.id"]),
        sa.PrimaryKeyConstraint("bot_id", "chat_ref"),
    )


def downgrade() -> None:
    op.drop_table("chat_wizard")
