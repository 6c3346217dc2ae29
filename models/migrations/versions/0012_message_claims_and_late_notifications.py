"""message claim leases, pending refreshes and late notifications (issue 8)

Revision ID: 0012
Revises: 0011

Reserved in the chain so that work on several issues can land in any order; the issue's own
work fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
