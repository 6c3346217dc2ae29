"""The pieces without Slack: channel names within Slack's rules, the policy section, and the
migration that adds major incidents to an existing database with its data intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, insert, inspect, text

from bot.db import make_engine
from bot.policy import PolicyError, parse_policy
from services.major_incidents import channel_name
from tests.agreements.test_migration import _to


@pytest.mark.parametrize(
    ("title", "attempt", "expected"),
    [
        ("Payments timeouts", 1, "inc-42-payments-timeouts"),
        ("Paiements échoués — Zürich!!", 1, "inc-42-paiements-echoues-zurich"),
        ("<!channel> & <@U0EVIL>", 2, "inc-42-channel-u0evil-2"),
        ("日本語のみ", 1, "inc-42"),
        ("", 3, "inc-42-3"),
    ],
)
def test_channel_names_follow_slacks_rules(title: str, attempt: int, expected: str) -> None:
    assert channel_name("INC-42", title, attempt=attempt) == expected


def test_a_long_title_is_cut_to_80_characters_with_room_for_the_clash_suffix() -> None:
    title = "word " * 100_000
    for attempt in (1, 2, 5):
        name = channel_name("INC-2147483647", title, prefix="major-incident", attempt=attempt)
        assert len(name) <= 80 and not name.endswith("--")
        assert name.startswith("major-incident-2147483647-word-")
        assert name.endswith(f"-{attempt}") == (attempt > 1)


def test_the_policy_section_has_defaults_and_refuses_mistakes() -> None:
    default = parse_policy("").major_incidents
    assert default.priorities == [1] and default.review_within == 5
    assert default.every(1) == timedelta(minutes=30) and default.every(4) == timedelta(hours=1)
    custom = parse_policy('[major_incidents]\nupdate_every = { p2 = "15m" }').major_incidents
    assert custom.every(2) == timedelta(minutes=15) and custom.every(1) == timedelta(minutes=30)
    for bad, says in (
        ('update_every = { P9 = "15m" }', "unknown priority"),
        ("update_every = { P1 = 15 }", "has no unit"),
        ('channel_prefix = "Major Incident"', "cannot start a Slack channel name"),
        ("priorities = [0]", "greater than or equal to 1"),
        ('customer_contacts = { Acme = ["nobody"] }', "is not a Slack user id"),
        ("review_within = 0", "greater than or equal to 1"),
    ):
        with pytest.raises(PolicyError, match=says):
            parse_policy(f"[major_incidents]\n{bad}")
    with pytest.raises(PolicyError, match="stakeholders"):
        parse_policy('[channels]\nstakeholders = "Not A Channel"')


def test_migration_0018_keeps_existing_incidents_and_comes_back_out(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0017")
    # An incident as 0015 stored it (reflected, so only the columns it had then).
    table = Table("incident", MetaData(), autoload_with=engine)
    old = {
        "title": "Old incident",
        "description": "",
        "impact": "high",
        "urgency": "high",
        "priority": 1,
        "priority_overridden": False,
        "status": "new",
        "reporter": "U1",
        "escalation_level": 0,
        "created_at": datetime(2026, 1, 1, 10, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 1, 10, tzinfo=UTC),
    }
    with engine.begin() as connection:
        connection.execute(insert(table).values(**old))
    _to(engine, "0018")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT title, is_major FROM incident")).one()
    assert tuple(row) == ("Old incident", 0)
    tables = set(inspect(engine).get_table_names())
    assert {"major_incident", "timeline_entry", "post_incident_review", "pir_action"} <= tables
    _to(engine, "0017", down=True)
    tables = set(inspect(engine).get_table_names())
    assert "major_incident" not in tables and "post_incident_review" not in tables
    assert "is_major" not in {c["name"] for c in inspect(engine).get_columns("incident")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
    engine.dispose()
