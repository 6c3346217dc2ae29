"""service level agreements, their versions and reviews (issue 11, agreements)

Revision ID: 0013
Revises: 0012

Adds the agreement, agreement_version and agreement_review tables, and the agreement an
incident or service request runs its SLA on (plus the request's service). Existing records
keep NULL: they ran on the global targets.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("next_review", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_agreement_name"),
    )
    op.create_index("ix_agreement_next_review", "agreement", ["next_review"])
    op.create_table(
        "agreement_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_agreement_version"),
    )
    op.create_index("ix_agreement_version_name", "agreement_version", ["name"])
    op.create_table(
        "agreement_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_review", sa.Date(), nullable=True),
    )
    op.create_index("ix_agreement_review_name", "agreement_review", ["name"])
    op.create_index("ix_agreement_review_recorded_at", "agreement_review", ["recorded_at"])
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agreement", sa.String(length=60), nullable=True))
        batch_op.create_index("ix_incident_agreement", ["agreement"])
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("agreement", sa.String(length=60), nullable=True))
        batch_op.create_index("ix_service_request_service", ["service"])
        batch_op.create_index("ix_service_request_agreement", ["agreement"])


def downgrade() -> None:
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.drop_index("ix_service_request_agreement")
        batch_op.drop_index("ix_service_request_service")
        batch_op.drop_column("agreement")
        batch_op.drop_column("service")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_agreement")
        batch_op.drop_column("agreement")
    op.drop_table("agreement_review")
    op.drop_table("agreement_version")
    op.drop_table("agreement")
