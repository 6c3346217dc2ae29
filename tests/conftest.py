"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL via TEST_DATABASE_URL),
an injected clock, and the policy."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlmodel import SQLModel

from bot.db import Database, make_engine, upgrade_database
from services.clock import ManualClock

# The whole session runs with a local zone that is not UTC (Newfoundland: UTC-3:30, with summer
# time), so code that slips into the machine's zone (`astimezone()` with no zone, naive `now()`,
# `fromtimestamp` without tz) fails here instead of passing on a UTC machine and going wrong on a
# server set to anything else. Tests needing another zone set TZ themselves and put it back.
os.environ["TZ"] = "America/St_Johns"
time.tzset()

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def _is_postgres() -> bool:
    return TEST_DATABASE_URL.startswith(("postgres", "postgresql"))


def _worker_database(url: str) -> str:
    """Under pytest-xdist (`-n 2`) each worker gets its own PostgreSQL database beside the one
    named (`test_gw0`, `test_gw1`), created on first use, so workers never truncate each
    other's tables; without xdist the database named is used as it is."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def empty_postgres(db: Database) -> None:
    """Empties every table and restarts every sequence in one round trip. DELETE with triggers
    off (session_replication_role = replica, which also lets the append-only audit trail be
    cleared) takes a few milliseconds where TRUNCATE of ~50 tables took ~100 ms a test."""
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    with db.engine.begin() as connection:
        sequences = (
            connection.exec_driver_sql(
                "SELECT sequence_name FROM information_schema.sequences"
                " WHERE sequence_schema = current_schema()"
            )
            .scalars()
            .all()
        )
        script = ["SET LOCAL session_replication_role = replica"]
        script += [f'DELETE FROM "{table}"' for table in tables]
        script += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
        connection.exec_driver_sql(";\n".join(script))


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per run: a SQLite template file that each test copies, or the PostgreSQL
    database that each test truncates."""
    if _is_postgres():
        url = _worker_database(TEST_DATABASE_URL)
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade_database(engine)
        engine.dispose()
        yield url
        return
    template = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade_database(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    yield str(template)


@pytest.fixture
def database(_migrated_template: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of the kind under test."""
    if _is_postgres():
        db = Database.from_url(_migrated_template)
        empty_postgres(db)
        yield db
        db.dispose()
        return
    path = tmp_path / "servicedesk.db"
    shutil.copyfile(_migrated_template, path)
    db = Database.from_url(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """Friday 27 November 2026, 10:00 UTC, moved only by the test."""
    return ManualClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))


# ---- Slack: the fake Web API, the real Bolt App, signed requests ---------------------------

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"

TEST_POLICY = """
[channels]
incidents = "C0INCIDENTS"
escalations = "C0ESCALATE"

[roles]
agents = ["S0AGENTS"]
admins = ["U0ADMIN"]

[[teams]]
name = "platform"
lead = "U0LEAD"
on_call = "S0PLATONCALL"

[[teams]]
name = "network"
lead = "U0NETLEAD"
on_call = "U0NETONCALL"

[[services]]
name = "payments"
team = "platform"

[[services]]
name = "vpn"
team = "network"
"""


class InlineExecutor:
    """Runs follow-up work at once, so a test sees its effects when dispatch returns."""

    def submit(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True) -> None:  # noqa: ARG002
        return None


@pytest.fixture(scope="session")
def _fake_slack_server():  # type: ignore[no-untyped-def]
    from slackstub import FakeSlack

    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake_slack(_fake_slack_server):  # type: ignore[no-untyped-def]
    fake = _fake_slack_server
    fake.reset()
    fake.set_usergroup("S0AGENTS", ["U0AGENT1", "U0AGENT2", "U0LEAD", "U0ONCALL1"])
    fake.set_usergroup("S0PLATONCALL", ["U0ONCALL1"])
    return fake


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    from bot.policy import parse_policy

    return parse_policy(TEST_POLICY)


@pytest.fixture
def settings(fake_slack, database):  # type: ignore[no-untyped-def]
    from bot.settings import load_settings

    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        DATABASE_URL=str(database.engine.url.render_as_string(hide_password=False)),
        # Retrying a Slack that is down waits milliseconds, not slack_sdk's seconds.
        SLACK_RETRY_BACKOFF_SECONDS=0.001,
        _env_file=None,
    )


@pytest.fixture
def ctx(settings, policy, database, clock):  # type: ignore[no-untyped-def]
    from bot.app_factory import build_context
    from bot.bootstrap import prepare_store

    prepare_store(database, policy, clock)
    return build_context(settings, policy, database, clock=clock, background=InlineExecutor())


@pytest.fixture
def bolt_app(ctx):  # type: ignore[no-untyped-def]
    from composition import create_app

    return create_app(ctx)


@pytest.fixture
def slack(bolt_app, fake_slack):  # type: ignore[no-untyped-def]
    """Sends signed Slack requests through the real Bolt App."""
    from slackstub import SignedDispatcher

    return SignedDispatcher(bolt_app, SIGNING_SECRET, fake=fake_slack)
