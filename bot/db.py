"""The database engine, sessions and migrations. Built by factories, never at import time."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "models" / "migrations"


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for SQLite (WAL, foreign keys, writers serialised) or PostgreSQL (psycopg 3)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=10,
        # psycopg prepares a statement after five runs, and PostgreSQL then tends to a generic
        # plan that cannot use an index for `LIKE $1` (the type-ahead); planning with the real
        # values each time keeps those index scans. It also keeps PgBouncer in transaction
        # mode working, which prepared statements break.
        connect_args={"prepare_threshold": None},
    )
    ping_when_idle(engine)
    return engine


# A pooled PostgreSQL connection is pinged (one round trip) before it is used only when it
# has been back in the pool this long; one in steady use answered a moment ago. Pinging every
# checkout (`pool_pre_ping`) was a seventh of a New incident form's round trips.
PING_IDLE_AFTER = 1.0


def ping_when_idle(
    engine: Engine,
    *,
    idle_after: float = PING_IDLE_AFTER,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Check a pooled connection that has been idle `idle_after` seconds or more as it is
    taken from the pool, and replace it when the server has gone away (after a restart or a
    failover), so the request that takes it never sees the dead one. A connection that dies
    within `idle_after` of its last use fails the statement that meets it; SQLAlchemy then
    discards it and every other pooled connection, so only that one request fails."""
    returned_at = "servicedesk_returned_at"

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info[returned_at] = clock()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        last = record.info.get(returned_at)
        if last is not None and clock() - last < idle_after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and takes another (SQLAlchemy's pattern for
            # pessimistic disconnect handling).
            raise DisconnectionError(str(error)) from error


# SQLite checkpoints in the committing thread only when the WAL grows past this many pages
# (its default: 1,000); before that, CHECKPOINTS has done it on its own thread.
WAL_BACKSTOP_PAGES = 10_000

# Execution option marking a connection that only reads (see Database.read_session).
READ_ONLY = "servicedesk_read_only"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Take transaction control from the driver so that BEGIN IMMEDIATE below is honoured.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints off the committing thread: left to SQLite, the commit that takes the WAL
        # past a thousand pages copies it back into the database file (and syncs it) before it
        # returns, and the Slack request waiting on that commit pays for it. CHECKPOINTS does
        # it on a thread of its own soon after the commits; SQLite's own stays as a backstop
        # (a commit that bypasses CHECKPOINTS, a thread that is starved) at ten times its
        # default, which the thread keeps the WAL well below.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        cursor.close()

    lock = _writer_lock(engine.url.database)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        if connection.get_execution_options().get(READ_ONLY):
            # A read-only session (a report) reads a WAL snapshot without the write lock.
            connection.exec_driver_sql("BEGIN")
            return
        # Deferred transactions that read and then write deadlock under concurrency
        # (SQLITE_BUSY on lock upgrade, which the busy timeout does not cover). Taking the
        # write lock up front makes concurrent writers queue instead, like row locks would.
        # Within this process they queue on a lock of ours first: SQLite's busy handler
        # sleeps (1, 2, 5, 10 … ms) between tries, while a waiter on this lock goes on the
        # moment the writer before it ends. Another process (a CLI command) still meets
        # the busy timeout.
        if not lock.acquire(timeout=_WRITER_WAIT_SECONDS):
            raise sqlite3.OperationalError("database is locked (waited for another writer)")
        connection.info[_HOLDS_WRITER_LOCK] = lock
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release_writer_lock(connection.info)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(connection):  # type: ignore[no-untyped-def]
        _release_writer_lock(connection.info)
        if not connection.get_execution_options().get(READ_ONLY):
            CHECKPOINTS.committed(engine)  # looked up now: a test may put its own in place

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection):  # type: ignore[no-untyped-def]
        _release_writer_lock(connection.info)

    # However a connection leaves its transaction (closed, invalidated, handed back to the
    # pool), the lock does not outlive it.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        _release_writer_lock(record.info)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection, record, _exception):  # type: ignore[no-untyped-def]
        _release_writer_lock(record.info)


# The write lock of each SQLite file, shared by every engine on it in this process.
_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()
_HOLDS_WRITER_LOCK = "servicedesk.writer_lock"
_WRITER_WAIT_SECONDS = 30.0  # as long as the busy timeout


