"""management reviews and effort logged on records (issue 14, management review and effort)

Revision ID: 0024
Revises: 0023

- management_review (MR-n): a record kind with a channel message (the message bookkeeping
  columns and the two sweep indexes every such kind has); planned_on is unique, so two
  instances plan one review.
- management_review_action: the actions agreed at a review (owner, due date, done).
- effort_entry: minutes logged on a record, the hourly rate it was costed at and the cost row
  booked for it (category "effort").
Existing data is untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UNPOSTED = sa.text("message_ts IS NULL")
DIRTY = sa.text("message_version > rendered_version")


def upgrade() -> None:
    op.create_table(
        "management_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("decisions", sa.Text(), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=32), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_id", sa.String(length=64), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("message_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rendered_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("planned_on", name="uq_management_review_planned_on"),
        sa.UniqueConstraint("submission_id", name="uq_management_review_submission_id"),
    )
    for column in ("planned_on", "status", "recorded_at", "created_at"):
        op.create_index(f"ix_management_review_{column}", "management_review", [column])
    op.create_index(
        "ix_management_review_unposted",
        "management_review",
        ["created_at"],
        sqlite_where=UNPOSTED,
        postgresql_where=UNPOSTED,
    )
    op.create_index(
        "ix_management_review_message_dirty",
        "management_review",
        ["id"],
        sqlite_where=DIRTY,
        postgresql_where=DIRTY,
    )
    op.create_table(
        "management_review_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("review_id", sa.Integer(), sa.ForeignKey("management_review.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=32), nullable=True),
    )
    for column in ("review_id", "owner", "due_on", "done_at"):
        op.create_index(
            f"ix_management_review_action_{column}", "management_review_action", [column]
        )
    op.create_table(
        "effort_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_key", sa.String(length=32), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=60), nullable=True),
        sa.Column("service", sa.String(length=60), nullable=True),
        sa.Column("rate_cents", sa.Integer(), nullable=False),
        sa.Column("cost_id", sa.Integer(), sa.ForeignKey("cost.id"), nullable=True),
        sa.Column("note", sa.String(length=3000), nullable=False),
        sa.Column("logged_by", sa.String(length=32), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_effort_entry_record_key", "effort_entry", ["record_key"])
    op.create_index("ix_effort_entry_logged_at", "effort_entry", ["logged_at"])


def downgrade() -> None:
    op.drop_table("effort_entry")
    op.drop_table("management_review_action")
    op.drop_table("management_review")
