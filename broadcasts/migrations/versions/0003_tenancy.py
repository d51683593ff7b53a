"""tenancy: keys and audit events tied to a ward; the bootstrap key marked as such

Revision ID: 0003_tenancy
Revises: 0002_webhook
Create Date: 2026-12-01 13:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003_tenancy'
down_revision: str | None = '0002_webhook'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ward_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('bootstrap', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f('ix_api_key_ward_id'), ['ward_id'], unique=False)
        batch_op.create_foreign_key('fk_api_key_ward_id_area', 'area', ['ward_id'], ['id'])
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ward_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_ward_id'), ['ward_id'], unique=False)
        batch_op.create_foreign_key('fk_audit_event_ward_id_area', 'area', ['ward_id'], ['id'])
    # Before this revision the bootstrap key was stored under a prefix derived from its
    # hash ("x" + 7 hex digits). Mark those rows; the next start re-stores the key with a
    # salted hash and a random prefix (see broadcasts.apikeys.ensure_bootstrap_key).
    op.execute(
        "UPDATE api_key SET bootstrap = true "
        "WHERE name = 'bootstrap' AND prefix LIKE 'x%' AND length(prefix) = 8"
    )


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint('fk_audit_event_ward_id_area', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_event_ward_id'))
        batch_op.drop_column('ward_id')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_constraint('fk_api_key_ward_id_area', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_key_ward_id'))
        batch_op.drop_column('bootstrap')
        batch_op.drop_column('ward_id')
