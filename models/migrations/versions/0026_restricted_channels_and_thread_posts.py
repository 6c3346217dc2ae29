"""restricted major incidents: a redacted channel, and the bot's thread posts kept (issue 13)

Revision ID: 0026
Revises: 0025

- major_incident.channel_redacted: the incident was restricted after its channel was named, so
  the channel carries a neutral name, topic and summary until the restriction is lifted.
- thread_post: what the bot posted in an incident's thread and in its own channel, so that
  restricting the incident redacts those posts and lifting the restriction restores them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("major_incident") as batch_op:
        batch_op.add_column(
            sa.Column("channel_redacted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "thread_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redacted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "ts", name="uq_thread_post_message"),
    )
    op.create_index("ix_thread_post_record_key", "thread_post", ["record_key"])


def downgrade() -> None:
    op.drop_index("ix_thread_post_record_key", table_name="thread_post")
    op.drop_table("thread_post")
    with op.batch_alter_table("major_incident") as batch_op:
        batch_op.drop_column("channel_redacted")