def _writer_lock(database: str | None) -> threading.Lock:
    if not database or database == ":memory:":
        return threading.Lock()  # a private database: its engine's own lock
    path = str(Path(database).resolve())
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(path, threading.Lock())


def _release_writer_lock(info: dict[str, Any]) -> None:
    held = info.pop(_HOLDS_WRITER_LOCK, None)
    if held is not None:
        held.release()


class Checkpointer:
    """Copies SQLite's write-ahead log back into the database file on a thread of its own.

    A commit marks its engine (`committed`); a daemon thread, started with the first one,
    waits `delay` seconds for more commits to gather, then runs a PASSIVE checkpoint on each
    marked engine: it copies what no reader still needs and never waits for a lock, so
    neither writers nor readers wait for it. The WAL stays about as long as `delay` seconds of
    writes. Engines are held weakly; a disposed Database's engine is forgotten. With `delay`
    None no thread is started: `run_pending` is called by hand (tests)."""

    def __init__(self, *, delay: float | None = 0.5) -> None:
        self.delay = delay
        self._pending: weakref.WeakSet[Engine] = weakref.WeakSet()
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def committed(self, engine: Engine) -> None:
        with self._guard:
            self._pending.add(engine)
            if self.delay is None:
                return
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="sqlite-checkpoint", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def forget(self, engine: Engine) -> None:
        with self._guard:
            self._pending.discard(engine)

    def pending(self) -> list[Engine]:
        with self._guard:
            return list(self._pending)

    def run_pending(self) -> dict[str, tuple[int, int, int]]:
        """Checkpoint every marked engine now: {database path: (busy, WAL frames, frames
        copied)} as SQLite reports them. A failure is logged; the engine is marked again by
        its next commit."""
        with self._guard:
            engines = list(self._pending)
            self._pending.clear()
        done: dict[str, tuple[int, int, int]] = {}
        for engine in engines:
            path = engine.url.database or ""
            if not Path(path).is_file():
                continue  # deleted (a test's store): nothing to copy, nothing to warn about
            try:
                row = _checkpoint(path)
            except Exception as error:  # noqa: BLE001 - the next commit marks it again
                log.warning("could not checkpoint %s: %s", path, error)
                continue
            done[path] = (int(row[0]), int(row[1]), int(row[2]))
        return done

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(self.delay or 0)  # let the commits of the next moments gather
            self.run_pending()


def _checkpoint(path: str) -> tuple[Any, ...]:
    """A PASSIVE checkpoint on a connection of its own, opened for it and closed after.

    Not one of the engine's pooled connections: a pooled connection kept for this would sit in
    the pool with the schema it last read, and the next request handed it would plan an
    `EXPLAIN` against that schema (SQLite reloads a changed schema when a statement reads, but
    an `EXPLAIN QUERY PLAN` reads nothing); nor would it count towards the pool's size."""
    # Read-write, never create: a store deleted after the caller looked is not made anew.
    where = Path(path).resolve().as_uri() + "?mode=rw"
    connection = sqlite3.connect(where, uri=True, timeout=1.0, isolation_level=None)
    try:
        return tuple(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
    finally:
        connection.close()


CHECKPOINTS = Checkpointer()


class Database:
    """Holds the engine and hands out sessions that commit on success and roll back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # The same engine, its connections marked read-only (read_session); made once, as
        # each execution_options() call builds a new engine object.
        self._reader = engine.execution_options(**{READ_ONLY: True})
        # Called with the `info` of every session that committed (the scheduler's wake-up
        # reads the earliest deadline a write set: schedules/wakeup.py).
        self.after_commit: list[Callable[[Mapping[str, Any]], None]] = []

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = Session(self.engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        for hook in self.after_commit if session.info else ():
            try:
                hook(session.info)
            except Exception:  # noqa: BLE001 - the write is committed; a hook must not undo that
                log.exception("after-commit hook %r failed", hook)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that only reads (reports, lists, a form's lookups): on SQLite a deferred
        transaction, so it neither waits for writers nor makes them wait; whatever it did is
        rolled back."""
        session = Session(self._reader)
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (all branches)."""
        upgrade_database(self.engine)

    def dispose(self) -> None:
        CHECKPOINTS.forget(self.engine)
        self.engine.dispose()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def upgrade_database(engine: Engine, revision: str = "heads") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())
