"""partial indexes on high-impact incidents for the report's outages (issue 11, speed)

Revision ID: 0025
Revises: 0024

- ix_incident_outage_logged: high-impact incidents by service and time logged, with their
  resolution and status, so the outages logged in a period are read from the index alone.
- ix_incident_outage_open: the same incidents by status, for those still open.
Both hold about one incident in ten (impact = 'high'). Data is untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

HIGH = sa.text("impact = 'high'")


def upgrade() -> None:
    op.create_index(
        "ix_incident_outage_logged",
        "incident",
        ["service", "created_at", "resolved_at", "status", "impact"],
        sqlite_where=HIGH,
        postgresql_where=HIGH,
    )
    op.create_index(
        "ix_incident_outage_open",
        "incident",
        ["status", "service", "created_at", "resolved_at", "impact"],
        sqlite_where=HIGH,
        postgresql_where=HIGH,
    )


def downgrade() -> None:
    op.drop_index("ix_incident_outage_open", table_name="incident")
    op.drop_index("ix_incident_outage_logged", table_name="incident")
