"""Availability and continuity tests: runs falling due, reminders and chasing, owners recording
passed or failed, and the results of the bot's own URL checks.

Everything durable is a row: the run (unique per service, test and due time), the per-test
state (first seen, next URL check, failure streak) and the outbox reminders (unique per run and
stage). So a sweep may run any number of times, in any number of processes, and each run and
each reminder still happens once.

First due time: a test the bot has never seen falls due at the first time its schedule gives
after the sweep that first saw it (`TestState.first_seen_at`); after that, at the first time
after the previous run's due time. URL tests are checked at the first sweep, then on schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.availability import (
    KEY_PREFIX,
    OPEN_RUN_STATUSES,
    RunStatus,
    TestRun,
    TestRunRef,
    TestState,
)
from models.incident import Incident, IncidentInput, Level
from models.policy import Policy
from services import audit, incidents, links, notifications, rows
from services.errors import AlreadyDone, InvalidInput
from services.mrkdwn import mention, user_text
from services.permissions import SYSTEM, Actor, require_agent_or

OUTBOX_KIND = "availability"
LINK_KIND = "test run"
PASSED_ACTION_ID = "service_test_passed"
FAILED_ACTION_ID = "service_test_failed"
NOTE_MAX = 2000
_OPEN = [status.value for status in OPEN_RUN_STATUSES]

MembersOf = Callable[[str], Iterable[str]]


@dataclass(frozen=True)
class Reminder:
    """One reminder the sweep queued: for which run, which stage, to whom."""

    run_key: str
    stage: str
    recipient: str


def parse_run_key(key: str) -> int:
    """'TST-4' → 4; anything else is refused in plain words."""
    prefix, _, number = key.strip().upper().partition("-")
    if prefix != KEY_PREFIX or not number.isdigit():
        raise InvalidInput(f"'{key.strip()}' is not a test run key; they look like TST-4.")
    return int(number)


def get_run(session: Session, *, run_id: int, for_update: bool = False) -> TestRun:
    """The run with this id; with `for_update`, locked and re-read."""
    return rows.by_id(
        session,
        TestRun,
        run_id,
        missing=f"There is no test run {KEY_PREFIX}-{run_id}.",
        for_update=for_update,
    )


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def ensure_state(session: Session, *, service: str, test_name: str, now: datetime) -> TestState:
    """The test's state row, created (once, whoever races) the first time the bot sees it."""
    session.execute(
        _insert(session)(TestState)
        .values(
            service=service,
            test_name=test_name,
            first_seen_at=now,
            consecutive_failures=0,
        )
        .on_conflict_do_nothing(index_elements=["service", "test_name"])
    )
    statement = select(TestState).where(
        TestState.service == service, TestState.test_name == test_name
    )
    return session.exec(statement.execution_options(populate_existing=True)).one()


def ensure_states(session: Session, *, pairs: list[tuple[str, str]], now: datetime) -> None:
    """`ensure_state` for many (service, test name) pairs, in one statement."""
    if not pairs:
        return
    session.execute(
        _insert(session)(TestState).on_conflict_do_nothing(index_elements=["service", "test_name"]),
        [
            {"service": service, "test_name": name, "first_seen_at": now, "consecutive_failures": 0}
            for service, name in pairs
        ],
    )


_STATE = TestState.__table__  # type: ignore[attr-defined]
_RUN = TestRun.__table__  # type: ignore[attr-defined]


# ---- the sweep: runs falling due, reminders, chasing, escalation ---------------------------


def reminder_text(run: TestRun, stage: str) -> str:
    # Test and service names come from the policy file: escaped like anything supplied.
    what = (
        f"the {user_text(run.kind)} test *{user_text(run.test_name)}* of *{user_text(run.service)}*"
    )
    if stage == "due":
        late = " (it fell due while the bot was offline)" if run.late else ""
        return f"It is time to run {what}{late}. Record the outcome when done."
    if stage == "escalated":
        return (
            f"{what[0].upper()}{what[1:]} has not been recorded by {mention(run.owner)} "
            f"since it fell due. Please follow it up."
            if not run.owner.startswith("S")
            else f"{what[0].upper()}{what[1:]} has not been recorded by its owners "
            f"since it fell due. Please follow it up."
        )
    return f"Reminder: {what} is overdue. Record the outcome when done."


def reminder_blocks(run: TestRun, text: str) -> list[dict[str, object]]:
    """Block Kit for a reminder: the text and Passed / Failed buttons carrying the run id.

    Built here (plain dicts) because the sweep queues them; handlers read the same action ids.
    """
    value = TestRunRef(run=run.id or 0).dump()
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"service_test|{run.id}",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Passed"},
                    "action_id": PASSED_ACTION_ID,
                    "value": value,
                    "style": "primary",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Failed"},
                    "action_id": FAILED_ACTION_ID,
                    "value": value,
                    "style": "danger",
                },
            ],
        },
    ]


def _lead_for(policy: Policy, service_name: str) -> str | None:
    service = policy.service(service_name)
    team = policy.team(service.team) if service else None
    if team is None:
        return policy.channels.escalations
    return team.lead or team.on_call or policy.channels.escalations


