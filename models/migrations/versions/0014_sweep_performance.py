"""set-based sweeps (issue 10): no schema change

Revision ID: 0014
Revises: 0013

This revision was reserved for the indexes the set-based sweeps might need; they read through
the indexes that already exist (sla_timer.next_due_at, notification's due and status columns),
so it changes nothing. It stays in the chain because databases may already record it.
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
