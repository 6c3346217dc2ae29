"""Fixtures for availability and continuity tests: a policy whose payments service has a
weekly continuity test owned by a user group, and helpers to sweep and read the outbox."""

from __future__ import annotations

import pytest

from bot.policy import parse_policy
from models.availability import TestRun
from services import notifications, service_tests
from tests.conftest import TEST_POLICY

OWNER_GROUP = "S0BACKUP"
OWNER = "U0OWNER"

TESTS_POLICY = TEST_POLICY.replace(
    '[[services]]\nname = "vpn"',
    f"""[[services.tests]]
name = "restore drill"
kind = "continuity"
schedule = "7d"
owner = "{OWNER_GROUP}"

[availability]
chase_every = "1d"
escalate_after = "3d"
check_timeout = "2s"
failures_before_incident = 2

[[services]]
name = "vpn\"""",
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    parsed = parse_policy(TESTS_POLICY)
    assert parsed.service("payments").tests[0].name == "restore drill"
    return parsed


@pytest.fixture
def owners(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup(OWNER_GROUP, [OWNER, "U0OWNER2"])
    return fake_slack


def sweep(database, clock, policy) -> list[service_tests.Reminder]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return service_tests.availability_sweep(session, now=clock.now(), policy=policy)


def runs(database) -> list[TestRun]:  # type: ignore[no-untyped-def]
    from sqlmodel import col, select

    with database.session() as session:
        return list(session.exec(select(TestRun).order_by(col(TestRun.id))))


def outbox_stages(database, key: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        rows = notifications.for_record(session, record_key=key, kind=service_tests.OUTBOX_KIND)
        return [(row.stage, row.recipient) for row in rows]
