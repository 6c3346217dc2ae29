"""the service management system: objectives and controlled documents with their reviews
(issue 14, SMS)

Revision ID: 0020
Revises: 0018

- sms_item: one row per [sms] objective or document (unique (kind, name)), its current version,
  next review and the review date its reminders were planned for.
- sms_review: every review recorded (date, outcome, new version, note, who).
- cost (money in whole cents, exact on SQLite too; indexed by service and day) and budget_alert (unique per
  service, period and threshold: the 80 % / 100 % notices go out once per period).
- internal_audit (AUD-n), nonconformity (NC-n) and improvement (IMP-n): record kinds with a channel message (the
  message bookkeeping columns and the two sweep indexes every such kind has).
Existing data is untouched; the rows are created by the first sweep after the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None


UNPOSTED = sa.text("message_ts IS NULL")
DIRTY = sa.text("message_version > rendered_version")


def _message_columns(*, submission: bool = True) -> list[sa.Column]:
    extra = [sa.Column("submission_id", sa.String(length=64), nullable=True)] if submission else []
    return [
        *extra,
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("message_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rendered_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _indexes(table: str, columns: list[str]) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])
    op.create_index(
        f"ix_{table}_unposted",
        table,
        ["created_at"],
        sqlite_where=UNPOSTED,
        postgresql_where=UNPOSTED,
    )
    op.create_index(
        f"ix_{table}_message_dirty", table, ["id"], sqlite_where=DIRTY, postgresql_where=DIRTY
    )


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
    op.create_table(
        "nonconformity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("corrective_action", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("effectiveness", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        *_message_columns(),
        sa.UniqueConstraint("submission_id", name="uq_nonconformity_submission_id"),
    )
    _indexes("nonconformity", ["source", "owner", "status", "due_on", "created_at", "closed_at"])
    op.create_table(
        "improvement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("process", sa.String(length=40), nullable=False),
        sa.Column("evaluator", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        *_message_columns(),
        sa.UniqueConstraint("submission_id", name="uq_improvement_submission_id"),
    )
    _indexes("improvement", ["process", "status", "owner", "due_on", "created_at", "done_at"])

    op.create_table(
        "internal_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("auditor", sa.String(length=32), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("conclusion", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        *_message_columns(submission=False),
        sa.UniqueConstraint("name", "planned_on", name="uq_internal_audit_planned"),
    )
    _indexes("internal_audit", ["name", "planned_on", "status", "created_at", "completed_at"])

    op.create_table(
        "cost",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service", sa.String(length=60), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cost_service_incurred", "cost", ["service", "incurred_on"])
    op.create_index("ix_cost_incurred_on", "cost", ["incurred_on"])
    op.create_index("ix_cost_recorded_at", "cost", ["recorded_at"])
    op.create_table(
        "budget_alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service", sa.String(length=60), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=False),
        sa.Column("actual_cents", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("service", "period", "threshold", name="uq_budget_alert_once"),
    )
    op.create_index("ix_budget_alert_alerted_at", "budget_alert", ["alerted_at"])


def downgrade() -> None:
    op.drop_table("budget_alert")
    op.drop_table("cost")
    op.drop_table("internal_audit")
    op.drop_table("improvement")
    op.drop_table("nonconformity")
    op.drop_table("sms_review")
    op.drop_table("sms_item")
