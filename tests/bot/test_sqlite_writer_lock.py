"""SQLite's writers queue on a lock of the process (bot/db.py) before BEGIN IMMEDIATE, so the
next one goes on as soon as a write transaction ends instead of after SQLite's busy-handler
sleep. The lock must never outlive the transaction, however it ends, and must be shared by
every engine on the same file. (How much faster the queue is, the bench shows: bench/perf.py.)"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import db as db_module
from bot.db import Database


@pytest.fixture
def sqlite_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database.from_url(f"sqlite:///{tmp_path / 'lock.db'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield database
    database.dispose()


def _lock(database: Database) -> threading.Lock:
    return db_module._writer_lock(database.engine.url.database)


def _free(lock: threading.Lock) -> bool:
    if lock.acquire(timeout=0):
        lock.release()
        return True
    return False


def test_a_write_transaction_holds_the_lock_until_it_commits(sqlite_db):
    lock = _lock(sqlite_db)
    with sqlite_db.session() as session:
        assert _free(lock)  # nothing sent yet: no transaction, no lock
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert not _free(lock)
    assert _free(lock)


def test_the_lock_is_let_go_by_a_rollback_an_error_and_a_close(sqlite_db):
    lock = _lock(sqlite_db)
    with pytest.raises(RuntimeError, match="boom"), sqlite_db.session() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    assert _free(lock)
    connection = sqlite_db.engine.connect()
    connection.execute(text("INSERT INTO t VALUES (2)"))
    assert not _free(lock)
    connection.close()  # handed back to the pool without a commit
    assert _free(lock)
    with sqlite_db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_reads_take_no_lock(sqlite_db):
    lock = _lock(sqlite_db)
    with sqlite_db.read_session() as session:
        session.execute(text("SELECT count(*) FROM t"))
        assert _free(lock)


def test_a_second_engine_on_the_same_file_shares_the_lock_and_waits_its_turn(sqlite_db):
    other = Database.from_url(str(sqlite_db.engine.url))
    assert _lock(other) is _lock(sqlite_db)
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait(5)
        with other.session() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second wrote")

    thread = threading.Thread(target=second)
    thread.start()
    with sqlite_db.session() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        first_in.set()
        thread.join(0.3)
        assert thread.is_alive()  # queued behind this transaction
        order.append("first commits")
    thread.join(10)
    assert order == ["first commits", "second wrote"]
    other.dispose()


def test_a_failed_begin_lets_the_lock_go(sqlite_db, monkeypatch):
    lock = _lock(sqlite_db)
    with sqlite_db.engine.connect() as holder:
        # Another process holds SQLite's write lock: BEGIN IMMEDIATE fails after the busy
        # timeout (made none here, on the pool's one connection), and our lock must not stay
        # taken.
        raw = holder.connection.dbapi_connection
        raw.execute("PRAGMA busy_timeout=0")
    import sqlite3

    outsider = sqlite3.connect(sqlite_db.engine.url.database, isolation_level=None)
    outsider.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Exception, match="locked"), sqlite_db.session() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert _free(lock)
    finally:
        outsider.execute("ROLLBACK")
        outsider.close()
