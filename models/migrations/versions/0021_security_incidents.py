"""security incidents and security changes (issue 13, security half)

Revision ID: 0021
Revises: 0020

- incident.restricted (indexed): a security incident, shown only to the security team and the
  people working it. Existing incidents are not restricted. redacted_channel_id and
  redacted_ts: the shared channel's message left behind, redacted, when one was restricted.
- change.security: the change touches information security and needs a security approver.
- ix_major_incident_unopened: the announce sweep finds declared major incidents whose channel
  was never created (a crash while creating it) through this partial index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


UNOPENED = sa.text("channel_id IS NULL AND channel_error IS NULL AND ended_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch_op:
        batch_op.add_column(
            sa.Column("restricted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("redacted_channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("redacted_ts", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_incident_restricted", ["restricted"])
    with op.batch_alter_table("change") as batch_op:
        batch_op.add_column(
            sa.Column("security", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_major_incident_unopened",
        "major_incident",
        ["declared_at"],
        sqlite_where=UNOPENED,
        postgresql_where=UNOPENED,
    )


def downgrade() -> None:
    op.drop_index("ix_major_incident_unopened", table_name="major_incident")
    with op.batch_alter_table("change") as batch_op:
        batch_op.drop_column("security")
    with op.batch_alter_table("incident") as batch_op:
        batch_op.drop_index("ix_incident_restricted")
        batch_op.drop_column("redacted_ts")
        batch_op.drop_column("redacted_channel_id")
        batch_op.drop_column("restricted")
