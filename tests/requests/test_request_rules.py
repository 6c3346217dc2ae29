"""The rules of services/requests.py one by one: the catalog form's checks, what a submission
stores and whom it tells, each decision's record, who works a request, cancelling and the
lists. Service level, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from models.policy import Policy
from models.service_request import RequestApproval
from models.sla_timer import SlaTimer
from services import audit, requests
from services.errors import Forbidden, InvalidInput, NotAllowed
from services.permissions import Actor, Role

POLICY = Policy.model_validate(
    {
        "teams": [
            {"name": "it", "on_call": "U0ONCALL", "lead": "S0ITLEADS"},
            {"name": "facilities"},
        ],
        "services": [{"name": "email", "team": "it"}],
        "catalog": {
            "items": [
                {
                    "id": "form",
                    "name": "Everything",
                    "fields": [
                        {"name": "note", "label": "Note", "kind": "text"},
                        {
                            "name": "size",
                            "label": "Size",
                            "kind": "select",
                            "options": ["S", "M"],
                        },
                        {"name": "who", "label": "Who", "kind": "user"},
                        {"name": "when", "label": "When", "kind": "date"},
                        {"name": "must", "label": "Must", "required": True},
                    ],
                    "fulfilment_team": "it",
                    "service": "email",
                    "response_target": "2h",
                    "fulfilment_target": "1d",
                },
                {
                    "id": "access",
                    "name": "Access",
                    "fields": [
                        {"name": "manager", "label": "Manager", "kind": "user", "required": True}
                    ],
                    "approval": "manager:manager",
                    "fulfilment_team": "it",
                },
                {
                    "id": "desk",
                    "name": "A desk",
                    "approval": "S0APPROVERS",
                    "fulfilment_team": "facilities",
                },
            ]
        },
    }
)
MEMBERS = {"S0APPROVERS": {"U0BOSS"}, "S0ITLEADS": {"U0LEAD"}}


def members_of(ref: str) -> frozenset[str]:
    return frozenset(MEMBERS.get(ref, {ref}))


AGENT = Actor("U0AGENT", frozenset({Role.AGENT}))
WORK = {"policy": POLICY, "members_of": members_of}


def person(user_id: str) -> Actor:
    return Actor(user_id, frozenset())


def submit(session, clock, item_id: str = "form", answers=None, requester: str = "U0REQ"):  # type: ignore[no-untyped-def]
    return requests.submit(
        session,
        item_id=item_id,
        answers={"must": "yes"} if answers is None else answers,
        requester=requester,
        now=clock.now(),
        policy=POLICY,
    )


# ---- the form ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"must": "x", "colour": "red"}, "The form has no field 'colour'."),
        ({"must": "x", "b_extra": "1", "a_extra": "2"}, "The form has no field 'a_extra'."),
        ({}, "Must is required."),
        ({"must": "   "}, "Must is required."),
        ({"must": None}, "Must is required."),
        ({"must": "x", "size": "L"}, "Size: choose one of S, M."),
        ({"must": "x", "who": "alice"}, "Who: choose a person."),
        ({"must": "x", "when": "tomorrow"}, "When: give a date like 2026-12-01."),
        ({"must": "x", "when": "2026-02-30"}, "When: give a date like 2026-12-01."),
        ({"must": "x", "note": "n" * 501}, "Note: keep it under 500 characters."),
    ],
)
def test_a_form_answer_is_refused_with_its_field_named(database, clock, answers, message):
    with database.session() as session:
        with pytest.raises(InvalidInput) as refused:
            submit(session, clock, answers=answers)
        assert str(refused.value) == message
        assert requests.list_requests(session, open_only=False) == []


def test_answers_are_kept_trimmed_and_empty_optional_ones_left_out(database, clock):
    with database.session() as session:
        notify, created = submit(
            session,
            clock,
            answers={
                "must": "  yes ",
                "note": "n" * 500,
                "size": "M",
                "who": "W0GUEST",
                "when": " 2026-12-01",
            },
        )
        assert created
        assert requests.answers_of(notify.request) == {
            "must": "yes",
            "note": "n" * 500,
            "size": "M",
            "who": "W0GUEST",
            "when": "2026-12-01",
        }
        other, _ = submit(session, clock, answers={"must": 7, "note": "", "who": "U0X"})
        assert json.loads(other.request.answers) == {"must": "7", "who": "U0X"}


def test_an_item_not_in_the_catalog_is_refused(database, clock):
    with database.session() as session:
        with pytest.raises(InvalidInput) as refused:
            submit(session, clock, item_id="yacht")
    assert str(refused.value) == "'yacht' is not in the request catalog."


# ---- a submission ------------------------------------------------------------------------


def test_an_item_without_approval_is_approved_and_its_team_told(database, clock):
    with database.session() as session:
        notify, created = submit(session, clock)
        request = notify.request
        assert created
        assert (notify.dm, notify.approvers, notify.team) == (("U0REQ",), (), "it")
        assert request.key == "REQ-1"
        assert (request.status, request.approver, request.approver_is_group) == (
            "approved",
            None,
            False,
        )
        assert (request.item_id, request.title, request.requester) == (
            "form",
            "Everything",
            "U0REQ",
        )
        assert (request.fulfilment_team, request.service) == ("it", "email")
        assert request.submitted_at == clock.now() and request.updated_at == clock.now()
        # Working time of the business calendar (09:00-17:00): 2 h and one day of 8 h.
        assert (request.response_target_s, request.fulfilment_target_s) == (7200, 8 * 3600)
        [created_row] = audit.trail(session, key="REQ-1")
        assert (created_row.action, created_row.actor, created_row.to_value) == (
            "created",
            "U0REQ",
            "approved",
        )
        timers = session.exec(select(SlaTimer).where(SlaTimer.record_key == "REQ-1")).all()
        assert sorted((t.target, t.target_seconds) for t in timers) == [
            ("resolution", 8 * 3600),
            ("response", 7200),
        ]


def test_a_group_approval_asks_the_group_and_waits(database, clock):
    with database.session() as session:
        notify, _ = submit(session, clock, item_id="desk", answers={})
        assert (notify.dm, notify.approvers, notify.team) == (("U0REQ",), ("S0APPROVERS",), None)
        request = notify.request
        assert (request.status, request.approver, request.approver_is_group) == (
            "awaiting_approval",
            "S0APPROVERS",
            True,
        )
        assert request.service is None
        # The catalog's defaults: 4 h to respond, 3 working days to fulfil.
        assert (request.response_target_s, request.fulfilment_target_s) == (
            4 * 3600,
            3 * 8 * 3600,
        )
        assert audit.trail(session, key=request.key)[0].to_value == "awaiting_approval"


def test_the_named_manager_approves_but_never_the_requester(database, clock):
    with database.session() as session:
        with pytest.raises(InvalidInput) as refused:
            submit(session, clock, item_id="access", answers={"manager": "U0REQ"})
        assert str(refused.value) == "Name your manager, not yourself, as the approver."
        notify, _ = submit(session, clock, item_id="access", answers={"manager": "U0MGR"})
        assert notify.approvers == ("U0MGR",) and notify.team is None
        assert (notify.request.approver, notify.request.approver_is_group) == ("U0MGR", False)


# ---- decisions ---------------------------------------------------------------------------


def test_a_rejection_is_recorded_with_its_trimmed_reason(database, clock):
    with database.session() as session:
        key = submit(session, clock, item_id="desk", answers={})[0].request.key
    clock.advance(timedelta(hours=1))
    with database.session() as session:
        notify = requests.decide(
            session,
            key=key,
            approver="U0BOSS",
            members_of=members_of,
            approve=False,
            reason="  No budget  ",
            now=clock.now(),
        )
        request = notify.request
        assert (notify.dm, notify.team) == (("U0REQ",), None)
        assert (request.status, request.decided_by, request.decision_reason) == (
            "rejected",
            "U0BOSS",
            "No budget",
        )
        assert request.decided_at == clock.now() and request.updated_at == clock.now()
        [approval] = session.exec(select(RequestApproval)).all()
        assert (approval.approver, approval.approved, approval.reason, approval.at) == (
            "U0BOSS",
            False,
            "No budget",
            clock.now(),
        )
        row = audit.trail(session, key=key)[-1]
        assert (row.action, row.actor, row.field, row.from_value, row.to_value, row.note) == (
            "rejected",
            "U0BOSS",
            "status",
            "awaiting_approval",
            "rejected",
            "No budget",
        )


def test_an_approval_needs_no_reason_and_tells_the_team(database, clock):
    with database.session() as session:
        key = submit(session, clock, item_id="desk", answers={})[0].request.key
        assert requests.may_decide(session, key=key, approver="U0BOSS", members_of=members_of)
        notify = requests.decide(
            session,
            key=key,
            approver="U0BOSS",
            members_of=members_of,
            approve=True,
            reason="   ",
            now=clock.now(),
            policy=POLICY,
        )
        assert (notify.dm, notify.team) == (("U0REQ",), "facilities")
        assert (notify.request.status, notify.request.decision_reason) == ("approved", None)
        assert session.exec(select(RequestApproval)).one().reason is None
        row = audit.trail(session, key=key)[-1]
        assert (row.action, row.note) == ("approved", None)


def test_who_may_decide_is_checked_before_a_form_opens(database, clock):
    with database.session() as session:
        key = submit(session, clock, item_id="desk", answers={})[0].request.key
        with pytest.raises(Forbidden) as refused:
            requests.may_decide(session, key=key, approver="U0ELSE", members_of=members_of)
        assert "only members of <!subteam^S0APPROVERS> can decide on REQ-1" in str(refused.value)
        with pytest.raises(Forbidden, match="you cannot approve your own request"):
            requests.may_decide(session, key=key, approver="U0REQ", members_of=members_of)
        approved = submit(session, clock)[0].request.key
        with pytest.raises(NotAllowed, match="REQ-2 is Approved"):
            requests.may_decide(session, key=approved, approver="U0BOSS", members_of=members_of)


# ---- fulfilment --------------------------------------------------------------------------


def test_the_team_on_call_and_lead_group_or_an_agent_work_a_request(database, clock):
    with database.session() as session:
        request = submit(session, clock)[0].request
        assert requests.fulfilment_team_refs(request, POLICY) == ["U0ONCALL", "S0ITLEADS"]
        for allowed in ("U0ONCALL", "U0LEAD"):
            requests.check_fulfiller(request, actor=person(allowed), **WORK)
        requests.check_fulfiller(request, actor=AGENT, **WORK)
        with pytest.raises(Forbidden) as refused:
            requests.check_fulfiller(request, actor=person("U0REQ"), **WORK)
        assert str(refused.value) == (
            "Refused, because only team it or a service desk agent can work REQ-1."
        )
        desk = submit(session, clock, item_id="desk", answers={})[0].request
        # A team without on-call or lead: only agents.
        assert requests.fulfilment_team_refs(desk, POLICY) == []
        with pytest.raises(Forbidden):
            requests.check_fulfiller(desk, actor=person("U0ONCALL"), **WORK)


def test_start_fulfil_and_close_record_who_and_when(database, clock):
    with database.session() as session:
        key = submit(session, clock)[0].request.key
    clock.advance(timedelta(minutes=10))
    with database.session() as session:
        with pytest.raises(Forbidden):
            requests.start_fulfilment(
                session, key=key, actor=person("U0REQ"), now=clock.now(), **WORK
            )
        started = requests.start_fulfilment(
            session, key=key, actor=person("U0ONCALL"), now=clock.now(), **WORK
        )
        assert started.dm == ("U0REQ",)
        assert (started.request.status, started.request.assignee) == ("in_fulfilment", "U0ONCALL")
        assert started.request.started_at == clock.now()
    clock.advance(timedelta(minutes=10))
    with database.session() as session:
        with pytest.raises(InvalidInput, match=r"^Say in a sentence what was done\.$"):
            requests.fulfil(session, key=key, note="  ", actor=AGENT, now=clock.now(), **WORK)
        done = requests.fulfil(
            session, key=key, note=" Granted. ", actor=AGENT, now=clock.now(), **WORK
        )
        assert done.dm == ("U0REQ",)
        assert (done.request.status, done.request.fulfilment_note) == ("fulfilled", "Granted.")
        assert done.request.fulfilled_at == clock.now()
        assert audit.trail(session, key=key)[-1].note == "Granted."
    clock.advance(timedelta(minutes=10))
    with database.session() as session:
        closed = requests.close(session, key=key, actor=person("U0LEAD"), now=clock.now(), **WORK)
        assert closed.dm == ("U0REQ",)
        assert (closed.request.status, closed.request.closed_at) == ("closed", clock.now())
        trail = audit.trail(session, key=key)
        assert [(e.action, e.actor) for e in trail] == [
            ("created", "U0REQ"),
            ("start", "U0ONCALL"),
            ("fulfil", "U0AGENT"),
            ("close", "U0LEAD"),
        ]
        with pytest.raises(NotAllowed, match="REQ-1 is Closed"):
            requests.close(session, key=key, actor=AGENT, now=clock.now(), **WORK)


# ---- cancelling --------------------------------------------------------------------------


def test_the_requester_cancels_without_a_reason_and_is_not_told(database, clock):
    with database.session() as session:
        key = submit(session, clock)[0].request.key
        notify = requests.cancel(session, key=key, actor=person("U0REQ"), now=clock.now())
        assert notify.dm == ()
        assert (notify.request.status, notify.request.closed_at) == ("cancelled", clock.now())
        row = audit.trail(session, key=key)[-1]
        assert (row.action, row.actor, row.note) == ("cancel", "U0REQ", None)


def test_an_agent_cancels_with_a_reason_and_the_requester_is_told(database, clock):
    with database.session() as session:
        key = submit(session, clock)[0].request.key
        with pytest.raises(InvalidInput) as refused:
            requests.cancel(session, key=key, actor=AGENT, now=clock.now(), note="  ")
        assert str(refused.value) == "Say why the request is cancelled; the requester will see it."
        with pytest.raises(Forbidden, match="cancel a request"):
            requests.cancel(session, key=key, actor=person("U0ELSE"), now=clock.now(), note="x")
        notify = requests.cancel(session, key=key, actor=AGENT, now=clock.now(), note=" Duplicate ")
        assert notify.dm == ("U0REQ",) and notify.request.status == "cancelled"
        assert audit.trail(session, key=key)[-1].note == "Duplicate"


# ---- lists and the SLA's inputs ----------------------------------------------------------


def test_lists_are_newest_first_and_filter_by_person_team_and_state(database, clock):
    with database.session() as session:
        first = submit(session, clock, requester="U0A")[0].request.key
        second = submit(session, clock, item_id="desk", answers={}, requester="U0B")[0].request.key
        third = submit(session, clock, requester="U0A")[0].request.key
        requests.cancel(session, key=third, actor=person("U0A"), now=clock.now())

        def keys(**given):  # type: ignore[no-untyped-def]
            return [r.key for r in requests.list_requests(session, **given)]

        assert keys() == [second, first]
        assert keys(open_only=False) == [third, second, first]
        assert keys(requester="U0A") == [first]
        assert keys(requester="U0A", open_only=False) == [third, first]
        assert keys(team="facilities") == [second]
        assert keys(team="it", open_only=False) == [third, first]
        assert keys(open_only=False, limit=2) == [third, second]
        assert keys(requester="U0NOBODY") == []


def test_the_sla_pauses_only_while_an_approval_is_awaited(database, clock):
    with database.session() as session:
        plain = submit(session, clock)[0].request
        start, target, pauses = requests.sla_inputs(plain)
        assert (start, target, pauses) == (clock.now(), timedelta(hours=8), [])
        waiting = submit(session, clock, item_id="desk", answers={})[0].request
        assert requests.sla_inputs(waiting).pauses == [(clock.now(), None)]


def _boss_decides(session, clock, key: str, *, approve: bool):  # type: ignore[no-untyped-def]
    """U0BOSS, the desk item's approver, decides on `key` without giving a reason."""
    return requests.decide(
        session,
        key=key,
        approver="U0BOSS",
        members_of=members_of,
        approve=approve,
        reason=None,
        now=clock.now(),
    )


