"""change and release slack messages

Revision ID: 0007
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("change", "release"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("channel_id", sa.String(length=32), nullable=True))
            batch.add_column(sa.Column("message_ts", sa.String(length=32), nullable=True))
            batch.add_column(sa.Column("submission_id", sa.String(length=64), nullable=True))
        op.create_index(f"ix_{table}_submission_id", table, ["submission_id"], unique=True)
    op.create_table(
        "change_approval_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["change.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_change_approval_message_change_id", "change_approval_message", ["change_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_change_approval_message_change_id", table_name="change_approval_message")
    op.drop_table("change_approval_message")
    for table in ("release", "change"):
        op.drop_index(f"ix_{table}_submission_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("submission_id")
            batch.drop_column("message_ts")
            batch.drop_column("channel_id")
