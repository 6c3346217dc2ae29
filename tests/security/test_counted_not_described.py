"""Where a restricted incident is counted but never described, or never told: trend proposals
posted in the shared channel, a major incident's stakeholders, the report's incident CSV."""

from __future__ import annotations

from models.incident import IncidentInput, Level
from services import incidents, major_incidents, problems
from services.reports import build_report, parse_period, resolve
from services.reports.incident_queries import incident_records
from tests.security.conftest import REPORTER


def _log(session, policy, clock, *, title: str, security: bool):  # type: ignore[no-untyped-def]
    data = IncidentInput(
        title=title,
        impact=Level.MEDIUM,
        urgency=Level.MEDIUM,
        service="payments",
        security=security,
    )
    incident, _ = incidents.create(
        session, data=data, reporter=REPORTER, now=clock.now(), policy=policy
    )
    return incident


def test_a_restricted_incident_never_joins_a_trend(database, clock, policy):
    with database.session() as session:
        _log(session, policy, clock, title="Card declines", security=False)
        _log(session, policy, clock, title="Zyxqv exfiltration", security=True)
        third = _log(session, policy, clock, title="Card declines again", security=False)
        # Three on payments, but one is restricted: two do not make a trend of three.
        assert (
            problems.detect_trend(session, incident_key=third.key, now=clock.now(), policy=policy)
            is None
        )
        fourth = _log(session, policy, clock, title="Card declines once more", security=False)
        found = problems.detect_trend(
            session, incident_key=fourth.key, now=clock.now(), policy=policy
        )
    assert found is not None and "INC-2" not in found.incident_keys


def test_a_restricted_major_incident_has_no_stakeholders_or_customers(database, clock, policy):
    with database.session() as session:
        hidden = _log(session, policy, clock, title="Zyxqv", security=True)
        shown = _log(session, policy, clock, title="Outage", security=False)
        stakeholders = policy.model_copy(
            update={"channels": policy.channels.model_copy(update={"stakeholders": "C0STAKE"})}
        )
        assert major_incidents.update_recipients(session, hidden, stakeholders) == []
        assert major_incidents.update_recipients(session, shown, stakeholders) == ["C0STAKE"]


def test_the_reports_incident_csv_redacts_it(database, clock, policy):
    with database.session() as session:
        _log(session, policy, clock, title="Zyxqv exfiltration", security=True)
        _log(session, policy, clock, title="Card declines", security=False)
    with database.session() as session:
        period = parse_period("2026-11", now=clock.now())
        report = build_report(session, policy, resolve(policy, None), period, clock.now())
        rows = incident_records(session, report)
    assert [(r["title"], r["service"]) for r in rows] == [
        ("Restricted incident", ""),
        ("Card declines", "payments"),
    ]
    assert report.current.by_service == {"(restricted)": 1, "payments": 1}
