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

from bot.admin_commands import audit_command
from bot.db import alembic_config, make_engine, upgrade_database
from services import audit, incidents

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


def _in_threads(work, errors: list[BaseException]) -> None:  # type: ignore[no-untyped-def]
    """Run `work(U0)`, `work(U1)` and `work(U2)` at once; none may have failed."""
    threads = [threading.Thread(target=work, args=(f"U{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors


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

    _in_threads(writer, errors)
    with database.engine.connect() as connection:
        prevs = [r[0] for r in connection.execute(text("SELECT prev_hash FROM audit_entry"))]
    assert len(prevs) == 90 and len(set(prevs)) == 90
    code, output = _verify(database, capsys)
    assert code == 0 and "90 rows" in output, output


def test_records_logged_at_once_with_other_appends_never_share_a_predecessor(
    database, clock, capsys
):
    """A form's new record reads the chain's tail in its own INSERT on PostgreSQL (taking the
    append lock there): records logged at once, beside plain appends, still chain in turn."""
    from models.incident import IncidentInput, Level
    from models.policy import Policy

    errors: list[BaseException] = []
    data = IncidentInput(title="Down", impact=Level.LOW, urgency=Level.LOW)

    def logger(who: str) -> None:
        try:
            for n in range(10):
                with database.session() as session:
                    incidents.create(
                        session,
                        data=data,
                        reporter=who,
                        now=clock.now(),
                        policy=Policy(),
                        submission_id=f"{who}-{n}",
                    )
                with database.session() as session:
                    audit.record(session, key="INC-1", actor=who, at=clock.now(), action="noted")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    _in_threads(logger, errors)
    with database.engine.connect() as connection:
        prevs = [r[0] for r in connection.execute(text("SELECT prev_hash FROM audit_entry"))]
        created = connection.execute(
            text("SELECT count(*) FROM audit_entry WHERE action = 'created'")
        ).scalar_one()
    assert created == 30 and len(prevs) == 60 and len(set(prevs)) == 60
    code, output = _verify(database, capsys)
    assert code == 0 and "60 rows" in output, output


def test_a_record_created_after_an_append_in_the_same_transaction_chains_to_that_append(
    database, clock, capsys
):
    """The new record's INSERT reads the tail from the database (PostgreSQL), which does not
    yet hold this transaction's unflushed rows: the tail the transaction knows stands."""
    from models.incident import IncidentInput, Level
    from models.policy import Policy

    _append(database, clock, 1, key="INC-0")
    with database.session() as session:
        audit.record(session, key="PRB-1", actor="U1", at=clock.now(), action="commented")
        incidents.create(
            session,
            data=IncidentInput(title="Down", impact=Level.LOW, urgency=Level.LOW),
            reporter="U1",
            now=clock.now(),
            policy=Policy(),
            submission_id="V1",
        )
    code, output = _verify(database, capsys)
    assert code == 0 and "3 rows" in output, output


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


EDITED = "its content does not match its hash: the row was edited"


def _report(database, *, batch_size: int = 5000) -> audit.ChainReport:
    with database.session() as session:
        return audit.verify(session, batch_size=batch_size)


@pytest.mark.parametrize(
    "column",
    ["record_key", "actor", "at", "action", "field", "from_value", "to_value", "note"],
)
def test_every_column_of_a_row_is_covered_by_its_hash(database, clock, column):
    _append(database, clock, 2)
    with database.session() as session:
        audit.record(
            session,
            key="INC-1",
            actor="U1",
            at=clock.now() + timedelta(minutes=5),
            action="changed",
            field="priority",
            before=3,
            after=1,
            note="customer-facing",
        )
    _append(database, clock, 1)
    value = "'2026-01-01 00:00:00'" if column == "at" else "'tampered'"
    _tamper(database, f"UPDATE audit_entry SET {column} = {value} WHERE id = 3")
    assert _report(database) == audit.ChainReport(
        2, bad_id=3, record_key=_key(column), problem=EDITED
    )


def _key(column: str) -> str:
    return "tampered" if column == "record_key" else "INC-1"


def test_a_rewritten_first_row_does_not_chain_to_the_start(database, clock):
    _append(database, clock, 2)
    _tamper(database, f"UPDATE audit_entry SET prev_hash = '{'f' * 64}' WHERE id = 1")
    assert _report(database) == audit.ChainReport(
        0,
        bad_id=1,
        record_key="INC-1",
        problem="it does not chain to the start of the trail: a row was removed or inserted "
        "before it, or the row before it was rewritten together with its hash",
    )


@pytest.mark.parametrize(
    ("row_hash", "prev_hash"), [("NULL", "NULL"), (f"'{'a' * 64}'", "NULL"), ("NULL", "'0'")]
)
def test_a_row_written_around_the_service_is_named(database, clock, row_hash, prev_hash):
    _append(database, clock, 2)
    _tamper(
        database,
        "INSERT INTO audit_entry (record_key, actor, at, action, row_hash, prev_hash) "
        f"VALUES ('INC-1', 'U0EVIL', '2026-11-27 10:00:00', 'commented', {row_hash}, {prev_hash})",
    )
    _append(database, clock, 1)
    assert _report(database) == audit.ChainReport(
        2,
        bad_id=3,
        record_key="INC-1",
        problem="it has no hash: it was written without the audit service",
    )


def test_verify_walks_the_trail_in_pages_of_any_size(database, clock):
    _append(database, clock, 7)
    for size in (1, 2, 3, 7, 5000):
        assert _report(database, batch_size=size) == audit.ChainReport(7)
    _tamper(database, "UPDATE audit_entry SET note = 'quiet' WHERE id = 6")
    for size in (1, 2, 5, 5000):
        assert _report(database, batch_size=size).bad_id == 6


def test_a_session_appending_again_after_its_commit_chains_to_the_newest_row(database, clock):
    """The remembered tail is forgotten at commit: a row another writer added in between is
    the next row's predecessor, not the row this session wrote before."""
    with database.session() as first:
        audit.record(first, key="INC-1", actor="U1", at=clock.now(), action="commented")
        first.commit()
        _append(database, clock, 1, key="INC-2", actor="U2")
        audit.record(first, key="INC-1", actor="U1", at=clock.now(), action="commented")
        first.commit()
        _append(database, clock, 1, key="INC-3", actor="U3")
        audit.record(first, key="INC-1", actor="U1", at=clock.now(), action="commented")
        first.rollback()
        audit.record(first, key="INC-1", actor="U1", at=clock.now(), action="resolved")
    assert _report(database) == audit.ChainReport(5)


def test_appending_many_rows_in_one_transaction_reads_the_tail_once(database, clock):
    """(On PostgreSQL the read is migration 0027's function, which takes the append lock
    first: one round trip.)"""
    from tests.statements import captured

    seen = captured(database, lambda: _append(database, clock, 5))
    tail_reads = [
        s
        for s in seen
        if ("row_hash" in s and "ORDER BY" in s and "DESC" in s) or "servicedesk_audit_tail" in s
    ]
    assert len(tail_reads) == 1
    assert _report(database) == audit.ChainReport(5)
