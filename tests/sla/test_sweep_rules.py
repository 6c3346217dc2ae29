"""The SLA sweep's rules at their edges: who is told when nobody is named, where a security
incident's notice goes before it has a message, the one-second tolerance, the five minutes
after which a notice is marked late, a hold the timer was not told about, timers whose record
is gone, and the batch a sweep takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert
from sqlmodel import col, select

from models.incident import SlaPause
from models.policy import Channels, Policy, Roles, Service, Team
from models.sla_timer import SlaTimer
from services import incidents, notifications, sla_timers
from tests.sla.conftest import new_incident, outbox, stages, sweep

START = datetime(2026, 11, 27, 10, tzinfo=UTC)  # the clock fixture's "now"; P2: response 1h


def _set(database, key, **values):  # type: ignore[no-untyped-def]
    with database.session() as session:
        incident = incidents.get(session, key=key)
        for name, value in values.items():
            setattr(incident, name, value)
        session.add(incident)


def _rows(database, key, stage):  # type: ignore[no-untyped-def]
    return {row.recipient: row for row in outbox(database, key) if row.stage == stage}


def _timer(database, key, target="response") -> SlaTimer:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.exec(
            select(SlaTimer).where(SlaTimer.record_key == key, SlaTimer.target == target)
        ).one()


def test_with_nobody_to_name_the_notice_goes_where_the_incident_lives(database, clock):
    # No on-call anywhere and nobody assigned: the 50 % warning (to the assignee) has no one.
    policy = Policy(
        channels=Channels(incidents="C0INCIDENTS"),
        teams=[Team(name="ops")],
        services=[Service(name="email", team="ops")],
    )
    posted = new_incident(database, clock, policy, priority=2)
    _set(database, posted, channel_id="C0POSTED", message_ts="1764237600.000100")
    unposted = new_incident(database, clock, policy, priority=2)
    clock.advance(minutes=30)
    sweep(database, clock, policy)
    [(recipient, row)] = _rows(database, posted, "response:50").items()
    assert (recipient, row.thread_channel, row.thread_ts) == (
        "C0POSTED",
        "C0POSTED",
        "1764237600.000100",
    )
    [(recipient, row)] = _rows(database, unposted, "response:50").items()
    assert (recipient, row.thread_channel, row.thread_ts) == ("C0INCIDENTS", None, None)


def _security_policy(channel: str | None) -> Policy:
    return Policy(
        channels=Channels(incidents="C0INCIDENTS", security=channel),
        roles=Roles(security=["USECURITY"]),
        teams=[Team(name="ops", lead="ULEAD", on_call="UTEAMONCALL")],
        services=[Service(name="email", team="ops")],
    )


def test_a_security_incident_without_a_message_yet_is_told_in_the_security_channel(database, clock):
    policy = _security_policy("C0SECURITY")
    key = new_incident(database, clock, policy, priority=2)
    _set(database, key, restricted=True)
    clock.advance(hours=1)
    sweep(database, clock, policy)
    rows = _rows(database, key, "response:100")
    assert sorted(rows) == ["C0SECURITY", "USECURITY"]
    assert (rows["C0SECURITY"].thread_channel, rows["C0SECURITY"].thread_ts) == (None, None)


def test_a_security_incident_with_no_security_channel_and_no_message_tells_the_team_only(
    database, clock
):
    policy = _security_policy(None)
    key = new_incident(database, clock, policy, priority=2)
    _set(database, key, restricted=True)
    clock.advance(hours=1)
    sweep(database, clock, policy)
    assert sorted(_rows(database, key, "response:100")) == ["USECURITY"]


def test_a_notice_is_late_only_past_five_minutes_after_its_instant(database, clock, policy):
    late = new_incident(database, clock, policy, priority=2)  # 50 % at 10:30:00
    clock.advance(seconds=1)
    on_time = new_incident(database, clock, policy, priority=2)  # 50 % at 10:30:01
    clock.set(START + timedelta(minutes=35, seconds=1))
    sweep(database, clock, policy)
    assert [row.late for row in outbox(database, late)] == [True]
    assert [row.late for row in outbox(database, on_time)] == [False]
    assert sla_timers.LATE_AFTER == timedelta(minutes=5)


def test_within_a_second_of_the_deadline_the_breach_is_what_is_told(database, clock, policy):
    # The bot was down from before the 50 % warning until one second before the breach.
    key = new_incident(database, clock, policy, priority=2)
    clock.set(START + timedelta(minutes=59, seconds=59))
    fired = sweep(database, clock, policy)
    assert [f.stage for f in fired if f.record_key == key] == ["response:100"]
    assert stages(database, key) == {"response:100": ["incident-escalations", "UONCALL", "ULEAD"]}
    assert _timer(database, key).breached_at == START + timedelta(hours=1)


def test_within_a_second_of_a_warning_that_warning_is_what_is_told(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)  # 75 % at 10:45
    clock.set(START + timedelta(minutes=44, seconds=59))
    sweep(database, clock, policy)
    assert stages(database, key) == {"response:75": ["UONCALL"]}


def test_a_hold_the_timer_missed_moves_it_on_without_a_notice(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)  # response 50 % due at 10:30
    # A hold from 10:10 to 10:25 written without the timer being refreshed.
    with database.session() as session:
        session.add(
            SlaPause(
                record_key=key,
                started_at=START + timedelta(minutes=10),
                ended_at=START + timedelta(minutes=25),
            )
        )
    assert _timer(database, key).next_due_at == START + timedelta(minutes=30)
    clock.set(START + timedelta(minutes=31))
    with database.session() as session:
        fired = sla_timers.sweep(session, now=clock.now(), policy=policy)
        woken = session.info.get(notifications.WAKE_AT_INFO)
    assert fired == []
    assert stages(database, key) == {}
    # 16 counted minutes so far: the 50 % falls at 10:45 now, and the wake-up is set for it.
    timer = _timer(database, key)
    assert (timer.next_stage, timer.next_due_at) == (50, START + timedelta(minutes=45))
    assert woken == START + timedelta(minutes=45)


def test_a_warning_during_an_open_hold_does_not_name_a_deadline(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)
    with database.session() as session:
        session.add(SlaPause(record_key=key, started_at=START + timedelta(minutes=40)))
    clock.set(START + timedelta(minutes=50))
    sweep(database, clock, policy)
    [text] = {row.text for row in outbox(database, key)}
    assert text == f":hourglass: {key} (P2 high) Mail is down: 50 % of the response time is used."


def _orphans(database, count: int, due: datetime) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        session.execute(
            insert(SlaTimer.__table__),  # type: ignore[attr-defined]
            [
                {
                    "record_key": f"INC-{900000 + n}",
                    "target": "response",
                    "started_at": due - timedelta(hours=1),
                    "target_seconds": 3600,
                    "calendar": "24x7",
                    "next_stage": 50,
                    "next_due_at": due,
                    "updated_at": due,
                }
                for n in range(count)
            ],
        )


def _still_due(database, now: datetime) -> int:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.exec(
            select(func.count())
            .select_from(SlaTimer)
            .where(col(SlaTimer.next_due_at).is_not(None), col(SlaTimer.next_due_at) <= now)
        ).one()


def test_a_timer_whose_record_is_gone_is_set_aside_silently(database, clock, policy):
    _orphans(database, 1, clock.now())
    with database.session() as session:
        notifications.schedule(
            session,
            record_key="INC-900000",
            kind="sla",
            stage="response:50",
            recipient="U1",
            due_at=clock.now() + timedelta(hours=1),
            text="queued before the record went",
        )
    assert sweep(database, clock, policy) == []
    with database.session() as session:
        [timer] = session.exec(select(SlaTimer)).all()
    assert (timer.next_due_at, timer.stopped_at) == (None, None)
    assert _still_due(database, clock.now()) == 0
    # Nothing else is touched: what was queued for it stays as it was.
    with database.session() as session:
        [row] = notifications.for_record(session, record_key=timer.record_key)
    assert (row.stage, row.status) == ("response:50", "pending")


def test_a_sweep_takes_at_most_five_hundred_timers_unless_told_otherwise(database, clock, policy):
    _orphans(database, 501, clock.now())
    sweep(database, clock, policy)
    assert _still_due(database, clock.now()) == 1
    sweep(database, clock, policy)
    assert _still_due(database, clock.now()) == 0


def test_an_incident_without_a_service_is_told_in_the_incidents_channel(database, clock):
    from models.escalation_policy import Audience, EscalationPolicy, SlaRecipients
    from models.incident import IncidentInput, Level

    audiences = [Audience.TEAM_LEAD, Audience.ON_CALL, Audience.INCIDENT_CHANNEL]
    policy = Policy(
        channels=Channels(incidents="C0INCIDENTS"),
        teams=[Team(name="ops", lead="ULEAD", on_call="UONCALL")],
        services=[Service(name="email", team="ops")],
        escalation=EscalationPolicy(sla_recipients=SlaRecipients(breach=audiences)),
    )
    data = IncidentInput(title="Something is off", impact=Level.HIGH, urgency=Level.MEDIUM)
    with database.session() as session:
        incident, _ = incidents.create(
            session, data=data, reporter="UREPORTER", now=clock.now(), policy=policy
        )
        key = incident.key
    clock.advance(hours=1)
    sweep(database, clock, policy)
    # No team: no lead and no on-call to name; the channel is where it was logged.
    rows = _rows(database, key, "response:100")
    assert [(r, row.thread_ts) for r, row in rows.items()] == [("C0INCIDENTS", None)]