def test_a_decision_without_a_reason_stores_none_and_counts_once(database, clock):
    from services.errors import AlreadyDone

    with database.session() as session:
        key = submit(session, clock, item_id="desk", answers={})[0].request.key
    with database.session() as session:
        with pytest.raises(InvalidInput) as unexplained:
            _boss_decides(session, clock, key, approve=False)
        assert str(unexplained.value) == (
            "Say why the request is rejected; the requester will see it."
        )
        notify = _boss_decides(session, clock, key, approve=True)
        assert notify.request.decision_reason is None
        assert session.exec(select(RequestApproval)).one().reason is None
        assert audit.trail(session, key=key)[-1].note is None
    with database.session() as session:
        with pytest.raises(AlreadyDone) as again:
            _boss_decides(session, clock, key, approve=True)
        assert str(again.value) == f"You already decided on {key}."


def test_a_decision_goes_by_the_state_the_database_holds(database, clock):
    from models.service_request import ServiceRequest
    from tests.stale_support import change_behind

    with database.session() as session:
        request = submit(session, clock, item_id="desk", answers={})[0].request
        key = request.key
    with database.session() as session:
        held = requests.get(session, key=key)  # the session holds it awaiting approval
        change_behind(session, ServiceRequest, requests.parse_key(key), status="cancelled")
        with pytest.raises(NotAllowed):
            _boss_decides(session, clock, key, approve=True)
        assert held.status == "cancelled"
