"""drop three indexes that a wider index already serves (issue 10)

Revision ID: 0028
Revises: 0027

Every write of an outbox row or an SLA timer updates each of its table's indexes, and the SLA
sweep writes a few hundred of each at once. These three repeat the leading column of another
index, which answers the same lookups:

- ix_notification_record_key: uq_notification_once (record_key, kind, stage, recipient);
- ix_notification_status: ix_notification_status_next_attempt (status, next_attempt_at);
- ix_sla_timer_record_key: uq_sla_timer_target (record_key, target).

Downgrading creates them again.
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_DROPPED = (
    ("notification", "ix_notification_record_key", ["record_key"]),
    ("notification", "ix_notification_status", ["status"]),
    ("sla_timer", "ix_sla_timer_record_key", ["record_key"]),
)


def upgrade() -> None:
    for table, name, _columns in _DROPPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(name)


def downgrade() -> None:
    for table, name, columns in _DROPPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_index(name, columns, unique=False)
