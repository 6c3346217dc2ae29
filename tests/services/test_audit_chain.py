"""The audit trail is append-only in the database itself and hash-chained, and
`servicedesk audit verify` finds the first row edited or removed behind the bot's back."""

from __future__ import annotations

import argparse
import importlib.util
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.cli import audit_command
from bot.db import alembic_config, make_engine, upgrade_database
from services import audit

MIGRATION = Path(__file__).resolve().parents[2] / "models/migrations/versions/0011_audit_chain.py"


def _append(database, clock, count: int, *, key: str = "INC-1", actor: str = "U1") -> None:
    with database.session() as session:
        for n in range(count):
            audit.record(
                session,
                key=key,
                actor=actor,
                at=clock.now() + timedelta(seconds=n),
                action="commented",
                note=f"note {n} <b>&",
            )


def _verify(database, capsys) -> tuple[int, str]:
    code = audit_command(argparse.Namespace(audit_action="verify"), database)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _tamper(database, statement: str) -> None:
    """Change the table the way someone with the database file or a superuser login could."""
    if database.dialect == "sqlite":
        raw = sqlite3.connect(database.engine.url.database)
        raw.execute("DROP TRIGGER audit_entry_no_update")
        raw.execute("DROP TRIGGER audit_entry_no_delete")
        raw.execute(statement)
        raw.commit()
        raw.close()
        return
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
        connection.execute(text(statement))
        connection.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only"))


def test_every_row_chains_to_the_one_before(database, clock, capsys):
    _append(database, clock, 5)
    with database.session() as session:
        rows = audit.trail(session, key="INC-1")
    assert rows[0].prev_hash == "0" * 64
    assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
    assert len({r.row_hash for r in rows}) == 5
    code, output = _verify(database, capsys)
    assert code == 0 and "OK: 5 rows" in output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET note = 'rewritten' WHERE id = 2",
        "DELETE FROM audit_entry WHERE id = 2",
        "UPDATE audit_entry SET actor = 'U0ELSE'",
    ],
)
def test_update_and_delete_are_refused_by_the_database(database, clock, statement):
    _append(database, clock, 3)
    with pytest.raises(DBAPIError, match="append-only"):
        with database.engine.begin() as connection:
            connection.execute(text(statement))
    with database.session() as session:
        assert [r.note for r in audit.trail(session, key="INC-1")][1] == "note 1 <b>&"


def test_replacing_an_existing_row_is_refused(database, clock):
    _append(database, clock, 2)
    if database.dialect == "sqlite":
        statements = [
            "INSERT OR REPLACE INTO audit_entry (id, record_key, actor, at, action, note) "
            "VALUES (1, 'INC-1', 'U0EVIL', '2026-11-27 10:00:00', 'commented', 'forged')",
            "REPLACE INTO audit_entry (id, record_key, actor, at, action) "
            "VALUES (2, 'INC-1', 'U0EVIL', '2026-11-27 10:00:00', 'commented')",
        ]
    else:
        statements = [
            "INSERT INTO audit_entry (id, record_key, actor, at, action, note) "
            "VALUES (1, 'INC-1', 'U0EVIL', now(), 'commented', 'forged') "
            "ON CONFLICT (id) DO UPDATE SET note = EXCLUDED.note, actor = EXCLUDED.actor"
        ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            with database.engine.begin() as connection:
                connection.execute(text(statement))
    with database.session() as session:
        assert {r.actor for r in audit.trail(session, key="INC-1")} == {"U1"}


def test_an_edited_note_is_found_at_its_row(database, clock, capsys):
    _append(database, clock, 6)
    _tamper(database, "UPDATE audit_entry SET note = 'nothing happened' WHERE id = 4")
    code, output = _verify(database, capsys)
    assert code == 1
    assert "row 4 (INC-1)" in output and "was edited" in output
    assert "3 rows before it verified" in output


def test_a_removed_row_is_found_at_the_row_after_it(database, clock, capsys):
    _append(database, clock, 6)
    _tamper(database, "DELETE FROM audit_entry WHERE id = 3")
    code, output = _verify(database, capsys)
    assert code == 1
    assert "row 4 (INC-1)" in output and "does not chain to row 2" in output


def test_concurrent_writers_never_chain_to_the_same_row(database, clock, capsys):
    """Two writers appending at once: every row still has a predecessor of its own."""
    errors: list[BaseException] = []

    def writer(actor: str) -> None:
        try:
            for n in range(15):
                with database.session() as session:
                    audit.record(
                        session, key=f"INC-{n}", actor=actor, at=clock.now(), action="commented"
                    )
                    audit.record(
                        session, key=f"INC-{n}", actor=actor, at=clock.now(), action="assigned"
                    )
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(f"U{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    with database.engine.connect() as connection:
        prevs = [r[0] for r in connection.execute(text("SELECT prev_hash FROM audit_entry"))]
    assert len(prevs) == 90 and len(set(prevs)) == 90
    code, output = _verify(database, capsys)
    assert code == 0 and "90 rows" in output, output


def _migration_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("migration_0011", MIGRATION)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_migration_hashes_rows_written_before_it(database, clock, capsys):
    """On either database: rows without hashes (as before 0011) get them, in id order."""
    _append(database, clock, 7)
    _tamper(database, "UPDATE audit_entry SET prev_hash = NULL, row_hash = NULL")
    assert _verify(database, capsys)[0] == 1
    migration = _migration_module()
    postgres = database.dialect == "postgresql"
    with database.engine.begin() as connection:
        if postgres:  # as upgrade() does around the backfill (SQLite's trigger is gone above)
            connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        with Operations.context(MigrationContext.configure(connection)):
            migration._hash_existing_rows(batch=3)
        if postgres:
            connection.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
    code, output = _verify(database, capsys)
    assert code == 0 and "7 rows" in output
    _append(database, clock, 1)  # the service goes on from the migrated tail
    assert _verify(database, capsys)[0] == 0


def test_upgrade_from_0010_chains_existing_rows_and_refuses_replace(tmp_path, capsys):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(
                text(
                    "INSERT INTO audit_entry (record_key, actor, at, action, note) "
                    f"VALUES ('INC-1', 'U1', '2026-01-01 10:00:0{n}.250000', 'commented', 'n{n}')"
                )
            )
    upgrade_database(engine)
    from bot.db import Database

    database = Database(engine)
    code, output = _verify(database, capsys)
    assert code == 0 and "3 rows" in output
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT OR REPLACE INTO audit_entry (id, record_key, actor, at, action) "
                    "VALUES (1, 'INC-1', 'U0EVIL', '2026-01-01 10:00:00', 'created')"
                )
            )
    engine.dispose()
