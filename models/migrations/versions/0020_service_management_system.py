"""the service management system: objectives and controlled documents with their reviews
(issue 14, SMS)

Revision ID: 0020
Revises: 0015

- sms_item: one row per [sms] objective or document (unique (kind, name)), its current version,
  next review and the review date its reminders were planned for.
- sms_review: every review recorded (date, outcome, new version, note, who).
Existing data is untouched; the rows are created by the first sweep after the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=30), nullable=True),
        sa.Column("file_version", sa.String(length=30), nullable=True),
        sa.Column("file_next_review", sa.Date(), nullable=True),
        sa.Column("next_review", sa.Date(), nullable=True),
        sa.Column("planned_for", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "name", name="uq_sms_item_kind_name"),
    )
    op.create_index("ix_sms_item_next_review", "sms_item", ["next_review"])
    op.create_table(
        "sms_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("sms_item.id"), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("version", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_review", sa.Date(), nullable=True),
    )
    op.create_index("ix_sms_review_item_id", "sms_review", ["item_id"])
    op.create_index("ix_sms_review_recorded_at", "sms_review", ["recorded_at"])


def downgrade() -> None:
    op.drop_table("sms_review")
    op.drop_table("sms_item")
