"""Migration 0027 adds `servicedesk_audit_tail` on PostgreSQL (the append lock and the chain's
tail in one round trip): after it the tail it answers is the newest row's hash, the rows
written before it are untouched, and it comes back out without the function. SQLite gets
nothing and loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, Table, insert, text

from bot.db import make_engine
from models.audit import GENESIS, chain_hash
from tests.agreements.test_migration import _to
from tests.security.test_migration_0026 import empty_url  # noqa: F401 - the fixture

WHEN = datetime(2026, 11, 29, 10, tzinfo=UTC)


def _function_exists(connection) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        connection.execute(
            text("SELECT count(*) FROM pg_proc WHERE proname = 'servicedesk_audit_tail'")
        ).scalar_one()
    )


def test_0027_answers_the_newest_hash_keeps_the_rows_and_comes_back_out(empty_url: str) -> None:  # noqa: F811
    engine = make_engine(empty_url)
    _to(engine, "0026")
    entries = Table("audit_entry", MetaData(), autoload_with=engine)
    hashes = []
    with engine.begin() as connection:
        previous = GENESIS
        for n, action in enumerate(("created", "resolved")):
            fields = dict(record_key="INC-1", actor="U1", at=WHEN, action=action)
            row_hash = chain_hash(
                prev_hash=previous, field=None, from_value=None, to_value=None, note=None, **fields
            )
            connection.execute(
                insert(entries).values(id=n + 1, prev_hash=previous, row_hash=row_hash, **fields)
            )
            hashes.append(row_hash)
            previous = row_hash
    _to(engine, "0027")
    with engine.begin() as connection:
        stored = connection.execute(text("SELECT row_hash FROM audit_entry ORDER BY id")).all()
        assert [r[0] for r in stored] == hashes
        if engine.dialect.name == "postgresql":
            tail = connection.execute(text("SELECT servicedesk_audit_tail(1)")).scalar_one()
            assert tail == hashes[-1]
            locked = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid()"
                )
            ).scalar_one()
            assert locked == 1  # the append lock is held until this transaction ends
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            assert _function_exists(connection)
    _to(engine, "0026", down=True)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            assert not _function_exists(connection)
        assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 2
    engine.dispose()
