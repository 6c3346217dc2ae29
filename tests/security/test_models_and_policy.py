"""The pieces without Slack: the policy keys and their checks, and migration 0021 on a database
holding data, up and back down."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, insert, inspect, text

from bot.db import make_engine
from bot.policy import PolicyError, parse_policy
from tests.agreements.test_migration import _to


def test_the_policy_keys_have_defaults_and_refuse_mistakes() -> None:
    default = parse_policy("")
    assert default.roles.security == [] and default.channels.security is None
    assert default.incidents.security_categories == []
    assert default.changes.security_approvers == []
    with pytest.raises(PolicyError, match="is not one of the categories"):
        parse_policy('[channels]\nsecurity = "G0SEC"\n[incidents]\nsecurity_categories = ["spy"]')
    with pytest.raises(PolicyError, match="channels.security"):
        parse_policy('[incidents]\nsecurity_categories = ["security"]')
    with pytest.raises(PolicyError, match="not a Slack user id"):
        parse_policy('[roles]\nsecurity = ["security team"]')
    with pytest.raises(PolicyError, match="not a Slack user id"):
        parse_policy('[changes]\nsecurity_approvers = ["ciso"]')


def test_migration_0021_keeps_incidents_and_changes_and_comes_back_out(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0020")
    table = Table("incident", MetaData(), autoload_with=engine)
    at = datetime(2026, 1, 1, 10, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(table).values(
                title="Old incident",
                description="",
                impact="high",
                urgency="high",
                priority=1,
                priority_overridden=False,
                status="new",
                reporter="U1",
                escalation_level=0,
                is_major=False,
                created_at=at,
                updated_at=at,
            )
        )
    _to(engine, "0021")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT title, restricted FROM incident")).one()
    assert tuple(row) == ("Old incident", 0)
    indexes = {i["name"] for i in inspect(engine).get_indexes("incident")}
    assert "ix_incident_restricted" in indexes
    assert "security" in {c["name"] for c in inspect(engine).get_columns("change")}
    _to(engine, "0020", down=True)
    columns = {c["name"] for c in inspect(engine).get_columns("incident")}
    assert "restricted" not in columns and "redacted_ts" not in columns
    assert "security" not in {c["name"] for c in inspect(engine).get_columns("change")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
    engine.dispose()