def _due_runs(session: Session, *, now: datetime, policy: Policy) -> list[dict[str, Any]]:
    """The runs of the policy's (non-URL) tests that fell due by `now`, one per test however
    many due times were missed: two reads whatever the number of tests (their states, and the
    latest run of each)."""
    tests = [(s, t) for s in policy.services for t in s.tests if t.url is None]
    if not tests:
        return []
    ensure_states(session, pairs=[(s.name, t.name) for s, t in tests], now=now)
    first_seen = {
        (service, name): seen
        for service, name, seen in session.execute(
            sa_select(_STATE.c.service, _STATE.c.test_name, _STATE.c.first_seen_at)
        )
    }
    last_due = {
        (service, name): last
        for service, name, last in session.execute(
            sa_select(_RUN.c.service, _RUN.c.test_name, func.max(_RUN.c.due_at)).group_by(
                _RUN.c.service, _RUN.c.test_name
            )
        )
    }
    values = []
    for service, test in tests:
        base = last_due.get((service.name, test.name)) or first_seen[(service.name, test.name)]
        due = test.latest_due(after=base, now=now)
        if due is None:
            continue
        # Late: the bot missed at least one earlier due time, or sweeps well after this one.
        late = due != test.next_after(base) or now - due > notifications.LATE_AFTER
        values.append(
            {
                "service": service.name,
                "test_name": test.name,
                "kind": test.kind.value,
                "owner": test.owner,
                "due_at": due,
                "status": RunStatus.PENDING.value,
                "late": late,
                "created_at": now,
            }
        )
    return values


def _reminder_row(run: TestRun, *, stage: str, to: str, due: datetime, now: datetime) -> Any:
    text = reminder_text(run, stage)
    return notifications.row(
        record_key=run.key,
        kind=OUTBOX_KIND,
        stage=stage,
        recipient=to,
        due_at=due,
        text=text,
        blocks=reminder_blocks(run, text),
        late=run.late and stage == "due",
        now=now,
    )


def availability_sweep(session: Session, *, now: datetime, policy: Policy) -> list[Reminder]:
    """Create the runs that fell due (one per test however many due times were missed), queue
    their reminders to the owners, mark runs overdue and chase them every `chase_every`, and
    escalate to the service's team lead after `escalate_after`. Returns the reminders newly
    queued; a repeated sweep queues nothing new.

    Set-based: the states and latest runs read once, the due runs inserted in one statement
    (ON CONFLICT DO NOTHING: another process's run is skipped), the open runs read once and
    moved to overdue in one update, every reminder queued in one insert. The number of
    statements does not grow with the tests or the runs due (the audit trail, a hash chain,
    is flushed with the transaction)."""
    outbox: list[dict[str, Any]] = []
    values = _due_runs(session, now=now, policy=policy)
    if values:
        created = list(
            session.scalars(
                _insert(session)(TestRun)
                .on_conflict_do_nothing(index_elements=["service", "test_name", "due_at"])
                .returning(TestRun),
                values,
            )
        )
        order = {(v["service"], v["test_name"]): n for n, v in enumerate(values)}
        created.sort(key=lambda run: order[(run.service, run.test_name)])
        for run in created:
            audit.record(
                session,
                key=run.key,
                actor=SYSTEM.user_id,
                at=now,
                action="due",
                after=run.status,
                note="late" if run.late else None,
            )
            outbox.append(_reminder_row(run, stage="due", to=run.owner, due=now, now=now))
    settings = policy.availability
    waiting = [
        run
        for run in session.exec(
            select(TestRun).where(col(TestRun.status).in_(_OPEN)).order_by(col(TestRun.id))
        )
        # Counted from the first reminder (created_at), so a run created late is not
        # escalated the moment it appears.
        if now - run.created_at >= settings.chase_every
    ]
    pending = [run.id for run in waiting if run.status == RunStatus.PENDING.value]
    if pending:
        moved = set(
            session.scalars(
                update(_RUN)
                .where(_RUN.c.id.in_(pending), _RUN.c.status == RunStatus.PENDING.value)
                .values(status=RunStatus.OVERDUE.value)
                .returning(_RUN.c.id)
            )
        )
        for run in waiting:
            if run.id in moved:
                audit.record(
                    session,
                    key=run.key,
                    actor=SYSTEM.user_id,
                    at=now,
                    action="overdue",
                    field="status",
                    before=RunStatus.PENDING,
                    after=RunStatus.OVERDUE,
                )
    for run in waiting:
        waited = now - run.created_at
        chases = waited // settings.chase_every
        due = run.created_at + settings.chase_every * chases
        outbox.append(_reminder_row(run, stage=f"chase:{chases}", to=run.owner, due=due, now=now))
        lead = _lead_for(policy, run.service) if waited >= settings.escalate_after else None
        if lead:
            due = run.created_at + settings.escalate_after
            outbox.append(_reminder_row(run, stage="escalated", to=lead, due=due, now=now))
    new = notifications.schedule_new(session, outbox)
    return [
        Reminder(row["record_key"], row["stage"], row["recipient"])
        for row in outbox
        if (row["record_key"], row["kind"], row["stage"], row["recipient"]) in new
    ]


