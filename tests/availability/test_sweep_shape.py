"""The set-based availability sweep and URL-check claim write exactly what the per-row code
they replaced wrote, on the same data, and their statement counts do not grow with the tests
configured or the runs due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel, col, select

from bot.db import Database
from bot.policy import parse_policy
from models.audit import AuditEntry
from models.availability import TestRun, TestState
from models.notification import Notification
from models.policy import Policy
from services import service_tests, url_checks
from services.clock import ManualClock
from services.permissions import Actor, Role
from tests import statements
from tests.availability import per_row_sweep

fresh = statements.fresh  # the fixture
START = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # a Friday
SCHEDULES = ["1d", "7d", "0 9 * * mon", "12h", "0 */6 * * *"]
OWNERS = ["U0OWNER", "S0BACKUP", "U0OTHER"]


def _policy(tests: int) -> Policy:
    """`tests` manual tests and as many URL tests spread over three services, one of them on
    a team with no lead (escalated to the on-call) and one on a team with neither (to the
    escalations channel)."""
    parts = [
        '[channels]\nincidents = "C0INCIDENTS"\nescalations = "C0ESCALATE"\n',
        '[[teams]]\nname = "platform"\nlead = "U0LEAD"\n',
        '[[teams]]\nname = "network"\non_call = "U0NETONCALL"\n',
        '[[teams]]\nname = "print"\n',
    ]
    for service, team in (("payments", "platform"), ("vpn", "network"), ("print <&>", "print")):
        parts.append(f'[[services]]\nname = "{service}"\nteam = "{team}"\n')
        for n in range(tests):
            if n % 3 != ["payments", "vpn", "print <&>"].index(service):
                continue
            for url in (None, f"https://{n}.example.test/health"):
                parts.append(
                    "[[services.tests]]\n"
                    f'name = "{"ping" if url else "drill"} {n}"\n'
                    f'kind = "{"availability" if n % 2 else "continuity"}"\n'
                    f'schedule = "{SCHEDULES[n % len(SCHEDULES)]}"\n'
                    f'owner = "{OWNERS[n % len(OWNERS)]}"\n' + (f'url = "{url}"\n' if url else "")
                )
    parts.append('[availability]\nchase_every = "1d"\nescalate_after = "3d"\n')
    return parse_policy("\n".join(parts))


def _scenario(db: Database, policy: Policy, sweep: Any, claim: Any) -> list[Any]:
    """Sweeps and claims over nine days: first sight, runs falling due, a run recorded, a bot
    that was down for three days (late runs), chases and escalations."""
    clock = ManualClock(START)
    found: list[Any] = []

    def run() -> None:
        with db.session() as session:
            found.append(sweep(session, now=clock.now(), policy=policy))
        with db.session() as session:
            found.append(claim(session, now=clock.now(), policy=policy))

    for step in [0, 1, 1, 10, 30, 24 * 60, 24 * 60 + 5, 5 * 24 * 60, 9 * 24 * 60]:
        clock.set(START + timedelta(minutes=step))
        run()
        if step == 24 * 60:
            with db.session() as session:
                first = session.exec(select(TestRun).order_by(col(TestRun.id))).first()
                if first is not None:
                    service_tests.record_passed(
                        session,
                        run_id=first.id,
                        actor=Actor("UAGENT", frozenset({Role.AGENT})),
                        members_of=lambda _group: [],
                        now=clock.now(),
                    )
    run()  # the same moment again: nothing new
    return found


def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, tuple[type[SQLModel], Any]] = {
        "outbox": (Notification, (col(Notification.record_key), col(Notification.stage),
                                  col(Notification.recipient))),
        "runs": (TestRun, (col(TestRun.service), col(TestRun.test_name), col(TestRun.due_at))),
        "states": (TestState, (col(TestState.service), col(TestState.test_name))),
        "audit": (AuditEntry, (col(AuditEntry.id),)),
    }
    found = {}
    with db.session() as session:
        for name, (model, order) in tables.items():
            found[name] = [
                tuple(getattr(row, c.name) for c in model.__table__.columns if c.name != "id")
                for row in session.exec(select(model).order_by(*order))
            ]
    return found


def test_set_based_sweep_and_claim_write_what_the_per_row_code_wrote(fresh) -> None:
    policy = _policy(9)
    database = fresh()
    before = _scenario(database, policy, per_row_sweep.sweep, per_row_sweep.claim)
    expected = _rows(database)
    database = fresh()
    after = _scenario(database, policy, service_tests.availability_sweep, url_checks.claim)
    assert after == before
    assert _rows(database) == expected
    # The scenario exercised every branch: due, late, chased, escalated, overdue, passed.
    stages = {row[2].split(":")[0] for row in expected["outbox"]}
    assert {"due", "chase", "escalated"} <= stages, stages
    assert {row[5] for row in expected["runs"]} >= {"passed", "overdue"}
    assert any(row[6] for row in expected["runs"])  # late
    assert {"U0LEAD", "U0NETONCALL", "C0ESCALATE"} <= {row[3] for row in expected["outbox"]}
    assert sum(len(claimed) for claimed in before[1::2]) > 9


def _count(db: Database, work: Any) -> int:
    # The audit trail is a hash chain appended row by row (services/audit.py).
    return statements.count_statements(db, work, skip="audit_entry")


def test_statement_counts_do_not_grow_with_the_tests_or_the_runs_due(fresh) -> None:
    counts = []
    for tests in (2, 30):
        policy = _policy(tests)
        database = fresh()
        clock = ManualClock(START)
        with database.session() as session:
            service_tests.availability_sweep(session, now=clock.now(), policy=policy)
        found = []
        # Every test falls due; a day later every run is chased; later still escalated.
        for step in (timedelta(days=8), timedelta(days=9), timedelta(days=12)):
            clock.set(START + step)

            def sweep(
                database: Database = database,
                clock: ManualClock = clock,
                policy: Policy = policy,
                tests: int = tests,
            ) -> None:
                with database.session() as session:
                    queued = service_tests.availability_sweep(
                        session, now=clock.now(), policy=policy
                    )
                assert len(queued) >= tests // 2

            def claim(
                database: Database = database, clock: ManualClock = clock, policy: Policy = policy
            ) -> None:
                with database.session() as session:
                    assert len(url_checks.claim(session, now=clock.now(), policy=policy)) >= 1

            found.append((_count(database, sweep), _count(database, claim)))
        counts.append(found)
        with database.session() as session:
            assert session.execute(text("SELECT count(*) FROM test_run")).scalar_one() >= tests
    assert counts[0] == counts[1], counts
