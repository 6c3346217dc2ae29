"""scheduled report runs and report figures (issue 11, reports)

Revision ID: 0015
Revises: 0014

- report_run: one row per scheduled report and period, claimed before sending (unique
  (report_name, period_start)), so a report goes out once across instances and restarts.
- sla_timer.due_at: when each target is due, so reports tell met from breached in SQL. Rows
  that already breached get their breach instant; other existing rows get theirs the next
  time their record changes (until then they count as met when stopped, breached when the
  sweep marked them).
- Indexes for the ranges the report reads: incidents logged in a period (covering the
  columns counted, so a month is read from the index alone), per service, resolved in a
  period, still open; each incident's SLA timers with their outcome columns; changes
  implemented and problems resolved / made known errors.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_name", sa.String(length=60), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_name", "period_start", name="uq_report_run_period"),
    )
    with op.batch_alter_table("report_run") as batch_op:
        batch_op.create_index("ix_report_run_status", ["status"], unique=False)
    with op.batch_alter_table("sla_timer") as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sla_timer SET due_at = breached_at WHERE breached_at IS NOT NULL")
    op.create_index(
        "ix_incident_report_logged",
        "incident",
        ["created_at", "status", "priority", "service", "acknowledged_at"],
    )
    op.create_index("ix_incident_service_created", "incident", ["service", "created_at"])
    op.create_index(
        "ix_incident_resolved_created",
        "incident",
        ["resolved_at", "created_at", "service", "impact", "status"],
    )
    op.create_index(
        "ix_incident_open_report",
        "incident",
        ["status", "created_at", "service", "impact", "closed_at"],
    )
    op.create_index(
        "ix_sla_timer_report",
        "sla_timer",
        ["record_key", "target", "stopped_at", "due_at", "breached_at"],
    )
    op.create_index("ix_change_implemented_at", "change", ["implemented_at"])
    op.create_index("ix_problem_resolved_at", "problem", ["resolved_at"])
    op.create_index("ix_problem_known_error_at", "problem", ["known_error_at"])


def downgrade() -> None:
    op.drop_index("ix_problem_known_error_at", table_name="problem")
    op.drop_index("ix_problem_resolved_at", table_name="problem")
    op.drop_index("ix_change_implemented_at", table_name="change")
    op.drop_index("ix_sla_timer_report", table_name="sla_timer")
    op.drop_index("ix_incident_open_report", table_name="incident")
    op.drop_index("ix_incident_resolved_created", table_name="incident")
    op.drop_index("ix_incident_service_created", table_name="incident")
    op.drop_index("ix_incident_report_logged", table_name="incident")
    with op.batch_alter_table("sla_timer") as batch_op:
        batch_op.drop_column("due_at")
    with op.batch_alter_table("report_run") as batch_op:
        batch_op.drop_index("ix_report_run_status")
    op.drop_table("report_run")
