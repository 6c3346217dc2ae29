"""SLA timers fire each stage once, follow pauses, calendars and priority, and stop when met."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from models.incident import HoldReason
from models.sla_timer import SlaTimer
from services import audit, incident_escalation, incidents, sla_timers
from tests.sla.conftest import AGENT, new_incident, outbox, stages, sweep


def _timer(db, key, target) -> SlaTimer:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return session.exec(
            sla_timers.select(SlaTimer).where(SlaTimer.record_key == key, SlaTimer.target == target)
        ).one()


def test_each_threshold_fires_exactly_once_however_many_sweeps(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)  # response 1h, 24x7
    for _ in range(3):
        assert sweep(database, clock, policy) == []
    clock.advance(minutes=30)
    for _ in range(3):
        sweep(database, clock, policy)
    # Unassigned: the assignee's warning goes to the service's (team's) on-call.
    assert stages(database, key) == {"response:50": ["UONCALL"]}
    clock.advance(minutes=15)
    for _ in range(3):
        sweep(database, clock, policy)
    clock.advance(minutes=15)
    for _ in range(3):
        sweep(database, clock, policy)
    assert stages(database, key) == {
        "response:50": ["UONCALL"],
        "response:75": ["UONCALL"],
        "response:100": ["incident-escalations", "UONCALL", "ULEAD"],
    }
    clock.advance(minutes=59)
    sweep(database, clock, policy)
    assert "response:reminder:1" not in stages(database, key)
    clock.advance(minutes=1)
    for _ in range(3):
        sweep(database, clock, policy)
    found = stages(database, key)
    assert found["response:reminder:1"] == ["incident-escalations", "UONCALL", "ULEAD"]
    assert all(not row.late for row in outbox(database, key))
    assert _timer(database, key, "response").breached_at == datetime(2026, 11, 27, 11, tzinfo=UTC)


def test_business_hours_p3_deadlines_cross_the_weekend(database, clock, policy):
    clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=UTC))  # Friday 15:00, two working hours left
    key = new_incident(database, clock, policy, priority=3)  # response 4 business hours
    assert _timer(database, key, "response").next_due_at == datetime(2026, 11, 27, 17, tzinfo=UTC)
    clock.set(datetime(2026, 11, 27, 17, 0, tzinfo=UTC))
    sweep(database, clock, policy)
    assert list(stages(database, key)) == ["response:50"]
    # 75 % is three working hours in: Monday 10:00, not Friday evening or the weekend.
    assert _timer(database, key, "response").next_due_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    clock.set(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))  # Sunday
    sweep(database, clock, policy)
    assert list(stages(database, key)) == ["response:50"]
    clock.set(datetime(2026, 11, 30, 11, 0, tzinfo=UTC))  # Monday 11:00: four working hours
    sweep(database, clock, policy)
    # 75 % (10:00) went by unswept; once the breach is due only the breach is worth telling.
    assert list(stages(database, key)) == ["response:50", "response:100"]
    with database.session() as session:
        incident = incidents.get(session, key=key)
        response, resolution, next_deadline = sla_timers.incident_sla(
            session, incident=incident, policy=policy, now=clock.now()
        )
    assert response.due_at == datetime(2026, 11, 30, 11, tzinfo=UTC)
    assert response.breached is False and response.remaining == timedelta(0)
    assert next_deadline == response.due_at
    # Three business days (8 h each) from Friday 15:00: Wednesday 15:00.
    assert resolution.due_at == datetime(2026, 12, 2, 15, tzinfo=UTC)


def test_pause_and_resume_shift_the_notification_times(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)  # resolution 8h, 24x7
    clock.advance(minutes=5)
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    assert _timer(database, key, "resolution").next_due_at == datetime(2026, 11, 27, 14, tzinfo=UTC)
    clock.set(datetime(2026, 11, 27, 11, tzinfo=UTC))
    with database.session() as session:
        incidents.hold(
            session,
            key=key,
            reason=HoldReason.CUSTOMER,
            note=None,
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
    assert _timer(database, key, "resolution").next_due_at is None  # paused: not swept at all
    clock.set(datetime(2026, 11, 27, 13, tzinfo=UTC))
    with database.session() as session:
        incidents.resume(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    assert _timer(database, key, "resolution").next_due_at == datetime(2026, 11, 27, 16, tzinfo=UTC)
    clock.set(datetime(2026, 11, 27, 15, 59, tzinfo=UTC))
    sweep(database, clock, policy)
    assert "resolution:50" not in stages(database, key)
    clock.set(datetime(2026, 11, 27, 16, tzinfo=UTC))
    sweep(database, clock, policy)
    # Assigned to the acknowledger, so the warning goes to them.
    assert stages(database, key)["resolution:50"] == ["UAGENT"]


def test_acknowledging_stops_response_notifications(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)
    clock.advance(minutes=30)
    sweep(database, clock, policy)
    assert [row.status for row in outbox(database, key)] == ["pending"]  # not sent yet
    clock.advance(minutes=5)
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    clock.advance(hours=4)  # 14:35: past the response deadline and half the resolution time
    sweep(database, clock, policy)
    rows = outbox(database, key)
    assert [(row.stage, row.status) for row in rows if row.stage.startswith("response")] == [
        ("response:50", "cancelled")
    ]
    assert _timer(database, key, "response").next_due_at is None
    # The resolution target still runs: 8h, half at 14:00.
    assert "resolution:50" in stages(database, key)


def test_priority_change_recomputes_from_the_original_start(database, clock, policy):
    key = new_incident(database, clock, policy, priority=4)  # 1 business day response
    assert _timer(database, key, "response").next_due_at == datetime(2026, 11, 27, 14, tzinfo=UTC)
    clock.advance(minutes=20)
    with database.session() as session:
        incident_escalation.set_priority(
            session,
            key=key,
            new_priority=1,
            reason="whole company affected",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
    # P1: 15 minutes from 10:00 (not from 10:20), 24x7: already breached.
    timer = _timer(database, key, "response")
    assert timer.target_seconds == 15 * 60 and timer.calendar == "24x7"
    assert timer.next_due_at == datetime(2026, 11, 27, 10, 7, 30, tzinfo=UTC)
    assert _timer(database, key, "resolution").next_due_at == datetime(2026, 11, 27, 12, tzinfo=UTC)
    sweep(database, clock, policy)
    assert list(stages(database, key)) == ["response:100"]
    with database.session() as session:
        trail = audit.trail(session, key=key)
    assert [(e.action, e.from_value, e.to_value) for e in trail][-1] == (
        "priority changed",
        "P4",
        "P1",
    )


def test_reopen_runs_the_resolution_target_again(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)  # resolution 4h
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
        incidents.resolve(
            session,
            key=key,
            code="fixed",
            note="restarted",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
    assert _timer(database, key, "resolution").next_due_at is None
    clock.advance(hours=1)
    with database.session() as session:
        incidents.reopen(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    assert _timer(database, key, "resolution").next_due_at == datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_a_timer_missing_from_the_store_is_made_again_at_the_next_change(database, clock, policy):
    """A timer row lost (deleted by hand, a restore that missed it) is not a dead end: the
    incident's next change makes it again, from the incident's own start and its first stage."""
    key = new_incident(database, clock, policy, priority=2)  # logged 10:00; resolution 8h, 24x7
    before = _timer(database, key, "resolution")
    with database.session() as session:
        session.execute(
            delete(SlaTimer).where(SlaTimer.record_key == key, SlaTimer.target == "resolution")
        )
        gone = session.exec(
            sla_timers.select(SlaTimer).where(
                SlaTimer.record_key == key, SlaTimer.target == "resolution"
            )
        ).all()
        assert gone == []
    clock.advance(minutes=5)
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    again = _timer(database, key, "resolution")
    assert (again.started_at, again.target_seconds, again.calendar) == (
        before.started_at,
        8 * 3600,
        before.calendar,
    )
    assert again.next_stage == policy.sla.warn_at[0]
    assert again.next_due_at == datetime(2026, 11, 27, 14, tzinfo=UTC)
    assert again.due_at == datetime(2026, 11, 27, 18, tzinfo=UTC)
    assert (again.updated_at, again.stopped_at) == (clock.now(), None)


def test_the_incident_shows_its_clocks_with_holds_and_stops(database, clock, policy):
    """What the incident message and /incident show display: the response stopped when it was
    acknowledged, the resolution clock paused while on hold and its deadline pushed back by the
    hold, and no deadline to show while paused."""
    key = new_incident(database, clock, policy, priority=2)  # 10:00; resolution 8h, 24x7

    def shown(at: datetime):  # type: ignore[no-untyped-def]
        clock.set(at)
        with database.session() as session:
            incident = incidents.get(session, key=key)
            return sla_timers.incident_sla(session, incident=incident, policy=policy, now=at)

    clock.advance(minutes=5)
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    clock.set(datetime(2026, 11, 27, 11, tzinfo=UTC))
    with database.session() as session:
        incidents.hold(
            session,
            key=key,
            reason=HoldReason.CUSTOMER,
            note=None,
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
    response, resolution, deadline = shown(datetime(2026, 11, 27, 12, tzinfo=UTC))
    assert (response.stopped, response.met, response.elapsed) == (True, True, timedelta(minutes=5))
    assert (resolution.paused, resolution.elapsed, resolution.due_at) == (
        True,
        timedelta(hours=1),
        None,
    )
    assert deadline is None
    clock.set(datetime(2026, 11, 27, 13, tzinfo=UTC))
    with database.session() as session:
        incidents.resume(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    response, resolution, deadline = shown(datetime(2026, 11, 27, 14, tzinfo=UTC))
    assert (resolution.paused, resolution.stopped) == (False, False)
    assert resolution.elapsed == timedelta(hours=2)
    assert resolution.due_at == deadline == datetime(2026, 11, 27, 20, tzinfo=UTC)
    assert response.elapsed == timedelta(minutes=5)  # still stopped where it was met


def _breach_rows(database, clock, policy, key):  # type: ignore[no-untyped-def]
    clock.set(datetime(2026, 11, 27, 18, tzinfo=UTC))  # the P2 resolution deadline (8h)
    sweep(database, clock, policy)
    return {row.recipient: row for row in outbox(database, key) if row.stage == "resolution:100"}


def _posted(database, key, *, restricted: bool = False) -> None:  # type: ignore[no-untyped-def]
    """As if the bot had posted the incident's message (and, for a security incident,
    restricted it)."""
    with database.session() as session:
        incident = incidents.get(session, key=key)
        incident.channel_id, incident.message_ts = "C0POSTED", "1764237600.000100"
        incident.restricted = restricted
        session.add(incident)


def test_breach_notices_follow_the_service_on_call_and_reply_in_the_incident_thread(
    database, clock
):
    from models.escalation_policy import Audience, EscalationPolicy, SlaRecipients
    from models.policy import Channels, Policy, Service, Team

    breach = [Audience.ESCALATION_CHANNEL, Audience.ON_CALL, Audience.TEAM_LEAD]
    policy = Policy(
        channels=Channels(incidents="C0INCIDENTS"),
        teams=[Team(name="ops", lead="ULEAD", on_call="UTEAMONCALL")],
        services=[Service(name="email", team="ops", on_call="USVCONCALL")],
        escalation=EscalationPolicy(
            sla_recipients=SlaRecipients(breach=[*breach, Audience.INCIDENT_CHANNEL])
        ),
    )
    key = new_incident(database, clock, policy, priority=2)
    _posted(database, key)
    rows = _breach_rows(database, clock, policy, key)
    assert "USVCONCALL" in rows and "UTEAMONCALL" not in rows
    assert "ULEAD" in rows
    assert rows["incident-escalations"].thread_channel is None
    replies = [(r.recipient, r.thread_channel, r.thread_ts) for r in rows.values() if r.thread_ts]
    assert replies == [("C0POSTED", "C0POSTED", "1764237600.000100")]
    assert all(key in row.text for row in rows.values())


def test_a_restricted_incident_breach_reaches_only_the_security_team(database, clock):
    from models.policy import Channels, Policy, Roles, Service, Team

    policy = Policy(
        channels=Channels(incidents="C0INCIDENTS", security="C0SECURITY"),
        roles=Roles(security=["USECURITY"]),
        teams=[Team(name="ops", lead="ULEAD", on_call="UTEAMONCALL")],
        services=[Service(name="email", team="ops", on_call="USVCONCALL")],
    )
    key = new_incident(database, clock, policy, priority=2)
    _posted(database, key, restricted=True)
    rows = _breach_rows(database, clock, policy, key)
    assert set(rows) <= {"USECURITY", "C0POSTED"} and "USECURITY" in rows
    # Its own thread lives in the security channel, so the notice may name it in full there.
    assert all(row.text.startswith(f":rotating_light: {key} (P2 high)") for row in rows.values())


def test_a_cancelled_incident_stops_both_clocks_and_is_never_chased(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)
    clock.advance(minutes=20)
    with database.session() as session:
        incidents.cancel(
            session, key=key, actor=AGENT, now=clock.now(), note="Logged twice", policy=policy
        )
    clock.advance(hours=12)
    with database.session() as session:
        incident = incidents.get(session, key=key)
        response, resolution, deadline = sla_timers.incident_sla(
            session, incident=incident, policy=policy, now=clock.now()
        )
    assert (response.stopped, response.elapsed) == (True, timedelta(minutes=20))
    assert (resolution.stopped, resolution.elapsed) == (True, timedelta(minutes=20))
    assert deadline is None
    sweep(database, clock, policy)
    assert stages(database, key) == {}


def test_without_warnings_the_first_stage_is_the_breach(database, clock, policy):
    from models.sla_policy import SlaPolicy

    policy = policy.model_copy(update={"sla": SlaPolicy(warn_at=[])})
    key = new_incident(database, clock, policy, priority=2)  # 10:00; resolution 8h
    timer = _timer(database, key, "resolution")
    assert (timer.next_stage, timer.next_due_at) == (100, datetime(2026, 11, 27, 18, tzinfo=UTC))


def test_what_the_warning_the_breach_and_the_reminder_say(database, clock, policy):
    key = new_incident(database, clock, policy, priority=2)  # 10:00; resolution 8h, 24x7

    def said(stage: str) -> str:
        """The text of a stage (the same for each of its recipients)."""
        (text,) = {r.text for r in outbox(database, key) if r.stage == stage}
        return text

    clock.set(datetime(2026, 11, 27, 14, tzinfo=UTC))
    sweep(database, clock, policy)
    assert said("resolution:50") == (
        f":hourglass: {key} (P2 high) Mail is down: 50 % of the resolution time is used."
        " It is due Fri 27 Nov 18:00 UTC."
    )
    clock.set(datetime(2026, 11, 27, 18, tzinfo=UTC))
    sweep(database, clock, policy)
    assert said("resolution:100") == (
        f":rotating_light: {key} (P2 high) Mail is down has breached its resolution target."
    )
    # The bot was down for the hourly reminders (19:00, 20:00, 21:00): at 21:30 only the
    # latest is sent, late, and it says so.
    clock.set(datetime(2026, 11, 27, 21, 30, tzinfo=UTC))
    sweep(database, clock, policy)
    assert said("resolution:reminder:3") == (
        f":rotating_light: Reminder: {key} (P2 high) Mail is down is still past its resolution"
        " target (breached 3h 30m ago). (Sent late: the bot was unavailable when this fell due.)"
    )


def test_a_restricted_incident_warning_reaches_its_assignee_and_the_security_team(database, clock):
    from models.policy import Channels, Policy, Roles, Service, Team

    policy = Policy(
        channels=Channels(incidents="C0INCIDENTS", security="C0SECURITY"),
        roles=Roles(security=["USECURITY"]),
        teams=[Team(name="ops", lead="ULEAD", on_call="UTEAMONCALL")],
        services=[Service(name="email", team="ops", on_call="USVCONCALL")],
    )
    key = new_incident(database, clock, policy, priority=2)
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
    _posted(database, key, restricted=True)
    clock.set(datetime(2026, 11, 27, 14, tzinfo=UTC))
    sweep(database, clock, policy)
    assert sorted(stages(database, key)["resolution:50"]) == ["UAGENT", "USECURITY"]
    rows = _breach_rows(database, clock, policy, key)
    assert sorted(rows) == ["C0POSTED", "USECURITY"]
    assert (rows["C0POSTED"].thread_channel, rows["C0POSTED"].thread_ts) == (
        "C0POSTED",
        "1764237600.000100",
    )
