"""PostgreSQL's pool pings a connection only when it has been idle a while (bot.db
ping_when_idle): one that died while idle is replaced before anyone uses it; one that died
within a moment of its last use fails the one statement that meets it, and the pool is then
renewed. PostgreSQL only: SQLite has no server to lose."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from bot.db import make_engine, ping_when_idle
from tests.handlers.test_approvers_directory import Ticks


@pytest.fixture
def url(database) -> str:  # type: ignore[no-untyped-def]
    if database.dialect != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    return database.engine.url.render_as_string(hide_password=False)


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    """End one server process, as a restart or a failover would, and wait until it is gone."""
    admin = create_engine(url, poolclass=NullPool)
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            deadline = time.monotonic() + 10
            while connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            ).scalar_one():
                assert time.monotonic() < deadline, "the backend did not exit"
                time.sleep(0.01)
    finally:
        admin.dispose()


def _engine(url: str, clock: Ticks) -> Engine:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_after=1.0, clock=clock)
    return engine


def test_a_connection_that_died_while_idle_is_replaced_before_use(url: str) -> None:
    clock = Ticks()
    engine = _engine(url, clock)
    try:
        first = _backend(engine)
        _terminate(url, first)
        clock.now += 1.0  # idle as long as `idle_after`: pinged as it is taken
        second = _backend(engine)
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(url: str) -> None:
    """The trade made for speed, pinned: no round trip for a connection in steady use, so a
    server that went away within that moment fails one statement; the pool is renewed."""
    clock = Ticks()
    engine = _engine(url, clock)
    try:
        first = _backend(engine)
        _terminate(url, first)
        clock.now += 0.5
        with pytest.raises(OperationalError):
            _backend(engine)
        assert _backend(engine) != first
    finally:
        engine.dispose()


def test_the_bots_engine_pings_idle_connections_only(url: str) -> None:
    engine = make_engine(url)
    try:
        assert not engine.pool._pre_ping  # type: ignore[attr-defined]
        assert engine.pool.dispatch.checkout and engine.pool.dispatch.checkin  # ping_when_idle
        first = _backend(engine)
        # The same connection comes back at once, unpinged.
        assert _backend(engine) == first
    finally:
        engine.dispose()
