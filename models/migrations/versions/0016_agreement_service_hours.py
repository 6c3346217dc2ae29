"""agreement service hours on SLA timers (issue 11, agreements)

Revision ID: 0016
Revises: 0015

- sla_timer.calendar widens from 10 to 80 characters: besides "24x7" and "business" a timer
  may now count on an agreement's own service hours, named "business:NAME" (names are up to
  60 characters). Existing rows keep their values.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sla_timer") as batch_op:
        batch_op.alter_column(
            "calendar",
            existing_type=sa.String(length=10),
            type_=sa.String(length=80),
            existing_nullable=False,
        )


def downgrade() -> None:
    op.execute("UPDATE sla_timer SET calendar = 'business' WHERE calendar LIKE 'business:%'")
    with op.batch_alter_table("sla_timer") as batch_op:
        batch_op.alter_column(
            "calendar",
            existing_type=sa.String(length=80),
            type_=sa.String(length=10),
            existing_nullable=False,
        )
