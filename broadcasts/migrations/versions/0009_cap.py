"""notices imported from CAP alerts remember the alert (sender, identifier)

Revision ID: 0009_cap
Revises: 0008_xmet
Create Date: 2026-12-01 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_cap"
down_revision: str | None = "0008_xmet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notice") as batch:
        batch.add_column(
            sa.Column("cap_ref", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch.create_unique_constraint("uq_notice_cap_ref", ["cap_ref"])


def downgrade() -> None:
    with op.batch_alter_table("notice") as batch:
        batch.drop_constraint("uq_notice_cap_ref", type_="unique")
        batch.drop_column("cap_ref")