# ---- recording an outcome ----------------------------------------------------------------


def check_recorder(
    session: Session, *, run_id: int, actor: Actor, members_of: MembersOf
) -> TestRun:
    """The open run, if `actor` may record it (an owner, a member of the owner group, or an
    agent); refuses in plain words otherwise."""
    run = get_run(session, run_id=run_id)
    require_agent_or(
        actor,
        user_ids=set(members_of(run.owner)),
        doing=f"record the outcome of {run.key} "
        f"({user_text(run.test_name)} on {user_text(run.service)})",
        who="the test's owner",
    )
    if not run.is_open:
        raise AlreadyDone(
            f"{run.key} was already recorded as {run.state.label.lower()}"
            + (f" by <@{run.recorded_by}>." if run.recorded_by else ".")
        )
    return run


def _record(
    session: Session,
    run: TestRun,
    *,
    status: RunStatus,
    actor: Actor,
    note: str | None,
    now: datetime,
) -> TestRun:
    # The conditional update is what makes a double click count once, even in two processes.
    moved = session.execute(
        update(TestRun)
        .where(col(TestRun.id) == run.id, col(TestRun.status).in_(_OPEN))
        .values(status=status.value, recorded_by=actor.user_id, recorded_at=now, note=note)
    ).rowcount
    run = get_run(session, run_id=run.id, for_update=True)
    if not moved:
        raise AlreadyDone(
            f"{run.key} was already recorded as {run.state.label.lower()}"
            + (f" by <@{run.recorded_by}>." if run.recorded_by else ".")
        )
    audit.record(
        session,
        key=run.key,
        actor=actor.user_id,
        at=now,
        action=status.value,
        field="status",
        after=status,
        note=note,
    )
    # Nothing left to remind anyone of.
    notifications.cancel_for(session, record_key=run.key, kind=OUTBOX_KIND)
    return run


def record_passed(
    session: Session, *, run_id: int, actor: Actor, members_of: MembersOf, now: datetime
) -> TestRun:
    """Record that the test passed. A second click raises AlreadyDone and changes nothing."""
    run = check_recorder(session, run_id=run_id, actor=actor, members_of=members_of)
    return _record(session, run, status=RunStatus.PASSED, actor=actor, note=None, now=now)


def clean_note(note: str | None) -> str:
    """The failure note, trimmed; refused when empty or too long."""
    cleaned = (note or "").strip()
    if not cleaned:
        raise InvalidInput("Say what failed; the note goes into the incident.")
    if len(cleaned) > NOTE_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_MAX} characters (it has {len(cleaned)}).")
    return cleaned


def failure_title(*, kind: str, test_name: str, service: str) -> str:
    return f"{kind.capitalize()} test failed: {test_name} on {service}"[:150]


def open_failure_incident(
    session: Session,
    *,
    kind: str,
    test_name: str,
    service: str,
    description: str,
    reporter: str,
    now: datetime,
    policy: Policy,
    submission_id: str,
) -> Incident:
    """The incident a failed test opens on its service (high impact, medium urgency); a
    service gone from the policy file leaves it without one. One per `submission_id`."""
    incident, _ = incidents.create(
        session,
        data=IncidentInput(
            title=failure_title(kind=kind, test_name=test_name, service=service),
            description=description,
            impact=Level.HIGH,
            urgency=Level.MEDIUM,
            service=service if policy.service(service) else None,
        ),
        reporter=reporter,
        now=now,
        policy=policy,
        submission_id=submission_id,
    )
    return incident


def record_failed(
    session: Session,
    *,
    run_id: int,
    actor: Actor,
    members_of: MembersOf,
    note: str,
    now: datetime,
    policy: Policy,
) -> TestRun:
    """Record that the test failed, with a note, and open an incident on the service linked
    to the run (kind "test run"). Returns the run with its `incident_key`."""
    cleaned = clean_note(note)
    run = check_recorder(session, run_id=run_id, actor=actor, members_of=members_of)
    run = _record(session, run, status=RunStatus.FAILED, actor=actor, note=cleaned, now=now)
    incident = open_failure_incident(
        session,
        kind=run.kind,
        test_name=run.test_name,
        service=run.service,
        # Plain words: a description is shown escaped, so a mention here would show as text.
        description=f"{run.key} recorded as failed: {cleaned}",
        reporter=actor.user_id,
        now=now,
        policy=policy,
        # One incident per run, however often the submission is delivered.
        submission_id=f"test-run:{run.id}",
    )
    run.incident_key = incident.key
    session.add(run)
    links.link(session, a=incident.key, b=run.key, kind=LINK_KIND, actor=actor.user_id, now=now)
    return run


def runs_between(
    session: Session, *, service: str, start: datetime, end: datetime
) -> list[TestRun]:
    """The service's runs due in [start, end], oldest first."""
    statement = (
        select(TestRun)
        .where(TestRun.service == service, TestRun.due_at >= start, TestRun.due_at <= end)
        .order_by(col(TestRun.due_at), col(TestRun.id))
    )
    return list(session.exec(statement))
