"""page: one ladder per team a record is paged to (functional escalations page the new team)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.drop_constraint("uq_page_level", type_="unique")
        batch_op.create_unique_constraint("uq_page_team_level", ["record_key", "team", "level"])


def downgrade() -> None:
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.drop_constraint("uq_page_team_level", type_="unique")
        batch_op.create_unique_constraint("uq_page_level", ["record_key", "level"])
