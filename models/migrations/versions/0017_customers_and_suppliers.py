"""customers and suppliers: satisfaction surveys, complaints, compliments (issue 12)

Revision ID: 0017
Revises: 0016

- survey: one row per resolved incident or fulfilled request (unique record_key), so a survey
  goes out once across restarts and replicas; its answer (score 1-5, comment).
- complaint: CMP-n records with their channel message, owner and response target.
- compliment: compliments, passed to the team.
- supplier_wait: which supplier (and their ticket) a record on hold awaiting supplier waits on.
- relationship_review, review_action: service reviews with customers and supplier reviews,
  and the actions agreed at them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("team", sa.String(length=60), nullable=True),
        sa.Column("customer", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", TZ, nullable=True),
        sa.Column("follow_up", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_key", name="uq_survey_record_key"),
    )
    op.create_index("ix_survey_recipient_created", "survey", ["recipient", "created_at"])
    op.create_index("ix_survey_created_status", "survey", ["created_at", "status"])
    for column in ("service", "team", "customer"):
        op.create_index(f"ix_survey_{column}", "survey", [column])

    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=150), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("customer", sa.String(length=60), nullable=True),
        sa.Column("complainant", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_due_at", TZ, nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("from_record", sa.String(length=32), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("submission_id", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("responded_at", TZ, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("claimed_at", TZ, nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("message_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rendered_version", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", name="uq_complaint_submission_id"),
    )
    for column in (
        "service",
        "customer",
        "complainant",
        "owner",
        "status",
        "response_due_at",
        "from_record",
        "created_at",
    ):
        op.create_index(f"ix_complaint_{column}", "complaint", [column])
    unposted = sa.text("message_ts IS NULL")
    dirty = sa.text("message_version > rendered_version")
    op.create_index(
        "ix_complaint_unposted",
        "complaint",
        ["created_at"],
        sqlite_where=unposted,
        postgresql_where=unposted,
    )
    op.create_index(
        "ix_complaint_message_dirty",
        "complaint",
        ["id"],
        sqlite_where=dirty,
        postgresql_where=dirty,
    )

    op.create_table(
        "compliment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("team", sa.String(length=60), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("given_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("submission_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", name="uq_compliment_submission_id"),
    )
    for column in ("service", "team", "created_at"):
        op.create_index(f"ix_compliment_{column}", "compliment", [column])

    op.create_table(
        "supplier_wait",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=32), nullable=False),
        sa.Column("supplier", sa.String(length=60), nullable=False),
        sa.Column("ticket_ref", sa.String(length=120), nullable=False),
        sa.Column("set_by", sa.String(length=32), nullable=False),
        sa.Column("set_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_key", name="uq_supplier_wait_record_key"),
    )
    op.create_index("ix_supplier_wait_supplier", "supplier_wait", ["supplier"])

    op.create_table(
        "relationship_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_kind", sa.String(length=10), nullable=False),
        sa.Column("party", sa.String(length=60), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("next_review", sa.Date(), nullable=True),
        sa.Column("submission_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", name="uq_relationship_review_submission_id"),
    )
    op.create_index(
        "ix_relationship_review_party",
        "relationship_review",
        ["party_kind", "party", "reviewed_on"],
    )
    op.create_table(
        "review_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("party_kind", sa.String(length=10), nullable=False),
        sa.Column("party", sa.String(length=60), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_at", TZ, nullable=True),
        sa.Column("done_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["relationship_review.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("review_id", "party", "owner", "due_on", "done_at"):
        op.create_index(f"ix_review_action_{column}", "review_action", [column])


def downgrade() -> None:
    op.drop_table("review_action")
    op.drop_table("relationship_review")
    op.drop_table("supplier_wait")
    op.drop_table("compliment")
    op.drop_table("complaint")
    op.drop_table("survey")
