"""problem: its channel message and the submission that created it

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("message_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("submission_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_problem_submission_id", ["submission_id"])


def downgrade() -> None:
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.drop_constraint("uq_problem_submission_id", type_="unique")
        batch_op.drop_column("submission_id")
        batch_op.drop_column("message_ts")
        batch_op.drop_column("channel_id")
