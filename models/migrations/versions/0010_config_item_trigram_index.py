"""config_item: a trigram index for the type-ahead's substring matches (PostgreSQL only)

Revision ID: 0010
Revises: 0009

The type-ahead answers prefixes from a b-tree and falls back to "contains" for the rest, which
scans the table without this index. pg_trgm ships with PostgreSQL and is a trusted extension
(PostgreSQL 13+), so the database owner can usually create it; where that is not allowed the
migration carries on without the index and the fallback keeps scanning (still correct).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as error:
        log.warning(
            "pg_trgm is not available (%s); type-ahead substring search will scan", error.orig
        )
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_config_item_name_lower_trgm "
        "ON config_item USING gin (name_lower gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_config_item_name_lower_trgm")
