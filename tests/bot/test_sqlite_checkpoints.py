"""SQLite's write-ahead log is copied back into the database file by a thread of its own
(bot/db.py, CHECKPOINTS), not by whichever commit crosses SQLite's thousand-page mark while a
Slack request waits on it. (What that does to the ack's tail, bench/after_ack.py shows.)"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import db as db_module
from bot.db import Checkpointer, Database


@pytest.fixture
def checkpoints(monkeypatch):  # type: ignore[no-untyped-def]
    """The process's checkpointer, swapped for one without a thread: these tests run it."""
    manual = Checkpointer(delay=None)
    monkeypatch.setattr(db_module, "CHECKPOINTS", manual)
    return manual


@pytest.fixture
def sqlite_db(tmp_path: Path, checkpoints):  # type: ignore[no-untyped-def]
    database = Database.from_url(f"sqlite:///{tmp_path / 'wal.db'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER, filler TEXT)"))
    yield database
    database.dispose()


def _write(database: Database, rows: int) -> None:
    for n in range(rows):
        with database.session() as session:
            session.exec(text("INSERT INTO t VALUES (:n, :f)"), params={"n": n, "f": "x" * 200})


def test_a_commit_leaves_the_checkpoint_to_the_thread_up_to_the_backstop(sqlite_db):
    with sqlite_db.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    # SQLite's own would run in the committing thread at 1,000 pages.
    assert pages == db_module.WAL_BACKSTOP_PAGES and pages > 1000


def test_the_checkpointer_copies_every_frame_a_write_left_in_the_log(sqlite_db, checkpoints):
    checkpoints.run_pending()  # what earlier writes (the table) left
    _write(sqlite_db, 50)
    assert sqlite_db.engine in checkpoints.pending()
    path = sqlite_db.engine.url.database
    busy, frames, copied = checkpoints.run_pending()[path]
    assert busy == 0 and frames > 0 and copied == frames
    # Nothing written since: nothing to do.
    assert path not in checkpoints.run_pending()
    # Reads and rolled-back sessions do not mark it.
    with sqlite_db.read_session() as session:
        assert session.exec(text("SELECT count(*) FROM t")).scalar() == 50
    with pytest.raises(RuntimeError), sqlite_db.session() as session:
        session.exec(text("INSERT INTO t VALUES (0, '')"))
        raise RuntimeError("rolled back")
    assert sqlite_db.engine not in checkpoints.pending()


def test_the_checkpoint_takes_no_connection_from_the_pool(sqlite_db, checkpoints, monkeypatch):
    pool = sqlite_db.engine.pool
    _write(sqlite_db, 5)
    before = (pool.checkedin(), pool.checkedout())
    connections = []
    original = db_module.sqlite3.connect

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        connections.append(original(*args, **kwargs))
        return connections[-1]

    monkeypatch.setattr(db_module.sqlite3, "connect", counted)
    assert sqlite_db.engine.url.database in checkpoints.run_pending()
    monkeypatch.undo()
    # It opened one connection of its own and closed it; the pool is as it was.
    assert len(connections) == 1
    with pytest.raises(sqlite3.ProgrammingError):
        connections[0].execute("SELECT 1")
    assert (pool.checkedin(), pool.checkedout()) == before


def test_its_thread_checkpoints_soon_after_the_commits_without_being_asked(tmp_path):
    own = Checkpointer(delay=0.01)
    database = Database.from_url(f"sqlite:///{tmp_path / 'own.db'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    done = threading.Event()
    original = own.run_pending

    def run_and_tell() -> dict[str, tuple[int, int, int]]:
        found = original()
        if found:
            done.set()
        return found

    own.run_pending = run_and_tell  # type: ignore[method-assign]
    own.committed(database.engine)
    assert done.wait(timeout=10), "the checkpoint thread did not run"
    assert own.pending() == []
    database.dispose()


def test_a_disposed_database_is_forgotten_and_a_deleted_one_never_made_anew(tmp_path, checkpoints):
    database = Database.from_url(f"sqlite:///{tmp_path / 'gone.db'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    assert database.engine in checkpoints.pending()
    database.dispose()
    assert database.engine not in checkpoints.pending()
    # Marked again, then its files deleted (a test's store): no empty database appears.
    checkpoints.committed(database.engine)
    for leftover in tmp_path.glob("gone.db*"):
        leftover.unlink()
    assert str(tmp_path / "gone.db") not in checkpoints.run_pending()
    assert not (tmp_path / "gone.db").exists()


def test_a_store_deleted_after_the_check_is_not_made_anew_by_the_checkpoint(tmp_path):
    # Deleted between the check and the connection: the checkpoint fails, it creates nothing.
    gone = tmp_path / "gone? #1.db"
    with pytest.raises(sqlite3.OperationalError):
        db_module._checkpoint(str(gone))
    assert list(tmp_path.iterdir()) == []
    # A path with characters a URI would read otherwise is still found.
    kept = sqlite3.connect(gone)
    kept.execute("PRAGMA journal_mode=wal")
    kept.execute("CREATE TABLE t (n INTEGER)")
    kept.commit()
    assert db_module._checkpoint(str(gone))[0] == 0
    kept.close()
