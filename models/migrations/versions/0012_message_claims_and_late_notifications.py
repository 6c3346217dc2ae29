"""message claim leases, pending refreshes and late notifications (issue 8)

Revision ID: 0012
Revises: 0011

Every record kind with a channel message gets a claim lease (claimed_at, claimed_by) and the
two versions that say whether its Slack message shows its latest state; the notification
outbox gets an index for counting late deliveries over a period.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("incident", "change", "release", "problem")
UNPOSTED = sa.text("message_ts IS NULL")
DIRTY = sa.text("message_version > rendered_version")
LATE = sa.text("late")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("claimed_by", sa.String(length=80), nullable=True))
            batch.add_column(
                sa.Column("message_version", sa.Integer(), nullable=False, server_default="0")
            )
            batch.add_column(
                sa.Column("rendered_version", sa.Integer(), nullable=False, server_default="0")
            )
        # A record claimed before this migration and never given a ts keeps claimed_at NULL,
        # which the announce sweep treats as an expired claim: it is announced, not lost.
        op.create_index(
            f"ix_{table}_unposted",
            table,
            ["created_at"],
            sqlite_where=UNPOSTED,
            postgresql_where=UNPOSTED,
        )
        op.create_index(
            f"ix_{table}_message_dirty",
            table,
            ["id"],
            sqlite_where=DIRTY,
            postgresql_where=DIRTY,
        )
    op.create_index(
        "ix_notification_late_sent",
        "notification",
        ["sent_at"],
        sqlite_where=LATE,
        postgresql_where=LATE,
    )


def downgrade() -> None:
    op.drop_index("ix_notification_late_sent", table_name="notification")
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_message_dirty", table_name=table)
        op.drop_index(f"ix_{table}_unposted", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("rendered_version")
            batch.drop_column("message_version")
            batch.drop_column("claimed_by")
            batch.drop_column("claimed_at")
