"""one line of history again: availability (0005), problem messages (0006), change messages (0007)

Revision ID: 0008
Revises: 0005, 0006, 0007
"""

from __future__ import annotations

revision = "0008"
down_revision = ("0005", "0006", "0007")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the branches touched different tables."""


def downgrade() -> None:
    """Nothing to undo."""
