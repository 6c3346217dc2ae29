"""The rules of services/incidents.py one by one, at the service level (both databases): what
logging stores and audits, who may make each move, what each move records (holds and their
SLA pauses, resolutions, reopening, cancelling), the open list and the auto-close list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models.incident import HoldReason, Incident, IncidentInput, Level, SlaPause
from models.policy import Policy
from services import audit, incidents
from services.errors import Forbidden, InvalidInput, NotAllowed
from services.permissions import Actor, Role
from tests.stale_support import change_behind, set_row

AGENT = Actor("U0AGENT", frozenset({Role.AGENT}))
RESPONDER = Actor("U0ONCALL", frozenset({Role.RESPONDER}))
REPORTER = Actor("U0REPORTER")
ASSIGNEE = Actor("U0ASSIGNEE")
STRANGER = Actor("U0STRANGER")


def _log(session, clock, policy, **given):  # type: ignore[no-untyped-def]
    values = {"title": "Disk full", "impact": Level.LOW, "urgency": Level.LOW} | given
    submission = values.pop("submission_id", None)
    incident, created = incidents.create(
        session,
        data=IncidentInput(**values),
        reporter=REPORTER.user_id,
        now=clock.now(),
        policy=policy,
        submission_id=submission,
    )
    return incident, created


def _assigned(database, clock, policy, **given) -> str:  # type: ignore[no-untyped-def]
    """A new incident acknowledged by an agent and given to ASSIGNEE: In progress."""
    with database.session() as session:
        key = _log(session, clock, policy, **given)[0].key
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
        incidents.assign(session, key=key, assignee=ASSIGNEE.user_id, actor=AGENT, now=clock.now())
    return key


def _last(session, key: str):  # type: ignore[no-untyped-def]
    return audit.trail(session, key=key)[-1]


# ---- logging -----------------------------------------------------------------------------


def test_logging_stores_priority_team_and_times_and_audits_them(database, clock, policy) -> None:
    with database.session() as session:
        incident, created = _log(
            session,
            clock,
            policy,
            impact=Level.HIGH,
            urgency=Level.MEDIUM,
            service="payments",
            category="network",
            description="It is full",
            submission_id="V1",
        )
        assert created and incident.key == "INC-1"
        assert (incident.priority, incident.status, incident.team, incident.service) == (
            2,
            "new",
            "platform",
            "payments",
        )
        assert (incident.impact, incident.urgency, incident.category) == (
            "high",
            "medium",
            "network",
        )
        assert (incident.reporter, incident.description, incident.restricted) == (
            "U0REPORTER",
            "It is full",
            False,
        )
        assert incident.created_at == clock.now() and incident.updated_at == clock.now()
        [row] = audit.trail(session, key="INC-1")
        assert (row.action, row.actor, row.to_value, row.note) == (
            "created",
            "U0REPORTER",
            "new",
            "P2 high (impact high, urgency medium)",
        )
        again, created_again = _log(session, clock, policy, title="Other", submission_id="V1")
        assert (again.key, created_again) == ("INC-1", False)
        assert len(audit.trail(session, key="INC-1")) == 1
        plain, _ = _log(session, clock, policy)
        assert (plain.service, plain.team, plain.priority) == (None, None, 5)


def test_a_security_incident_is_restricted_and_says_so(database, clock) -> None:
    policy = Policy.model_validate(
        {
            "channels": {"security": "C0SECURITY"},
            "incidents": {"security_categories": ["security"]},
        }
    )
    with database.session() as session:
        incident, _ = _log(session, clock, policy, category="security")
        assert incident.restricted
        assert audit.trail(session, key=incident.key)[0].note == (
            "P5 planning (impact low, urgency low); restricted (security incident)"
        )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"service": "mainframe"}, "'mainframe' is not a known service."),
        ({"category": "gossip"}, "'gossip' is not a known category."),
    ],
)
def test_unknown_services_and_categories_are_refused(database, clock, policy, given, message):
    with database.session() as session:
        with pytest.raises(InvalidInput) as refused:
            _log(session, clock, policy, **given)
        assert str(refused.value) == message
        assert incidents.list_open(session) == []


def test_the_team_of_a_service(policy) -> None:
    assert incidents.team_for_service(policy, "vpn") == "network"
    assert incidents.team_for_service(policy, "mainframe") is None
    assert incidents.team_for_service(policy, None) is None


# ---- who may -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "allowed", "refused_with"),
    [
        ("acknowledge", {"agent", "assignee", "responder"}, "Only the assignee, on-call staff"),
        ("hold", {"agent", "assignee"}, "Only the assignee or a service desk agent can put"),
        ("resume", {"agent", "assignee"}, "can resume an incident"),
        ("resolve", {"agent", "assignee"}, "can resolve an incident"),
        ("reopen", {"agent", "reporter"}, "Only the reporter or a service desk agent can reopen"),
        ("close", {"agent", "reporter"}, "can close an incident"),
        ("cancel", {"agent", "reporter"}, "can cancel an incident"),
        ("assign", {"agent"}, "assign incidents"),
        ("reprioritise", {"agent"}, "change an incident's priority"),
        ("escalate", {"agent", "assignee"}, "can escalate an incident"),
        ("page", {"agent", "assignee", "responder"}, "can acknowledge a page"),
        ("take_escalation", {"agent", "assignee", "responder"}, "take on an escalation"),
    ],
)
def test_who_may_make_each_move(database, clock, policy, action, allowed, refused_with) -> None:
    key = _assigned(database, clock, policy)
    people = {
        "agent": AGENT,
        "assignee": ASSIGNEE,
        "reporter": REPORTER,
        "responder": RESPONDER,
        "stranger": STRANGER,
    }
    with database.session() as session:
        incident = incidents.get(session, key=key)
        for name, actor in people.items():
            if name in allowed:
                incidents.authorise(incident, action, actor)
            else:
                with pytest.raises(Forbidden) as refused:
                    incidents.authorise(incident, action, actor)
                assert refused_with.lower() in str(refused.value).lower(), name


def test_a_form_is_refused_before_it_opens_by_person_or_state(database, clock, policy) -> None:
    key = _assigned(database, clock, policy)
    with database.session() as session:
        incident = incidents.get(session, key=key)
        incidents.check_step(incident, "resolve", ASSIGNEE)
        with pytest.raises(Forbidden):
            incidents.check_step(incident, "resolve", STRANGER)
        with pytest.raises(NotAllowed, match="INC-1 is In progress"):
            incidents.check_step(incident, "reopen", AGENT)


# ---- the moves ---------------------------------------------------------------------------


def test_acknowledging_assigns_the_acknowledger_only_when_nobody_was(
    database, clock, policy
) -> None:
    with database.session() as session:
        first = _log(session, clock, policy)[0].key
        second = _log(session, clock, policy)[0].key
        incidents.assign(session, key=second, assignee="U0OTHER", actor=AGENT, now=clock.now())
    clock.advance(timedelta(minutes=3))
    with database.session() as session:
        acked = incidents.acknowledge(
            session, key=first, actor=RESPONDER, now=clock.now(), policy=policy
        )
        assert (acked.status, acked.assignee, acked.acknowledged_at) == (
            "in_progress",
            "U0ONCALL",
            clock.now(),
        )
        assert [(r.action, r.field, r.to_value) for r in audit.trail(session, key=first)[1:]] == [
            ("acknowledge", "status", "in_progress"),
            ("assigned", "assignee", "U0ONCALL"),
        ]
        kept = incidents.acknowledge(
            session, key=second, actor=AGENT, now=clock.now(), policy=policy
        )
        assert kept.assignee == "U0OTHER"
        assert _last(session, second).action == "acknowledge"


def test_assigning_the_same_person_again_records_nothing(database, clock, policy) -> None:
    key = _assigned(database, clock, policy)
    with database.session() as session:
        count = len(audit.trail(session, key=key))
        incident, changed = incidents.assign(
            session, key=key, assignee=ASSIGNEE.user_id, actor=AGENT, now=clock.now()
        )
        assert not changed and incident.assignee == ASSIGNEE.user_id
        assert len(audit.trail(session, key=key)) == count
        _, changed = incidents.assign(
            session, key=key, assignee="U0NEXT", actor=AGENT, now=clock.now()
        )
        row = _last(session, key)
        assert changed
        assert (row.action, row.field, row.from_value, row.to_value) == (
            "assigned",
            "assignee",
            ASSIGNEE.user_id,
            "U0NEXT",
        )
        incidents.resolve(
            session, key=key, code="fixed", note="ok", actor=AGENT, now=clock.now(), policy=policy
        )
        with pytest.raises(NotAllowed, match="INC-1 is Resolved"):
            incidents.assign(session, key=key, assignee="U0X", actor=AGENT, now=clock.now())


def test_a_hold_pauses_the_clock_until_resumed(database, clock, policy) -> None:
    key = _assigned(database, clock, policy)
    clock.advance(timedelta(minutes=10))
    held_at = clock.now()
    with database.session() as session:
        held = incidents.hold(
            session,
            key=key,
            reason=HoldReason.SUPPLIER,
            note=" Ticket 42 ",
            actor=ASSIGNEE,
            now=held_at,
            policy=policy,
        )
        assert (held.status, held.hold_reason) == ("on_hold", "supplier")
        assert _last(session, key).note == "Awaiting supplier.  Ticket 42"
        [pause] = session.exec(select(SlaPause).where(SlaPause.record_key == key)).all()
        assert (pause.started_at, pause.ended_at, pause.reason) == (held_at, None, "supplier")
    clock.advance(timedelta(minutes=20))
    with database.session() as session:
        resumed = incidents.resume(session, key=key, actor=ASSIGNEE, now=clock.now(), policy=policy)
        assert (resumed.status, resumed.hold_reason) == ("in_progress", None)
        [pause] = session.exec(select(SlaPause).where(SlaPause.record_key == key)).all()
        assert pause.ended_at == clock.now()
        incidents.hold(
            session,
            key=key,
            reason=HoldReason.CUSTOMER,
            note=None,
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        assert _last(session, key).note == "Awaiting customer."


def test_resolving_needs_a_known_code_and_a_note_and_ends_any_hold(database, clock, policy) -> None:
    key = _assigned(database, clock, policy)
    with database.session() as session:
        incidents.hold(
            session,
            key=key,
            reason=HoldReason.CHANGE,
            note="",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        with pytest.raises(InvalidInput) as refused:
            incidents.resolve(
                session,
                key=key,
                code="magic",
                note="x",
                actor=AGENT,
                now=clock.now(),
                policy=policy,
            )
        assert str(refused.value) == "'magic' is not a resolution code."
        with pytest.raises(InvalidInput) as refused:
            incidents.resolve(
                session,
                key=key,
                code="fixed",
                note=" ",
                actor=AGENT,
                now=clock.now(),
                policy=policy,
            )
        assert str(refused.value) == "Say in a sentence how it was resolved."
        assert incidents.get(session, key=key).status == "on_hold"
    clock.advance(timedelta(hours=1))
    with database.session() as session:
        resolved = incidents.resolve(
            session,
            key=key,
            code="workaround",
            note="  Restarted it ",
            actor=ASSIGNEE,
            now=clock.now(),
            policy=policy,
        )
        assert (resolved.status, resolved.resolution_code, resolved.resolution_note) == (
            "resolved",
            "workaround",
            "Restarted it",
        )
        assert resolved.resolved_at == clock.now() and resolved.hold_reason is None
        assert _last(session, key).note == "workaround: Restarted it"
        pause = session.exec(select(SlaPause).where(SlaPause.record_key == key)).one()
        assert pause.ended_at == clock.now()


def test_resolving_an_unacknowledged_incident_counts_as_its_response(
    database, clock, policy
) -> None:
    with database.session() as session:
        key = _log(session, clock, policy)[0].key
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
        incident = incidents.get(session, key=key)
        incident.acknowledged_at = None
    clock.advance(timedelta(minutes=5))
    with database.session() as session:
        done = incidents.resolve(
            session, key=key, code="fixed", note="x", actor=AGENT, now=clock.now(), policy=policy
        )
        assert done.acknowledged_at == clock.now()
    with database.session() as session:
        key2 = _assigned(database, clock, policy)
        acknowledged = incidents.get(session, key=key2).acknowledged_at
    clock.advance(timedelta(minutes=5))
    with database.session() as session:
        done = incidents.resolve(
            session, key=key2, code="fixed", note="x", actor=AGENT, now=clock.now(), policy=policy
        )
        assert done.acknowledged_at == acknowledged


def test_reopening_clears_the_resolution_and_closing_records_when(database, clock, policy) -> None:
    key = _assigned(database, clock, policy)
    with database.session() as session:
        incidents.resolve(
            session, key=key, code="fixed", note="x", actor=AGENT, now=clock.now(), policy=policy
        )
        reopened = incidents.reopen(
            session, key=key, actor=REPORTER, now=clock.now(), policy=policy, note="Back again"
        )
        assert (reopened.status, reopened.resolved_at) == ("in_progress", None)
        assert (reopened.resolution_code, reopened.resolution_note) == (None, None)
        assert (_last(session, key).action, _last(session, key).note) == ("reopen", "Back again")
        incidents.resolve(
            session, key=key, code="fixed", note="y", actor=AGENT, now=clock.now(), policy=policy
        )
    clock.advance(timedelta(days=1))
    with database.session() as session:
        with pytest.raises(Forbidden):
            incidents.close(session, key=key, actor=ASSIGNEE, now=clock.now())
        closed = incidents.close(session, key=key, actor=REPORTER, now=clock.now(), note="Fine")
        assert (closed.status, closed.closed_at) == ("closed", clock.now())
        assert (_last(session, key).action, _last(session, key).note) == ("close", "Fine")


def test_cancelling_needs_a_reason_and_stops_the_clock(database, clock, policy) -> None:
    key = _assigned(database, clock, policy)
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
        with pytest.raises(InvalidInput, match=r"^Say why the incident is cancelled\.$"):
            incidents.cancel(
                session, key=key, actor=REPORTER, now=clock.now(), note="  ", policy=policy
            )
    clock.advance(timedelta(minutes=7))
    with database.session() as session:
        cancelled = incidents.cancel(
            session, key=key, actor=REPORTER, now=clock.now(), note=" Logged twice ", policy=policy
        )
        assert (cancelled.status, cancelled.closed_at) == ("cancelled", clock.now())
        assert _last(session, key).note == "Logged twice"
        pause = session.exec(select(SlaPause).where(SlaPause.record_key == key)).one()
        assert pause.ended_at == clock.now()


# ---- lists -------------------------------------------------------------------------------


def test_the_open_list_is_newest_first_and_filters(database, clock, policy) -> None:
    with database.session() as session:
        first = _log(session, clock, policy, service="payments")[0].key
        clock.advance(timedelta(minutes=1))
        second = _log(session, clock, policy, impact=Level.HIGH, urgency=Level.HIGH)[0].key
        third = _log(session, clock, policy, service="vpn")[0].key  # same instant: later id first
        closed = _log(session, clock, policy)[0].key
        incidents.assign(session, key=second, assignee="U0A", actor=AGENT, now=clock.now())
        incidents.cancel(
            session, key=closed, actor=AGENT, now=clock.now(), note="dup", policy=policy
        )

        def keys(**given):  # type: ignore[no-untyped-def]
            return [i.key for i in incidents.list_open(session, **given)]

        assert keys() == [third, second, first]
        assert keys(limit=2) == [third, second]
        assert keys(assignee="U0A") == [second]
        assert keys(priority_is=1) == [second]
        assert keys(service="payments") == [first]
        assert keys(reporter=REPORTER.user_id, service="vpn") == [third]
        assert keys(reporter="U0NOBODY") == []


def test_resolved_incidents_close_automatically_from_the_policys_delay(
    database, clock, policy
) -> None:
    start = clock.now()
    keys = []
    for _ in range(3):
        key = _assigned(database, clock, policy)
        with database.session() as session:
            incidents.resolve(
                session,
                key=key,
                code="fixed",
                note="x",
                actor=AGENT,
                now=clock.now(),
                policy=policy,
            )
        keys.append(key)
        clock.advance(timedelta(hours=1))
    open_one = _assigned(database, clock, policy)
    after = policy.incidents.auto_close_after
    with database.session() as session:
        assert (
            incidents.due_for_auto_close(
                session, now=start + after - timedelta(seconds=1), policy=policy
            )
            == []
        )
        assert incidents.due_for_auto_close(session, now=start + after, policy=policy) == keys[:1]
        late = start + after + timedelta(days=30)
        assert incidents.due_for_auto_close(session, now=late, policy=policy) == keys
        assert incidents.due_for_auto_close(session, now=late, policy=policy, limit=2) == keys[:2]
        assert open_one not in incidents.due_for_auto_close(session, now=late, policy=policy)


# ---- every move checks the person and reads the record afresh ----------------------------

MOVES = {
    "acknowledge": lambda s, key, actor, now, policy: incidents.acknowledge(
        s, key=key, actor=actor, now=now, policy=policy
    ),
    "assign": lambda s, key, actor, now, policy: incidents.assign(
        s, key=key, assignee="U0NEW", actor=actor, now=now
    ),
    "hold": lambda s, key, actor, now, policy: incidents.hold(
        s, key=key, reason=HoldReason.CUSTOMER, note=None, actor=actor, now=now, policy=policy
    ),
    "resume": lambda s, key, actor, now, policy: incidents.resume(
        s, key=key, actor=actor, now=now, policy=policy
    ),
    "resolve": lambda s, key, actor, now, policy: incidents.resolve(
        s, key=key, code="fixed", note="x", actor=actor, now=now, policy=policy
    ),
    "reopen": lambda s, key, actor, now, policy: incidents.reopen(
        s, key=key, actor=actor, now=now, policy=policy
    ),
    "close": lambda s, key, actor, now, policy: incidents.close(s, key=key, actor=actor, now=now),
    "cancel": lambda s, key, actor, now, policy: incidents.cancel(
        s, key=key, actor=actor, now=now, note="x", policy=policy
    ),
}
# A state each move is allowed from, and one it is not.
FROM = {
    "acknowledge": ("new", "in_progress"),
    "assign": ("new", "closed"),
    "hold": ("in_progress", "new"),
    "resume": ("on_hold", "in_progress"),
    "resolve": ("in_progress", "new"),
    "reopen": ("resolved", "in_progress"),
    "close": ("resolved", "in_progress"),
    "cancel": ("new", "resolved"),
}


def _in_state(database, clock, policy, status: str) -> str:  # type: ignore[no-untyped-def]
    with database.session() as session:
        key = _log(session, clock, policy)[0].key
    set_row(database, Incident, incidents.parse_key(key), status=status)
    return key


@pytest.mark.parametrize("move", sorted(MOVES))
def test_a_stranger_is_refused_every_move(database, clock, policy, move) -> None:
    allowed, _ = FROM[move]
    key = _in_state(database, clock, policy, allowed)
    with database.session() as session:
        with pytest.raises(Forbidden):
            MOVES[move](session, key, STRANGER, clock.now(), policy)
        assert incidents.get(session, key=key).status == allowed
        assert len(audit.trail(session, key=key)) == 1


@pytest.mark.parametrize("move", sorted(MOVES))
def test_every_move_reads_the_state_the_database_holds(database, clock, policy, move) -> None:
    """The session holds the incident in one state while the row (changed by another
    transaction) is in another: the move goes by the row."""
    allowed, refused = FROM[move]
    for held, stored, works in ((refused, allowed, True), (allowed, refused, False)):
        key = _in_state(database, clock, policy, held)
        with database.session() as session:
            # Kept referenced: the session's identity map holds its objects weakly.
            kept = incidents.get(session, key=key)
            assert kept.status == held
            change_behind(session, Incident, incidents.parse_key(key), status=stored)
            if works:
                MOVES[move](session, key, AGENT, clock.now(), policy)
            else:
                with pytest.raises(NotAllowed, match=f"is {Incident(status=stored).state.label}"):
                    MOVES[move](session, key, AGENT, clock.now(), policy)


# ---- major incidents ---------------------------------------------------------------------


def test_a_major_incident_follows_its_incidents_moves(database, clock, policy) -> None:
    from services import major_incidents, reviews

    with database.session() as session:
        key = _log(session, clock, policy, impact=Level.HIGH, urgency=Level.HIGH)[0].key
        major_incidents.declare(
            session, key=key, reason="Checkout down", actor=AGENT, now=clock.now(), policy=policy
        )
    clock.advance(timedelta(minutes=5))
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=RESPONDER, now=clock.now(), policy=policy)
        major = major_incidents.get(session, key=key)
        assert major.commander == RESPONDER.user_id
        role = _last(session, key)
        assert (role.action, role.field, role.to_value, role.note) == (
            "role",
            "commander",
            RESPONDER.user_id,
            "acknowledged it",
        )
    clock.advance(timedelta(minutes=30))
    resolved_at = clock.now()
    with database.session() as session:
        incidents.resolve(
            session, key=key, code="fixed", note="ok", actor=AGENT, now=resolved_at, policy=policy
        )
        major = major_incidents.get(session, key=key)
        assert (major.ended_at, major.next_update_due) == (resolved_at, None)
        review = reviews.find_for(session, incident_key=key)
        assert review is not None and review.owner == RESPONDER.user_id
    clock.advance(timedelta(minutes=10))
    with database.session() as session:
        incidents.reopen(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
        major = major_incidents.get(session, key=key)
        assert major.ended_at is None
        assert major.next_update_due == clock.now() + policy.major_incidents.every(1)
        incidents.resolve(
            session,
            key=key,
            code="fixed",
            note="again",
            actor=AGENT,
            now=clock.now(),
            policy=policy,
        )
        # One review, whatever number of times it is resolved.
        assert [r.incident_key for r in session.exec(select(reviews.PostIncidentReview))] == [key]
    with database.session() as session:
        other = _log(session, clock, policy, impact=Level.HIGH, urgency=Level.HIGH)[0].key
        major_incidents.declare(
            session, key=other, reason="Logins", actor=AGENT, now=clock.now(), policy=policy
        )
        incidents.cancel(
            session, key=other, actor=AGENT, now=clock.now(), note="false alarm", policy=policy
        )
        assert major_incidents.get(session, key=other).ended_at == clock.now()
        assert reviews.find_for(session, incident_key=other) is None
