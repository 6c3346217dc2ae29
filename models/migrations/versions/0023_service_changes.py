"""service changes: new, changed and removed services with their acceptance tests (issue 14)

Revision ID: 0023
Revises: 0022

- service_change: the service part of a change of type "service" (one row per change): new,
  changed or removed, the service, its team, requirements, design, acceptance criteria (one per
  line), the agreement, capacity and budget it needs, and when the CMDB followed it.
- acceptance_result: one criterion's passed/failed and note per recorded acceptance test,
  unique per form submission and criterion.
Existing changes keep their types and have no rows here. A downgrade makes service and
agreement changes (types 0023 introduced) normal ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_change",
        sa.Column(
            "change_id",
            sa.Integer(),
            sa.ForeignKey("change.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("team", sa.String(length=60), nullable=True),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("design", sa.Text(), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("agreement", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Text(), nullable=False),
        sa.Column("budget", sa.Text(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("item_key", sa.String(length=32), nullable=True),
    )
    op.create_index("ix_service_change_service", "service_change", ["service"])
    op.create_table(
        "acceptance_result",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "change_id",
            sa.Integer(),
            sa.ForeignKey("change.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("criterion", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.UniqueConstraint(
            "submission_id", "criterion", name="uq_acceptance_result_submission"
        ),
    )
    op.create_index("ix_acceptance_result_change_id", "acceptance_result", ["change_id"])


def downgrade() -> None:
    # Before 0023 a change is standard, normal or emergency: service and agreement changes
    # (approved as normal ones) go back as normal changes.
    op.execute("UPDATE change SET type = 'normal' WHERE type IN ('service', 'agreement')")
    op.drop_index("ix_acceptance_result_change_id", table_name="acceptance_result")
    op.drop_table("acceptance_result")
    op.drop_index("ix_service_change_service", table_name="service_change")
    op.drop_table("service_change")
