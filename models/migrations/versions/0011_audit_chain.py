"""audit trail hash chain (issue 8)

Revision ID: 0011
Revises: 0010

Each audit row gets the hash of its content and of the row before it (models.audit.chain_hash),
and the rows already there are hashed here, in id order, so the chain verifies from row 1.
SQLite also refuses an INSERT that reuses an existing id: `INSERT OR REPLACE` / `REPLACE INTO`
deletes the old row without firing a DELETE trigger, which would otherwise rewrite history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.audit import GENESIS, chain_hash
from models.base import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APPEND_ONLY = "audit_entry is append-only: audit rows are never updated or deleted"
NO_REPLACE = "audit_entry is append-only: an existing audit row cannot be replaced"

_audit = sa.table(
    "audit_entry",
    sa.column("id", sa.Integer),
    sa.column("record_key", sa.String),
    sa.column("actor", sa.String),
    sa.column("at", UTCDateTime),
    sa.column("action", sa.String),
    sa.column("field", sa.String),
    sa.column("from_value", sa.Text),
    sa.column("to_value", sa.Text),
    sa.column("note", sa.Text),
    sa.column("prev_hash", sa.String),
    sa.column("row_hash", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    # The append-only trigger is lifted only for this backfill, inside the migration's
    # transaction, and put back before it commits.
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
    else:
        op.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
    _hash_existing_rows()
    if sqlite:
        op.execute(
            "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_replace BEFORE INSERT ON audit_entry "
            "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_entry WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{NO_REPLACE}'); END"
        )
    else:
        op.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")


def _hash_existing_rows(batch: int = 2000) -> None:
    connection = op.get_bind()
    prev, after = GENESIS, 0
    while True:
        rows = connection.execute(
            sa.select(_audit).where(_audit.c.id > after).order_by(_audit.c.id).limit(batch)
        ).all()
        if not rows:
            return
        updates = []
        for row in rows:
            row_hash = chain_hash(
                prev_hash=prev,
                record_key=row.record_key,
                actor=row.actor,
                at=row.at,
                action=row.action,
                field=row.field,
                from_value=row.from_value,
                to_value=row.to_value,
                note=row.note,
            )
            updates.append({"row_id": row.id, "prev": prev, "hash": row_hash})
            prev = row_hash
        connection.execute(
            _audit.update()
            .where(_audit.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("prev"), row_hash=sa.bindparam("hash")),
            updates,
        )
        after = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_replace")
        # SQLite's DROP COLUMN checks triggers that name the table; the UPDATE one is put back.
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
    with op.batch_alter_table("audit_entry", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )
