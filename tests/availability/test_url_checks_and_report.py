"""URL checks against a local HTTP server, the availability numbers, and /servicedesk."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from bot.policy import parse_policy
from handlers.incidents import IncidentHandlers
from models.availability import UrlCheck
from models.incident import Incident, IncidentInput, Level
from schedules.availability import run_url_checks
from services import availability, incidents, notifications, service_tests, url_checks
from services.permissions import Actor, Role
from tests.availability.conftest import TESTS_POLICY

AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))


class _Answers:
    """The status codes the server gives, one per request; the last repeats."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = codes
        self.served = 0

    def next(self) -> int:
        code = self.codes[min(self.served, len(self.codes) - 1)]
        self.served += 1
        return code


@pytest.fixture
def web() -> Iterator[tuple[str, _Answers]]:
    answers = _Answers([500, 500, 500, 200])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            code = answers.next()
            body = b"ok" if code == 200 else b"broken"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health", answers
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def policy(web):  # type: ignore[no-untyped-def]
    url, _ = web
    return parse_policy(
        TESTS_POLICY.replace(
            "[availability]",
            f"""[[services.tests]]
name = "health endpoint"
schedule = "1m"
owner = "U0OWNER"
url = "{url}"

[availability]""",
        )
    )


def _incidents(database) -> list[Incident]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return list(session.exec(select(Incident)))


def test_failures_open_one_incident_and_recovery_posts_in_its_thread(
    ctx, fake_slack, database, clock, policy, web
):
    _, answers = web
    announce = IncidentHandlers(ctx).announce

    def check():  # type: ignore[no-untyped-def]
        return run_url_checks(db=database, clock=clock, policy=policy, announce=announce)

    first = check()
    assert [r.opened for r in first] == [None] and _incidents(database) == []
    assert check() == []  # not due again until the schedule says so: nothing is re-checked
    clock.advance(minutes=1)
    (second,) = check()
    assert second.opened == "INC-1"
    (incident,) = _incidents(database)
    assert incident.title == "Availability test failed: health endpoint on payments"
    assert incident.service == "payments" and incident.impact == "high"
    assert incident.channel_id == "C0INCIDENTS" and incident.message_ts
    clock.advance(minutes=1)
    (third,) = check()
    assert third.opened is None and len(_incidents(database)) == 1
    clock.advance(minutes=1)
    (fourth,) = check()
    assert fourth.recovered == "INC-1"
    assert answers.served == 4
    ctx.notifier.send_due()
    replies = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args.get("thread_ts") == incident.message_ts and "Recovered" in c.args["text"]
    ]
    assert len(replies) == 1 and replies[0].args["channel"] == "C0INCIDENTS"
    with database.session() as session:
        checks = session.exec(select(UrlCheck).order_by(UrlCheck.id)).all()
        assert [(c.ok, c.status_code) for c in checks] == [
            (False, 500),
            (False, 500),
            (False, 500),
            (True, 200),
        ]
        assert all(c.latency_ms is not None for c in checks)
        report = availability.report(
            session, service="payments", period=timedelta(days=1), now=clock.now(), policy=policy
        )
    # Down from the first failure to the recovery: 3 minutes, merged with INC-1 (still open).
    assert len(report.outages) == 1


def test_unreachable_url_is_a_failure(database, clock, policy):
    unreachable = parse_policy(
        TESTS_POLICY.replace(
            "[availability]",
            """[[services.tests]]
name = "nothing there"
schedule = "5m"
owner = "U0OWNER"
url = "http://127.0.0.1:9/"

[availability]""",
        )
    )
    (result,) = run_url_checks(db=database, clock=clock, policy=unreachable)
    assert result.opened is None
    with database.session() as session:
        (check,) = session.exec(select(UrlCheck)).all()
    assert check.ok is False and check.status_code is None and check.error


def _outage(database, clock, policy, *, hours: int, impact: Level = Level.HIGH) -> str:  # type: ignore[no-untyped-def]
    with database.session() as session:
        incident, _ = incidents.create(
            session,
            data=IncidentInput(
                title="Payments down", impact=impact, urgency=Level.HIGH, service="payments"
            ),
            reporter="U0REPORTER",
            now=clock.now(),
            policy=policy,
        )
        key = incident.key
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    clock.advance(hours=hours)
    with database.session() as session:
        incidents.resolve(
            session,
            key=key,
            code="fixed",
            note="Restarted",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
    return key


def test_report_numbers_for_one_three_hour_outage(database, clock, policy):
    _outage(database, clock, policy, hours=3)
    _outage(database, clock, policy, hours=2, impact=Level.MEDIUM)  # not an outage
    clock.advance(days=5)
    with database.session() as session:
        report = availability.report(
            session, service="payments", period=timedelta(days=30), now=clock.now(), policy=policy
        )
        vpn = availability.report(
            session, service="vpn", period=timedelta(days=30), now=clock.now(), policy=policy
        )
    assert round(report.availability_percent, 3) == 99.583
    assert len(report.outages) == 1
    assert report.downtime == timedelta(hours=3)
    assert report.mtrs == timedelta(hours=3)
    assert report.mtbf == timedelta(hours=717)
    assert vpn.availability_percent == 100.0 and vpn.mtbf is None and vpn.outages == []


def test_overlapping_outages_merge_and_are_clipped_to_the_period():
    from datetime import UTC, datetime

    t = datetime(2026, 11, 1, tzinfo=UTC)
    h = timedelta(hours=1)
    merged = availability.merge(
        [(t, t + 2 * h), (t + h, t + 3 * h), (t + 5 * h, t + 6 * h), (t - 4 * h, t - 3 * h)],
        start=t - 3.5 * h,
        end=t + 5.5 * h,
    )
    assert merged == [(t - 3.5 * h, t - 3 * h), (t, t + 3 * h), (t + 5 * h, t + 5.5 * h)]


def test_servicedesk_availability_command(slack, fake_slack, database, clock, policy):
    _outage(database, clock, policy, hours=3)
    clock.advance(days=1)
    slack.command("/servicedesk", "availability payments 7d", user_id="U0ANYONE")
    answer = fake_slack.calls("response_url")[-1].args
    shown = answer["text"] + str(answer["blocks"])
    assert answer["response_type"] == "ephemeral"
    # 168 h agreed, 3 h down: 165/168.
    assert "98.214 %" in shown and "outages 1" in shown
    assert "MTBF 165h" in shown and "MTRS 3h" in shown and "vpn" not in answer["text"]
    slack.command("/servicedesk", "availability 7d PAYMENTS", user_id="U0ANYONE")
    assert "98.214 %" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/servicedesk", "uptime", user_id="U0ANYONE")
    assert "not a /servicedesk sub-command" in fake_slack.calls("response_url")[-1].args["text"]
    slack.command("/servicedesk", "availability", user_id="U0ANYONE")
    both = fake_slack.calls("response_url")[-1].args["text"]
    assert "payments" in both and "vpn" in both and "last 30 days" in both
    slack.command("/servicedesk", "availability billing", user_id="U0ANYONE")
    unknown = fake_slack.calls("response_url")[-1].args["text"]
    assert "`billing` is not a service" in unknown and "payments, vpn" in unknown
    slack.command("/servicedesk", "help", user_id="U0ANYONE")
    assert "/servicedesk availability" in fake_slack.calls("response_url")[-1].args["text"]


def test_two_failing_checks_of_one_service_share_one_incident(database, clock, policy):
    def record(test_name: str, ok: bool):  # type: ignore[no-untyped-def]
        with database.session() as session:
            service_tests.ensure_state(
                session, service="payments", test_name=test_name, now=clock.now()
            )
            return url_checks.record_check(
                session,
                service="payments",
                test_name=test_name,
                ok=ok,
                status_code=200 if ok else 503,
                error=None,
                latency_ms=5,
                now=clock.now(),
                policy=policy,
            )

    for _ in range(2):
        record("health endpoint", False)
        record("login page", False)
        clock.advance(minutes=1)
    assert [i.key for i in _incidents(database)] == ["INC-1"]
    assert record("health endpoint", True).recovered == "INC-1"
    assert record("login page", True).recovered == "INC-1"
    with database.session() as session:
        stages = sorted(
            row.stage
            for row in notifications.for_record(session, record_key="INC-1")
            if row.stage.startswith("recovered")
        )
    assert len(stages) == 2
