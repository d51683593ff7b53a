"""follow-ups: reminders, corrections and recalls as deliveries; occurrences; attachments;
approval and ward policy; area contacts and group leaders

Revision ID: 0005_followups
Revises: 0004_bots
Create Date: 2026-12-01 15:26:12.637286
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0005_followups"
down_revision: str | None = "0004_bots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ward_policy",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("urgent_skips_approval", sa.Boolean(), nullable=False),
        sa.Column("ack_deadline_minutes", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ward_id"], ["area.id"]),
        sa.PrimaryKeyConstraint("ward_id"),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("mime_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_notice_id"), ["notice_id"], unique=False)
    op.create_table(
        "notice_occurrence",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("fired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ack_deadline", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.PrimaryKeyConstraint("notice_id", "occurrence"),
    )
    op.create_table(
        "attachment_file",
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("file_ref", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachment.id"]),
        sa.ForeignKeyConstraint(["bot_id"], ["bot_account.id"]),
        sa.PrimaryKeyConstraint("attachment_id", "bot_id"),
    )
    zero, no, blank = sa.text("0"), sa.false(), sa.text("''")
    with op.batch_alter_table("acknowledgement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("occurrence", sa.Integer(), nullable=False, server_default=zero)
        )
        batch_op.add_column(sa.Column("by_leader", sa.Boolean(), nullable=False, server_default=no))
        batch_op.drop_constraint("uq_ack_once", type_="unique")
        batch_op.create_unique_constraint(
            "uq_ack_once", ["notice_id", "channel_id", "occurrence", "person_ref"]
        )
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "contact_name",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default=blank,
            )
        )
        batch_op.add_column(
            sa.Column("contact_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("leader_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "leader_name",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default=blank,
            )
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=12),
                nullable=False,
                server_default=sa.text("'notice'"),
            )
        )
        batch_op.add_column(sa.Column("round", sa.Integer(), nullable=False, server_default=zero))
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("target_refs", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("target_sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.drop_constraint("uq_delivery_once", type_="unique")
        batch_op.create_unique_constraint(
            "uq_delivery_once", ["notice_id", "channel_id", "occurrence", "kind", "round"]
        )
        batch_op.create_foreign_key("fk_delivery_parent_id", "delivery", ["parent_id"], ["id"])
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rrule", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(
            sa.Column("occurrences", sa.Integer(), nullable=False, server_default=zero)
        )
        batch_op.add_column(
            sa.Column(
                "approval",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default=blank,
            )
        )
        batch_op.add_column(sa.Column("approved_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("corrected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("recalled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_foreign_key("fk_notice_approved_by", "official", ["approved_by"], ["id"])
    # A notice that went out before this revision fired its occurrence 0.
    op.execute(
        "INSERT INTO notice_occurrence (notice_id, occurrence, due_at, fired_at, ack_deadline) "
        "SELECT id, 0, COALESCE(scheduled_at, created_at), COALESCE(dispatched_at, created_at), "
        "ack_deadline FROM notice WHERE dispatched_at IS NOT NULL"
    )
    op.execute("UPDATE notice SET occurrences = 1 WHERE dispatched_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_constraint("fk_notice_approved_by", type_="foreignkey")
        for column in (
            "recalled_at",
            "corrected_at",
            "approved_by",
            "approval",
            "occurrences",
            "rrule",
        ):
            batch_op.drop_column(column)
    op.execute("DELETE FROM delivery WHERE kind <> 'notice'")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint("fk_delivery_parent_id", type_="foreignkey")
        batch_op.drop_constraint("uq_delivery_once", type_="unique")
        batch_op.create_unique_constraint(
            "uq_delivery_once", ["notice_id", "channel_id", "occurrence"]
        )
        for column in ("target_sent_at", "target_refs", "parent_id", "round", "kind"):
            batch_op.drop_column(column)
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_column("leader_name")
        batch_op.drop_column("leader_ref")
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.drop_column("contact_ref")
        batch_op.drop_column("contact_name")
    op.execute("DELETE FROM acknowledgement WHERE occurrence <> 0")
    with op.batch_alter_table("acknowledgement", schema=None) as batch_op:
        batch_op.drop_constraint("uq_ack_once", type_="unique")
        batch_op.create_unique_constraint("uq_ack_once", ["notice_id", "channel_id", "person_ref"])
        batch_op.drop_column("by_leader")
        batch_op.drop_column("occurrence")
    op.drop_table("attachment_file")
    op.drop_table("notice_occurrence")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_notice_id"))
    op.drop_table("attachment")
    op.drop_table("ward_policy")
