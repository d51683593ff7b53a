"""notices made through the API for an official to review in the bot

Revision ID: 0007_reviews
Revises: 0006_approval
Create Date: 2026-12-01 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_reviews"
down_revision: str | None = "0006_approval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notice") as batch:
        batch.add_column(
            sa.Column("review_requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column("review_shown_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("notice") as batch:
        batch.drop_column("review_shown_at")
        batch.drop_column("review_requested_at")
