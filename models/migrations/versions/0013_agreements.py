"""service level agreements, their versions and reviews (issue 11, agreements)

Revision ID: 0013
Revises: 0012

Reserved in the chain so that work on several issues can land in any order; the issue's own
work fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
