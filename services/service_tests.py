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

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, or_, select

from models.availability import (
    KEY_PREFIX,
    OPEN_RUN_STATUSES,
    RunStatus,
    TestRun,
    TestRunRef,
    TestState,
    UrlCheck,
)
from models.availability_policy import ServiceTest
from models.incident import IncidentInput, Level
from models.policy import Policy, Service
from services import audit, incidents, links, notifications
from services.errors import AlreadyDone, InvalidInput, NotFound
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


@dataclass(frozen=True)
class UrlTarget:
    """A URL test whose check is due now (claimed: no other process checks it this time)."""

    service: str
    test_name: str
    url: str


@dataclass(frozen=True)
class CheckRecorded:
    """What one URL check result changed: an incident opened, or a recovery announced."""

    opened: str | None = None
    recovered: str | None = None


def parse_run_key(key: str) -> int:
    """'TST-4' → 4; anything else is refused in plain words."""
    prefix, _, number = key.strip().upper().partition("-")
    if prefix != KEY_PREFIX or not number.isdigit():
        raise InvalidInput(f"'{key.strip()}' is not a test run key; they look like TST-4.")
    return int(number)


def get_run(session: Session, *, run_id: int, for_update: bool = False) -> TestRun:
    """The run with this id; with `for_update`, locked and re-read."""
    statement = select(TestRun).where(TestRun.id == run_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    run = session.exec(statement).first()
    if run is None:
        raise NotFound(f"There is no test run {KEY_PREFIX}-{run_id}.")
    return run


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


def _queue(
    session: Session,
    run: TestRun,
    *,
    stage: str,
    to: str,
    due: datetime,
    now: datetime,
    out: list[Reminder],
) -> None:
    text = reminder_text(run, stage)
    if notifications.schedule(
        session,
        record_key=run.key,
        kind=OUTBOX_KIND,
        stage=stage,
        recipient=to,
        due_at=due,
        text=text,
        blocks=reminder_blocks(run, text),
        late=run.late and stage == "due",
        now=now,
    ):
        out.append(Reminder(run.key, stage, to))


def _create_due_runs(
    session: Session, service: Service, test: ServiceTest, *, now: datetime, out: list[Reminder]
) -> None:
    state = ensure_state(session, service=service.name, test_name=test.name, now=now)
    last = session.exec(
        select(func.max(TestRun.due_at)).where(
            TestRun.service == service.name, TestRun.test_name == test.name
        )
    ).one()
    base = last or state.first_seen_at
    due = test.latest_due(after=base, now=now)
    if due is None:
        return
    # Late: the bot missed at least one earlier due time, or sweeps well after this one.
    late = due != test.next_after(base) or now - due > notifications.LATE_AFTER
    created = session.execute(
        _insert(session)(TestRun)
        .values(
            service=service.name,
            test_name=test.name,
            kind=test.kind.value,
            owner=test.owner,
            due_at=due,
            status=RunStatus.PENDING.value,
            late=late,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["service", "test_name", "due_at"])
        .returning(col(TestRun.id))
    ).scalar_one_or_none()
    if created is None:
        return
    run = get_run(session, run_id=created)
    audit.record(
        session,
        key=run.key,
        actor=SYSTEM.user_id,
        at=now,
        action="due",
        after=run.status,
        note="late" if late else None,
    )
    _queue(session, run, stage="due", to=run.owner, due=now, now=now, out=out)


def _chase(
    session: Session, run: TestRun, *, now: datetime, policy: Policy, out: list[Reminder]
) -> None:
    # Counted from the first reminder (created_at), so a run created late is not escalated
    # the moment it appears.
    waited = now - run.created_at
    settings = policy.availability
    if waited < settings.chase_every:
        return
    if run.status == RunStatus.PENDING.value:
        moved = session.execute(
            update(TestRun)
            .where(col(TestRun.id) == run.id, col(TestRun.status) == RunStatus.PENDING.value)
            .values(status=RunStatus.OVERDUE.value)
        ).rowcount
        if moved:
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
    chases = waited // settings.chase_every
    _queue(
        session,
        run,
        stage=f"chase:{chases}",
        to=run.owner,
        due=run.created_at + settings.chase_every * chases,
        now=now,
        out=out,
    )
    if waited >= settings.escalate_after:
        lead = _lead_for(policy, run.service)
        if lead:
            _queue(
                session,
                run,
                stage="escalated",
                to=lead,
                due=run.created_at + settings.escalate_after,
                now=now,
                out=out,
            )


def _lead_for(policy: Policy, service_name: str) -> str | None:
    service = policy.service(service_name)
    team = policy.team(service.team) if service else None
    if team is None:
        return policy.channels.escalations
    return team.lead or team.on_call or policy.channels.escalations


def availability_sweep(session: Session, *, now: datetime, policy: Policy) -> list[Reminder]:
    """Create the runs that fell due (one per test however many due times were missed), queue
    their reminders to the owners, mark runs overdue and chase them every `chase_every`, and
    escalate to the service's team lead after `escalate_after`. Returns the reminders newly
    queued; a repeated sweep queues nothing new."""
    queued: list[Reminder] = []
    for service in policy.services:
        for test in service.tests:
            if test.url is None:
                _create_due_runs(session, service, test, now=now, out=queued)
    open_runs = session.exec(
        select(TestRun).where(col(TestRun.status).in_(_OPEN)).order_by(col(TestRun.id))
    ).all()
    for run in open_runs:
        _chase(session, run, now=now, policy=policy, out=queued)
    return queued


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
    incident, _ = incidents.create(
        session,
        data=IncidentInput(
            title=failure_title(kind=run.kind, test_name=run.test_name, service=run.service),
            # Plain words: a description is shown escaped, so a mention here would show as text.
            description=f"{run.key} recorded as failed: {cleaned}",
            impact=Level.HIGH,
            urgency=Level.MEDIUM,
            service=run.service if policy.service(run.service) else None,
        ),
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


# ---- URL checks: the job checks, these functions record ----------------------------------


def claim_url_checks(session: Session, *, now: datetime, policy: Policy) -> list[UrlTarget]:
    """The URL tests to check now. Each is claimed by moving its `next_check_at` on, in a
    conditional update, so two bot processes do not both check (and double-count) it."""
    due: list[UrlTarget] = []
    for service in policy.services:
        for test in service.tests:
            if test.url is None:
                continue
            state = ensure_state(session, service=service.name, test_name=test.name, now=now)
            claimed = session.execute(
                update(TestState)
                .where(
                    col(TestState.id) == state.id,
                    or_(
                        col(TestState.next_check_at).is_(None), col(TestState.next_check_at) <= now
                    ),
                )
                .values(next_check_at=test.next_after(now))
            ).rowcount
            if claimed:
                due.append(UrlTarget(service.name, test.name, test.url))
    return due


def record_check(
    session: Session,
    *,
    service: str,
    test_name: str,
    ok: bool,
    status_code: int | None,
    error: str | None,
    latency_ms: int | None,
    now: datetime,
    policy: Policy,
) -> CheckRecorded:
    """Store one URL check result. The `failures_before_incident`-th consecutive failure opens
    one incident on the service (further failures add nothing); the first success after it
    queues a "recovered" message in that incident's thread."""
    session.add(
        UrlCheck(
            service=service,
            test_name=test_name,
            at=now,
            ok=ok,
            status_code=status_code,
            error=(error or None) and error[:300],
            latency_ms=latency_ms,
        )
    )
    ensure_state(session, service=service, test_name=test_name, now=now)
    state = session.exec(
        select(TestState)
        .where(TestState.service == service, TestState.test_name == test_name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if ok:
        return _recovered(session, state, now=now, policy=policy)
    state.consecutive_failures += 1
    state.failing_since = state.failing_since or now
    session.add(state)
    if (
        state.incident_key
        or state.consecutive_failures < policy.availability.failures_before_incident
    ):
        return CheckRecorded()
    shared = _open_outage(session, service=service, besides=state)
    if shared is not None:
        # Another check of the same service already has the outage open: one incident.
        state.incident_key = shared
        session.add(state)
        audit.record(
            session,
            key=shared,
            actor=SYSTEM.user_id,
            at=now,
            action="url check failing",
            note=f"{test_name} fails too",
        )
        return CheckRecorded()
    described = f"HTTP {status_code}" if status_code is not None else (error or "no answer")
    incident, _ = incidents.create(
        session,
        data=IncidentInput(
            title=failure_title(kind="availability", test_name=test_name, service=service),
            description=(
                f"The URL check of {test_name} failed {state.consecutive_failures} times in a "
                f"row since {state.failing_since:%Y-%m-%d %H:%M} UTC (last: {described})."
            ),
            impact=Level.HIGH,
            urgency=Level.MEDIUM,
            service=service if policy.service(service) else None,
        ),
        reporter=SYSTEM.user_id,
        now=now,
        policy=policy,
        submission_id=f"url-check:{state.id}:{int(state.failing_since.timestamp())}",
    )
    state.incident_key = incident.key
    session.add(state)
    return CheckRecorded(opened=incident.key)


def _open_outage(session: Session, *, service: str, besides: TestState) -> str | None:
    """The open incident another URL check of `service` is failing under, if any."""
    others = session.exec(
        select(TestState).where(
            TestState.service == service,
            TestState.id != besides.id,
            col(TestState.incident_key).is_not(None),
        )
    ).all()
    for other in others:
        if other.incident_key and incidents.get(session, key=other.incident_key).is_open:
            return other.incident_key
    return None


def _recovered(
    session: Session, state: TestState, *, now: datetime, policy: Policy
) -> CheckRecorded:
    key = state.incident_key
    failing_since = state.failing_since
    state.consecutive_failures = 0
    state.failing_since = None
    state.incident_key = None
    session.add(state)
    if key is None:
        return CheckRecorded()
    incident = incidents.get(session, key=key)
    down_for = now - failing_since if failing_since else None
    text = (
        f"Recovered: the URL check of {user_text(state.test_name)} on "
        f"{user_text(state.service)} passes again"
    ) + (f" after {_hours_minutes(down_for)}." if down_for is not None else ".")
    thread = (
        (incident.channel_id, incident.message_ts)
        if incident.channel_id and incident.message_ts
        else None
    )
    notifications.schedule(
        session,
        record_key=key,
        kind=OUTBOX_KIND,
        # One per check and failure streak: two checks sharing an outage both report back.
        stage=f"recovered:{state.test_name}:{int(failing_since.timestamp()) if failing_since else 0}",
        recipient=incident.channel_id or policy.channels.incidents,
        due_at=now,
        text=text,
        thread=thread,
        now=now,
    )
    audit.record(
        session, key=key, actor=SYSTEM.user_id, at=now, action="url check recovered", note=text
    )
    return CheckRecorded(recovered=key)


def _hours_minutes(span: object) -> str:
    seconds = int(span.total_seconds())  # type: ignore[attr-defined]
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s"
