"""audit trail hash chain (issue 8)

Revision ID: 0011
Revises: 0010

Reserved in the chain so that work on several issues can land in any order; the issue's own
work fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
