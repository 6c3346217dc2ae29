"""the audit chain's tail in one round trip on PostgreSQL (issue 10)

Revision ID: 0027
Revises: 0026

`servicedesk_audit_tail(lock_key)` takes the transaction-level advisory lock that serialises
audit appends, then reads the newest row's hash. It is VOLATILE, so under READ COMMITTED its
read takes a fresh snapshot after the lock is granted: a second appender waits for the first
to commit and then sees its row, exactly as the two statements it replaces did. SQLite needs
nothing (its writers are serialised by BEGIN IMMEDIATE).
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION servicedesk_audit_tail(lock_key bigint) RETURNS text
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(lock_key);
            RETURN (SELECT row_hash FROM audit_entry ORDER BY id DESC LIMIT 1);
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS servicedesk_audit_tail(bigint)")
