"""indexes and columns for the set-based sweeps (issue 10)

Revision ID: 0014
Revises: 0013

Reserved in the chain so that work on several issues can land in any order; the issue's own
work fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
