"""Problems, known errors and trend detection against a real database."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.incident import IncidentInput, Level
from models.policy import Policy
from models.problem import Problem
from services import cmdb, incidents, links, problems
from services.permissions import Actor, Role
from tests.permissions_support import editor

AGENT = Actor("U0AGENT", frozenset({Role.AGENT}))
POLICY = Policy.model_validate(
    {"teams": [{"name": "web"}], "services": [{"name": "Website", "team": "web"}]}
)


def _incident(session, clock, service="Website"):
    data = IncidentInput(title="Slow pages", impact=Level.LOW, urgency=Level.LOW, service=service)
    incident, _ = incidents.create(
        session, data=data, reporter="U0REP", now=clock.now(), policy=POLICY
    )
    return incident.key


def test_known_error_returns_the_linked_open_incidents(database, clock):
    with database.session() as session:
        first = _incident(session, clock)
        second = _incident(session, clock)
        closed = _incident(session, clock)
        incidents.cancel(
            session, key=closed, actor=AGENT, now=clock.now(), note="duplicate", policy=POLICY
        )
        problem = problems.raise_problem(
            session,
            title="Cache evictions",
            service="Website",
            actor=AGENT,
            now=clock.now(),
            from_incident=first,
        )
        problems.link_incident(
            session, key=problem.key, incident=second, actor=AGENT, now=clock.now()
        )
        problems.link_incident(
            session, key=problem.key, incident=closed, actor=AGENT, now=clock.now()
        )
        assert not problems.link_incident(
            session, key=problem.key, incident=second, actor=AGENT, now=clock.now()
        )
        key = problem.key
    with database.session() as session:
        found, to_tell = problems.record_known_error(
            session,
            key=key,
            root_cause="Cache too small",
            workaround="Restart the cache",
            actor=AGENT,
            now=clock.now(),
        )
        assert to_tell == [first, second]
        assert problems.known_error_for(session, service="Website").key == key
        assert [p.key for p in problems.known_errors(session, search="restart")] == [key]
        solved, to_tell = problems.resolve(
            session, key=key, change="CHG-9", actor=AGENT, now=clock.now()
        )
        assert (solved.status, solved.resolved_by_change, to_tell) == (
            "resolved",
            "CHG-9",
            [first, second],
        )
        assert problems.known_error_for(session, service="Website") is None
        assert "CHG-9" in links.linked(session, key=key)


def test_three_incidents_on_one_item_propose_one_problem(database, clock):
    with database.session() as session:
        item = cmdb.create_item(
            session, name="db-01", type="server", actor=editor("U0A"), now=clock.now()
        )
        item_key = item.key
    found = []
    for _ in range(4):
        clock.advance(timedelta(minutes=30))
        with database.session() as session:
            key = _incident(session, clock, service=None)
            links.link(
                session, a=key, b=item_key, kind=cmdb.ITEM_LINK, actor="U0A", now=clock.now()
            )
            found.append(
                problems.detect_trend(session, incident_key=key, now=clock.now(), policy=POLICY)
            )
    assert found[0] is None and found[1] is None and found[3] is None
    proposal = found[2]
    assert proposal is not None and proposal.target == f"item:{item_key}"
    assert proposal.incident_keys == ["INC-1", "INC-2", "INC-3"]
    with database.session() as session:
        problem, created = problems.raise_from_proposal(
            session, proposal_id=proposal.proposal_id, actor=AGENT, now=clock.now()
        )
        assert created and problem.item_key == item_key
    with database.session() as session:
        again, created = problems.raise_from_proposal(
            session, proposal_id=proposal.proposal_id, actor=AGENT, now=clock.now()
        )
        assert not created and again.id == problem.id
        assert len(list(session.exec(select(Problem)))) == 1
        assert problems.linked_incidents(session, key=problem.key) == ["INC-1", "INC-2", "INC-3"]
        # A fifth incident is covered by the open problem: nothing proposed.
        key = _incident(session, clock, service=None)
        links.link(session, a=key, b=item_key, kind=cmdb.ITEM_LINK, actor="U0A", now=clock.now())
        problems.link_incident(session, key=problem.key, incident=key, actor=AGENT, now=clock.now())
        assert (
            problems.detect_trend(session, incident_key=key, now=clock.now(), policy=POLICY) is None
        )
        assert cmdb.open_records_for_item(session, key=item_key).problems == [problem.key]


def test_incidents_spread_over_more_than_the_window_propose_nothing(database, clock):
    keys = []
    for _ in range(3):
        with database.session() as session:
            keys.append(_incident(session, clock))
        clock.advance(timedelta(hours=13))
    with database.session() as session:
        assert (
            problems.detect_trend(session, incident_key=keys[-1], now=clock.now(), policy=POLICY)
            is None
        )


def test_the_trend_counts_items_linked_either_way_and_only_incidents_in_the_window(database, clock):
    # The cluster is read by a test on the incidents of the window, not by a list of every
    # incident the service or item ever had: an old incident on the item is not counted, and
    # a link written item → incident counts like one written incident → item.
    with database.session() as session:
        item_key = cmdb.create_item(
            session, name="db-02", type="server", actor=editor("U0A"), now=clock.now()
        ).key
        old = _incident(session, clock, service=None)
        links.link(session, a=old, b=item_key, kind=cmdb.ITEM_LINK, actor="U0A", now=clock.now())
    clock.advance(timedelta(days=2))
    keys = []
    for n in range(3):
        clock.advance(timedelta(minutes=10))
        with database.session() as session:
            key = _incident(session, clock, service=None)
            a, b = (item_key, key) if n % 2 else (key, item_key)
            links.link(session, a=a, b=b, kind=cmdb.ITEM_LINK, actor="U0A", now=clock.now())
            keys.append(key)
            found = problems.detect_trend(session, incident_key=key, now=clock.now(), policy=POLICY)
    assert found is not None and found.target == f"item:{item_key}"
    assert found.incident_keys == keys and old not in found.incident_keys
