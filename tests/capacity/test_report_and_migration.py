"""The capacity section of the service report (per scope, beside the previous period, with
where each requirement stands now) and migration 0022 on a database holding data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect, text

from bot.db import make_engine
from services import capacity
from services.reports import build_report, parse_period, resolve
from services.reports import text as report_text
from tests.agreements.test_migration import _to


def _measure(database, policy, clock, item, metric, value, at):  # type: ignore[no-untyped-def]
    with database.session() as session:
        capacity.record(
            session, policy=policy, item=item, metric=metric, value=value, at=at.isoformat(),
            now=clock.now(),
        )


def _report(database, policy, clock, scope: str):  # type: ignore[no-untyped-def]
    period = parse_period("2026-11", now=clock.now())
    with database.session() as session:
        report = build_report(session, policy, resolve(policy, scope), period, clock.now())
    rows = {(r.group, r.label): (r.current, r.previous) for r in report_text.summary_rows(report)}
    return report, rows


def test_the_capacity_section_per_scope(database, policy, clock, cmdb_items):
    october = datetime(2026, 10, 10, tzinfo=UTC)
    november = datetime(2026, 11, 10, tzinfo=UTC)
    _measure(database, policy, clock, "payments", "cpu", 75, october)
    _measure(database, policy, clock, "payments", "cpu", 50, november)
    _measure(database, policy, clock, "payments", "cpu", 93, november + timedelta(hours=1))
    _measure(database, policy, clock, "orders-db", "disk_used", 700, november)
    _measure(database, policy, clock, "vpn", "tunnels_free", 4, november)
    _measure(database, policy, clock, "vpn", "tunnels_free", 9, november + timedelta(hours=1))
    report, rows = _report(database, policy, clock, "all")
    assert rows[("Capacity", "Payments cpu: highest (%)")] == ("93", "75")
    assert rows[("Capacity", "vpn tunnels_free: lowest (value)")] == ("4", "—")
    # All alerts were raised "now" (27 November), inside the report's month.
    alerts = rows[("Capacity", "Payments cpu: alerts (warning / critical / forecast)")]
    assert alerts == ("1 / 1 / 0", "0 / 0 / 0")  # the October value arrived late too
    section = next(s for s in report.sections if s.key == "capacity")
    (detail,) = section.details(report, report.current.values["capacity"])
    assert detail.columns[0] == "Item"
    assert ("Payments", "cpu", "93 %", "critical", "70", "90", "—") in detail.rows
    # The payments scope covers payments and orders-db (which payments depends on), not vpn.
    _, rows = _report(database, policy, clock, "payments")
    labels = {label for group, label in rows if group == "Capacity"}
    assert "orders-db disk_used: highest (GB)" in labels
    assert not any(label.startswith("vpn") for label in labels)
    _, rows = _report(database, policy, clock, "vpn")
    assert {label for group, label in rows if group == "Capacity"} == {
        "vpn tunnels_free: lowest (value)",
        "vpn tunnels_free: alerts (warning / critical / forecast)",
    }


def test_a_scope_without_requirements_leaves_the_section_out(database, clock):
    from bot.policy import parse_policy
    from tests.conftest import TEST_POLICY

    report, rows = _report(database, parse_policy(TEST_POLICY), clock, "all")
    assert "capacity" not in report.current.values or report.current.values["capacity"] is None
    assert not any(group == "Capacity" for group, _ in rows)


NEW = {"capacity_measurement", "capacity_state", "capacity_alert"}


def test_migration_0022_keeps_data_and_comes_back_out(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    _to(engine, "0020")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incident (title, description, impact, urgency, priority, "
                "priority_overridden, status, reporter, escalation_level, created_at, updated_at) "
                "VALUES ('Old incident', '', 'high', 'high', 1, 0, 'new', 'U1', 0, "
                "'2026-01-01 10:00:00', '2026-01-01 10:00:00')"
            )
        )
    _to(engine, "0022")
    assert NEW <= set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
        connection.execute(
            text(
                "INSERT INTO capacity_measurement (item, metric, at, value, source, recorded_at) "
                "VALUES ('payments', 'cpu', '2026-01-01 10:00:00', 71.5, 'http', "
                "'2026-01-01 10:00:00')"
            )
        )
    _to(engine, "0020", down=True)
    assert not NEW & set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Old incident"
    engine.dispose()


def test_the_management_review_gets_capacity_among_its_inputs(database, policy, clock):
    from services import management_reviews

    with database.session() as session:
        capacity.record(
            session,
            policy=policy,
            item="payments",
            metric="cpu",
            value=75.5,
            at=None,
            now=clock.now() - timedelta(hours=1),
        )
    with database.session() as session:
        _period, prepared = management_reviews.inputs(session, policy=policy, now=clock.now())
    (found,) = [p for p in prepared if p.title == "Capacity"]
    assert found.lines == [
        "Payments cpu: 75.5 % (warning); 1 alerts",
        "orders-db disk_used: nothing measured; 0 alerts",
        "vpn tunnels_free: nothing measured; 0 alerts",
    ]
