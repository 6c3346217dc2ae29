"""scheduled report runs and report figures (issue 11, reports)

Revision ID: 0015
Revises: 0014

Reserved in the chain so that work on several issues can land in any order; the issue's own
work fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
