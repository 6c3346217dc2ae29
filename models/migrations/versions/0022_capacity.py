"""capacity management: measurements, each required metric's state, and the alerts raised
(issue 14, capacity)

Revision ID: 0022
Revises: 0021

- capacity_measurement: one value of one metric of one item at one time; (item, metric, at)
  unique, which is also the index the latest and last-N reads walk.
- capacity_state: one row per required metric: its level, latest value, forecast, and the
  count of alerts raised (locked while a measurement is evaluated).
- capacity_alert: every warning, critical and forecast crossing, unique per (state, number).
The requirements live in the policy file; existing data is untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capacity_measurement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item", sa.String(length=100), nullable=False),
        sa.Column("metric", sa.String(length=60), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "item", "metric", "at", name="uq_capacity_measurement_item_metric_at"
        ),
    )
    op.create_index(
        "ix_capacity_measurement_recorded_at", "capacity_measurement", ["recorded_at"]
    )
    op.create_table(
        "capacity_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item", sa.String(length=100), nullable=False),
        sa.Column("metric", sa.String(length=60), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("latest_value", sa.Float(), nullable=True),
        sa.Column("latest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("forecast_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("forecast_raised", sa.Boolean(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("incident_key", sa.String(length=20), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("item", "metric", name="uq_capacity_state_item_metric"),
    )
    op.create_table(
        "capacity_alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state_id", sa.Integer(), sa.ForeignKey("capacity_state.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=100), nullable=False),
        sa.Column("metric", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forecast_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipient", sa.String(length=80), nullable=True),
        sa.Column("incident_key", sa.String(length=20), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("state_id", "number", name="uq_capacity_alert_number"),
    )
    op.create_index("ix_capacity_alert_state_id", "capacity_alert", ["state_id"])
    op.create_index("ix_capacity_alert_raised_at", "capacity_alert", ["raised_at"])


def downgrade() -> None:
    op.drop_index("ix_capacity_alert_raised_at", table_name="capacity_alert")
    op.drop_index("ix_capacity_alert_state_id", table_name="capacity_alert")
    op.drop_table("capacity_alert")
    op.drop_table("capacity_state")
    op.drop_index("ix_capacity_measurement_recorded_at", table_name="capacity_measurement")
    op.drop_table("capacity_measurement")
