"""major incidents, their timeline and post-incident reviews (issue 13)

Revision ID: 0018
Revises: 0017

- incident.is_major: declared major (existing incidents are not).
- major_incident: one row per declared incident: its channel, roles, next status update.
- timeline_entry: status updates and messages marked "Add to timeline".
- post_incident_review (PIR-n) and pir_action: the review and its follow-up actions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch_op:
        batch_op.add_column(
            sa.Column("is_major", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "major_incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_key", sa.String(length=32), nullable=False),
        sa.Column("declared_at", _TS, nullable=False),
        sa.Column("declared_by", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("channel_name", sa.String(length=80), nullable=True),
        sa.Column("channel_error", sa.String(length=200), nullable=True),
        sa.Column("channel_claimed_at", _TS, nullable=True),
        sa.Column("summary_ts", sa.String(length=32), nullable=True),
        sa.Column("commander", sa.String(length=32), nullable=True),
        sa.Column("comms_lead", sa.String(length=32), nullable=True),
        sa.Column("next_update_due", _TS, nullable=True),
        sa.Column("last_update_at", _TS, nullable=True),
        sa.Column("ended_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_key"),
    )
    op.create_index("ix_major_incident_channel_id", "major_incident", ["channel_id"])
    op.create_index("ix_major_incident_commander", "major_incident", ["commander"])
    op.create_table(
        "timeline_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("impact", sa.Text(), nullable=True),
        sa.Column("next_steps", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=32), nullable=True),
        sa.Column("source_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_key", "source_ts", name="uq_timeline_source"),
    )
    op.create_index("ix_timeline_entry_record_key", "timeline_entry", ["record_key"])
    op.create_table(
        "post_incident_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_key", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("what_happened", sa.Text(), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("went_well", sa.Text(), nullable=True),
        sa.Column("problem_key", sa.String(length=32), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", _TS, nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("message_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rendered_version", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_key"),
    )
    op.create_index("ix_post_incident_review_status", "post_incident_review", ["status"])
    op.create_index("ix_post_incident_review_owner", "post_incident_review", ["owner"])
    op.create_index("ix_post_incident_review_created_at", "post_incident_review", ["created_at"])
    op.create_index(
        "ix_post_incident_review_open_due", "post_incident_review", ["status", "due_at"]
    )
    unposted = sa.text("message_ts IS NULL")
    dirty = sa.text("message_version > rendered_version")
    op.create_index(
        "ix_post_incident_review_unposted",
        "post_incident_review",
        ["created_at"],
        sqlite_where=unposted,
        postgresql_where=unposted,
    )
    op.create_index(
        "ix_post_incident_review_message_dirty",
        "post_incident_review",
        ["id"],
        sqlite_where=dirty,
        postgresql_where=dirty,
    )
    op.create_table(
        "pir_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("done_at", _TS, nullable=True),
        sa.Column("done_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["post_incident_review.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pir_action_review_id", "pir_action", ["review_id"])
    op.create_index("ix_pir_action_owner", "pir_action", ["owner"])
    op.create_index("ix_pir_action_open_due", "pir_action", ["done_at", "due_at"])


def downgrade() -> None:
    op.drop_table("pir_action")
    op.drop_table("post_incident_review")
    op.drop_table("timeline_entry")
    op.drop_table("major_incident")
    with op.batch_alter_table("incident") as batch_op:
        batch_op.drop_column("is_major")
