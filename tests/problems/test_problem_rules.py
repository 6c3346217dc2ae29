"""Problem rules the Slack flows reach only through a click: raising (titles, priorities, a form
delivered twice), the New problem form's service-or-item choice, unlinking, closing, the lists,
and raising a problem from a trend proposal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models.incident import IncidentInput, Level
from models.policy import Policy
from models.problem import Problem
from services import audit, cmdb, incidents, links, problems
from services.errors import Forbidden, InvalidInput, NotAllowed, NotFound
from services.permissions import Actor, Role
from tests.permissions_support import editor

AGENT = Actor("U0AGENT", frozenset({Role.AGENT}))
STRANGER = Actor("U0STRANGER")
POLICY = Policy.model_validate(
    {
        "teams": [{"name": "web"}],
        "services": [{"name": "Website", "team": "web"}, {"name": "Mail", "team": "web"}],
    }
)


def _incident(session, clock, service: str | None = "Website") -> str:  # type: ignore[no-untyped-def]
    data = IncidentInput(title="Slow pages", impact=Level.LOW, urgency=Level.LOW, service=service)
    incident, _ = incidents.create(
        session, data=data, reporter="U0REP", now=clock.now(), policy=POLICY
    )
    return incident.key


def _raise(session, clock, title: str = "Cache evictions", **kwargs) -> Problem:  # type: ignore[no-untyped-def]
    return problems.raise_problem(session, title=title, actor=AGENT, now=clock.now(), **kwargs)


def _known_error(session, clock, key: str) -> None:  # type: ignore[no-untyped-def]
    problems.record_known_error(
        session, key=key, root_cause="c", workaround="w", actor=AGENT, now=clock.now()
    )


def test_raising_tidies_the_title_and_checks_priority_and_who(database, clock):
    with database.session() as session:
        problem = _raise(
            session, clock, title="  Cache \n evictions\tagain ", description="  why  \n"
        )
        assert problem.title == "Cache evictions again" and problem.description == "why"
        assert problem.priority == 3 and problem.created_by == AGENT.user_id
        assert _raise(session, clock, title="x" * 400).title == "x" * 150
        assert _raise(session, clock, priority=1).priority == 1
        assert _raise(session, clock, priority=5).priority == 5
        for bad in (0, 6):
            with pytest.raises(InvalidInput, match=r"^Priority runs from P1 to P5\.$"):
                _raise(session, clock, priority=bad)
        with pytest.raises(InvalidInput, match=r"^Give the problem a short title\.$"):
            _raise(session, clock, title=" \n\t ")
        with pytest.raises(Forbidden, match=r"only service desk agents can raise problems\."):
            problems.raise_problem(session, title="t", actor=STRANGER, now=clock.now())
        with pytest.raises(Forbidden, match=r"only service desk agents can raise problems\."):
            problems.may_raise(STRANGER)
    problems.may_raise(AGENT)  # an agent may open the form: nothing raised


def test_a_form_delivered_twice_raises_one_problem(database, clock):
    with database.session() as session:
        first = _raise(session, clock, submission_id="V1-abc")
        other = _raise(session, clock, submission_id="V2-def")
        again = _raise(session, clock, title="Different words", submission_id="V1-abc")
        assert again.id == first.id and again.title == "Cache evictions"
        assert other.id != first.id
    with database.session() as session:
        assert len(session.exec(select(Problem)).all()) == 2


def test_the_forms_choice_is_a_service_or_an_item(database, clock):
    with database.session() as session:
        server = cmdb.create_item(
            session, name="db-01", type="server", actor=editor("U0A"), now=clock.now()
        )
        cmdb.create_item(
            session, name="Billing", type="service", actor=editor("U0A"), now=clock.now()
        )
        server_key = server.key
    with database.session() as session:
        assert problems.target_of(session, chosen="db-01", policy=POLICY) == (None, server_key)
        assert problems.target_of(session, chosen=server_key, policy=POLICY) == (None, server_key)
        assert problems.target_of(session, chosen="billing", policy=POLICY) == ("Billing", None)
        assert problems.target_of(session, chosen="Mail", policy=POLICY) == ("Mail", None)
        assert problems.target_of(session, chosen=None, policy=POLICY) == (None, None)
        with pytest.raises(NotFound):
            problems.target_of(session, chosen="nothing-like-it", policy=POLICY)


def test_unlinking_an_incident(database, clock):
    with database.session() as session:
        incident = _incident(session, clock)
        problem = _raise(session, clock, from_incident=incident)
        key = problem.key
        assert problems.linked_incidents(session, key=key) == [incident]
        with pytest.raises(Forbidden, match=r"can unlink incidents from problems\."):
            problems.unlink_incident(
                session, key=key, incident=incident, actor=STRANGER, now=clock.now()
            )
        assert problems.unlink_incident(
            session, key=key, incident=f"  {incident.lower()} ", actor=AGENT, now=clock.now()
        )
        assert problems.linked_incidents(session, key=key) == []
        assert not problems.unlink_incident(
            session, key=key, incident=incident, actor=AGENT, now=clock.now()
        )


def test_closing_needs_a_resolved_problem_and_an_agent(database, clock):
    with database.session() as session:
        key = _raise(session, clock).key
        with pytest.raises(NotAllowed):
            problems.close(session, key=key, actor=AGENT, now=clock.now())
        problems.resolve(session, key=key, note="Bigger cache", actor=AGENT, now=clock.now())
        with pytest.raises(Forbidden, match=r"can close problems\."):
            problems.close(session, key=key, actor=STRANGER, now=clock.now())
        closed_at = clock.advance(timedelta(hours=1))
        closed = problems.close(session, key=key, actor=AGENT, now=clock.now())
        assert closed.status == "closed" and closed.closed_at == closed_at
        assert closed.resolution_note == "Bigger cache" and closed.resolved_by_change is None


def test_the_problem_list_and_the_known_errors(database, clock):
    with database.session() as session:
        web = [_raise(session, clock, title=f"Web {n}", service="Website").key for n in range(3)]
        mail = _raise(session, clock, title="Mail queue", service="Mail").key
        problems.resolve(session, key=web[0], note="fixed", actor=AGENT, now=clock.now())
        for key, title_word in ((web[1], "Evict"), (mail, "Drain")):
            problems.record_known_error(
                session,
                key=key,
                root_cause="cause",
                workaround=f"{title_word} the QUEUE",
                actor=AGENT,
                now=clock.now(),
            )
    with database.session() as session:

        def keys(found: list[Problem]) -> list[str]:
            return [p.key for p in found]

        assert keys(problems.list_problems(session)) == [mail, web[2], web[1]]
        assert keys(problems.list_problems(session, open_only=False)) == [mail, *reversed(web)]
        assert keys(problems.list_problems(session, service="Website")) == [web[2], web[1]]
        assert keys(problems.list_problems(session, open_only=False, limit=2)) == [mail, web[2]]
        assert keys(problems.known_errors(session)) == [mail, web[1]]
        assert keys(problems.known_errors(session, search=" queue ")) == [mail, web[1]]
        assert keys(problems.known_errors(session, search="evict")) == [web[1]]
        assert keys(problems.known_errors(session, search="MAIL")) == [mail]  # the title
        assert keys(problems.known_errors(session, search="   ")) == [mail, web[1]]
        assert keys(problems.known_errors(session, limit=1)) == [mail]
        assert problems.known_errors(session, search="nothing") == []


def _three_on_the_website(database, clock) -> problems.TrendFinding:  # type: ignore[no-untyped-def]
    finding = None
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        with database.session() as session:
            key = _incident(session, clock)
            finding = problems.detect_trend(
                session, incident_key=key, now=clock.now(), policy=POLICY
            )
    assert finding is not None
    return finding


def test_a_proposal_on_a_service_raises_a_problem_on_that_service(database, clock):
    finding = _three_on_the_website(database, clock)
    assert finding.target == "service:website"
    with database.session() as session:
        with pytest.raises(Forbidden, match=r"can raise problems\."):
            problems.raise_from_proposal(
                session, proposal_id=finding.proposal_id, actor=STRANGER, now=clock.now()
            )
        with pytest.raises(NotFound, match=r"^That problem proposal no longer exists\.$"):
            problems.raise_from_proposal(
                session, proposal_id=finding.proposal_id + 1, actor=AGENT, now=clock.now()
            )
        problem, created = problems.raise_from_proposal(
            session, proposal_id=finding.proposal_id, actor=AGENT, now=clock.now()
        )
    assert created
    assert problem.title == "Repeated incidents on Website"
    assert problem.description == "3 incidents: INC-1, INC-2, INC-3"
    assert (problem.service, problem.item_key) == ("Website", None)


def test_a_problem_covers_its_incidents_only_while_it_is_open(database, clock):
    with database.session() as session:
        keys = [_incident(session, clock) for _ in range(2)]
        problem = _raise(session, clock, from_incident=keys[0])
        third = _incident(session, clock)
        # One of the cluster's incidents is linked to an open problem: no proposal.
        assert not problems.trend_possible(
            session, incident_key=third, now=clock.now(), policy=POLICY
        )
        problems.resolve(session, key=problem.key, note="done", actor=AGENT, now=clock.now())
    with database.session() as session:
        # Resolved, it covers nothing: the same incidents are a trend.
        assert problems.trend_possible(session, incident_key=third, now=clock.now(), policy=POLICY)
        found = problems.detect_trend(session, incident_key=third, now=clock.now(), policy=POLICY)
        assert found is not None and found.incident_keys == [*keys, third]


def test_a_link_to_anything_but_a_problem_covers_nothing(database, clock):
    with database.session() as session:
        keys = [_incident(session, clock) for _ in range(2)]
        # An incident linked to a change (not a problem) is not covered.
        links.link(session, a="CHG-1", b=keys[0], kind="problem", actor="U0A", now=clock.now())
        links.link(session, a=keys[1], b=keys[0], kind="related", actor="U0A", now=clock.now())
        third = _incident(session, clock)
        assert problems.trend_possible(session, incident_key=third, now=clock.now(), policy=POLICY)


def test_linking_checks_the_person_the_problems_state_and_the_incidents_visibility(database, clock):
    with database.session() as session:
        incident = _incident(session, clock)
        data = IncidentInput(
            title="Odd logins",
            impact=Level.LOW,
            urgency=Level.LOW,
            service="Website",
            security=True,
        )
        secured = POLICY.model_copy(
            update={"channels": POLICY.channels.model_copy(update={"security": "C0SECURITY"})}
        )
        secret, _ = incidents.create(
            session, data=data, reporter="U0SECREP", now=clock.now(), policy=secured
        )
        assert secret.restricted
        secret_key = secret.key
        key = _raise(session, clock).key
        with pytest.raises(Forbidden, match=r"can link incidents to problems\."):
            problems.link_incident(
                session, key=key, incident=incident, actor=STRANGER, now=clock.now()
            )
        with pytest.raises(Forbidden, match=rf"{secret_key} is a restricted incident"):
            problems.link_incident(
                session, key=key, incident=secret_key, actor=AGENT, now=clock.now()
            )
        security = Actor("U0SEC", frozenset({Role.AGENT, Role.SECURITY}))
        assert problems.link_incident(
            session, key=key, incident=secret_key, actor=security, now=clock.now()
        )
        problems.resolve(session, key=key, note="done", actor=AGENT, now=clock.now())
        with pytest.raises(NotAllowed, match=rf"{key} is Resolved, so it cannot be linked"):
            problems.link_incident(
                session, key=key, incident=incident, actor=AGENT, now=clock.now()
            )
        with pytest.raises(NotAllowed, match=rf"{key} is Resolved, so it cannot be linked"):
            problems.check_step(problems.get(session, key=key), "link", AGENT)


def test_the_default_list_lengths(database, clock):
    with database.session() as session:
        for n in range(51):
            problem = _raise(session, clock, title=f"P{n}")
            _known_error(session, clock, problem.key)
        session.flush()
        assert len(problems.list_problems(session)) == 25
        assert len(problems.known_errors(session)) == 50


def test_only_the_clusters_own_links_to_an_open_problem_cover_it(database, clock):
    with database.session() as session:
        elsewhere = _incident(session, clock, service="Mail")
        _raise(session, clock, from_incident=elsewhere)  # open, but on another incident
        keys = [_incident(session, clock) for _ in range(2)]
        resolved = _raise(session, clock, from_incident=keys[0])
        problems.resolve(session, key=resolved.key, note="x", actor=AGENT, now=clock.now())
        other_kind = _raise(session, clock)  # open, linked to the cluster by another kind
        links.link(
            session, a=other_kind.key, b=keys[1], kind="related", actor="U0A", now=clock.now()
        )
        third = _incident(session, clock)
        assert problems.trend_possible(session, incident_key=third, now=clock.now(), policy=POLICY)


def test_a_cluster_proposed_concurrently_gives_way_to_the_next_target(database, clock):
    from models.problem import TrendProposal

    with database.session() as session:
        item = cmdb.create_item(
            session, name="web-01", type="server", actor=editor("U0A"), now=clock.now()
        )
        item_key = item.key
        keys = [_on_item(session, clock, item_key, service="Website") for _ in range(3)]
        first = incidents.get(session, key=keys[0])
        # Another process proposed the service's cluster a moment ago (its row is not seen by
        # this read, as its proposed_at falls before the cluster): the insert clashes.
        session.add(
            TrendProposal(
                target="service:website",
                incident_keys="[]",
                earliest_at=first.created_at,
                proposed_at=first.created_at - timedelta(seconds=1),
            )
        )
        session.flush()
        found = problems.detect_trend(
            session, incident_key=keys[-1], now=clock.now(), policy=POLICY
        )
    assert found is not None and found.target == f"item:{item_key}"
    assert found.incident_keys == keys


def test_a_proposal_on_a_service_whose_name_holds_a_colon(database, clock):
    policy = Policy.model_validate(
        {"teams": [{"name": "web"}], "services": [{"name": "ops:core", "team": "web"}]}
    )
    finding = None
    for _ in range(3):
        with database.session() as session:
            data = IncidentInput(title="t", impact=Level.LOW, urgency=Level.LOW, service="ops:core")
            key = incidents.create(
                session, data=data, reporter="U0REP", now=clock.now(), policy=policy
            )[0].key
            finding = problems.detect_trend(
                session, incident_key=key, now=clock.now(), policy=policy
            )
    assert finding is not None and finding.target == "service:ops:core"
    with database.session() as session:
        problem, _ = problems.raise_from_proposal(
            session, proposal_id=finding.proposal_id, actor=AGENT, now=clock.now()
        )
    assert (problem.title, problem.service) == ("Repeated incidents on ops:core", "ops:core")


def _on_item(  # type: ignore[no-untyped-def]
    session, clock, item_key: str, *, item_first: bool = False, service: str | None = None
) -> str:
    """A new incident (on `service`, if given) linked to the item, written either way round."""
    key = _incident(session, clock, service=service)
    a, b = (item_key, key) if item_first else (key, item_key)
    links.link(session, a=a, b=b, kind=cmdb.ITEM_LINK, actor="U0A", now=clock.now())
    return key


def test_incidents_on_other_items_or_linked_otherwise_do_not_join_a_cluster(database, clock):
    with database.session() as session:
        one, two = (
            cmdb.create_item(
                session, name=name, type="server", actor=editor("U0A"), now=clock.now()
            ).key
            for name in ("app-1", "app-2")
        )
        _on_item(session, clock, one, item_first=False)
        _on_item(session, clock, two, item_first=False)
        _on_item(session, clock, two, item_first=True)
        loose = _incident(session, clock, service=None)  # related to the item, not "on" it
        links.link(session, a=loose, b=one, kind="related", actor="U0A", now=clock.now())
        new = _on_item(session, clock, one, item_first=True)
        assert not problems.trend_possible(
            session, incident_key=new, now=clock.now(), policy=POLICY
        )
        third = _on_item(session, clock, one, item_first=False)
        found = problems.detect_trend(session, incident_key=third, now=clock.now(), policy=POLICY)
        assert found is not None and found.target == f"item:{one}"
        assert found.incident_keys == ["INC-1", new, third]


def test_the_windows_first_instant_counts_and_restricted_incidents_never_do(database, clock):
    secured = POLICY.model_copy(
        update={"channels": POLICY.channels.model_copy(update={"security": "C0SECURITY"})}
    )
    with database.session() as session:
        _incident(session, clock)
        data = IncidentInput(
            title="t", impact=Level.LOW, urgency=Level.LOW, service="Website", security=True
        )
        incidents.create(session, data=data, reporter="U0R", now=clock.now(), policy=secured)
        clock.advance(POLICY.problems.trend_window)
        second = _incident(session, clock)
        # The first incident is exactly a window old: in. The restricted one: never.
        assert not problems.trend_possible(
            session, incident_key=second, now=clock.now(), policy=POLICY
        )
        third = _incident(session, clock)
        found = problems.detect_trend(session, incident_key=third, now=clock.now(), policy=POLICY)
        assert found is not None and found.incident_keys == ["INC-1", second, third]


def test_a_covered_service_leaves_the_items_cluster_to_be_proposed(database, clock):
    with database.session() as session:
        item = cmdb.create_item(
            session, name="db-9", type="server", actor=editor("U0A"), now=clock.now()
        ).key
        elsewhere = _incident(session, clock)  # on the service, not on the item
        _raise(session, clock, from_incident=elsewhere)  # an open problem covers it
        keys = [_on_item(session, clock, item, service="Website") for _ in range(3)]
        # The service's cluster holds a covered incident; the item's does not.
        found = problems.detect_trend(
            session, incident_key=keys[-1], now=clock.now(), policy=POLICY
        )
        assert found is not None and found.target == f"item:{item}"
        assert found.incident_keys == keys


def test_the_known_error_for_a_service_or_an_item(database, clock):
    with database.session() as session:
        item = cmdb.create_item(
            session, name="mx-1", type="server", actor=editor("U0A"), now=clock.now()
        ).key
        on_item = _raise(session, clock, item="mx-1")
        on_service = _raise(session, clock, service="Website")
        newer = _raise(session, clock, service="Website")
        # All at the same instant: the higher number is the newer.
        for problem in (on_item, on_service, newer):
            _known_error(session, clock, problem.key)
        assert problems.known_error_for(session, item="mx-1").key == on_item.key
        assert problems.known_error_for(session, item=item).key == on_item.key
        assert problems.known_error_for(session, service="Website").key == newer.key
        assert problems.known_error_for(session, service="Mail") is None
        assert problems.known_error_for(session, item="no-such-item") is None
        assert problems.known_error_for(session, service="Mail", item="mx-1").key == on_item.key
        # The newest known error wins, not the highest number.
        older_number = _raise(session, clock, service="Mail", title="older number")
        newer_number = _raise(session, clock, service="Mail", title="newer number")
        for problem in (newer_number, older_number):
            clock.advance(timedelta(minutes=1))
            _known_error(session, clock, problem.key)
        assert problems.known_error_for(session, service="Mail").title == "older number"


def test_known_errors_and_resolutions_in_words_and_in_the_trail(database, clock):

    with database.session() as session:
        key = _raise(session, clock).key
        with pytest.raises(Forbidden, match=r"can record known errors\."):
            problems.record_known_error(
                session, key=key, root_cause="c", workaround="w", actor=STRANGER, now=clock.now()
            )
        for cause, workaround in (("Cache too small", " "), (" ", "Restart it")):
            with pytest.raises(
                InvalidInput,
                match=r"^A known error needs both the root cause and the workaround\.$",
            ):
                problems.record_known_error(
                    session,
                    key=key,
                    root_cause=cause,
                    workaround=workaround,
                    actor=AGENT,
                    now=clock.now(),
                )
        problems.record_known_error(
            session,
            key=key,
            root_cause=" Cache ",
            workaround=" Restart ",
            actor=AGENT,
            now=clock.now(),
        )
        fields = [(e.field, e.action, e.to_value) for e in audit.trail(session, key=key)]
        assert ("root_cause", "updated", "Cache") in fields
        assert ("workaround", "updated", "Restart") in fields
        with pytest.raises(Forbidden, match=r"can resolve problems\."):
            problems.resolve(session, key=key, note="n", actor=STRANGER, now=clock.now())
        with pytest.raises(
            InvalidInput,
            match=r"^Name the change that fixed it, or say in a sentence how it was fixed\.$",
        ):
            problems.resolve(session, key=key, note="  ", actor=AGENT, now=clock.now())
        with pytest.raises(InvalidInput, match=r"^Name the change"):
            problems.resolve(session, key=key, actor=AGENT, now=clock.now())
        with pytest.raises(InvalidInput, match=r"^Name the change"):  # a key of spaces is none
            problems.resolve(session, key=key, change="   ", actor=AGENT, now=clock.now())
        resolved_at = clock.advance(timedelta(minutes=5))
        solved, _ = problems.resolve(
            session, key=key, change=" chg-7 ", note="Bigger cache", actor=AGENT, now=clock.now()
        )
        assert (solved.resolved_by_change, solved.resolution_note) == ("CHG-7", "Bigger cache")
        assert solved.resolved_at == resolved_at
        move = [e for e in audit.trail(session, key=key) if e.field == "status"][-1]
        assert (move.action, move.note) == ("resolve", "CHG-7")
        assert links.linked(session, key="CHG-7", kind="fixes") == [key]
        by_note = _raise(session, clock).key
        solved, _ = problems.resolve(
            session, key=by_note, note="Patched", actor=AGENT, now=clock.now()
        )
        assert (solved.resolved_by_change, solved.resolution_note) == (None, "Patched")
        move = [e for e in audit.trail(session, key=by_note) if e.field == "status"][-1]
        assert move.note == "Patched"
        by_change = _raise(session, clock).key
        solved, _ = problems.resolve(
            session, key=by_change, change="CHG-8", actor=AGENT, now=clock.now()
        )
        assert solved.resolution_note is None


def test_linked_incidents_are_the_problems_own_incident_links(database, clock):
    with database.session() as session:
        linked = _incident(session, clock)
        cancelled = _incident(session, clock)
        related = _incident(session, clock)
        _incident(session, clock)  # open, not linked
        key = _raise(session, clock, from_incident=linked).key
        problems.link_incident(session, key=key, incident=cancelled, actor=AGENT, now=clock.now())
        incidents.cancel(
            session, key=cancelled, actor=AGENT, now=clock.now(), note="dup", policy=POLICY
        )
        links.link(session, a=key, b=related, kind="related", actor="U0A", now=clock.now())
        assert problems.linked_incidents(session, key=key) == [linked, cancelled]
        assert problems.linked_incidents(session, key=key, open_only=True) == [linked]
        empty = _raise(session, clock).key
        assert problems.linked_incidents(session, key=empty, open_only=True) == []


def test_a_proposal_on_an_item_raises_a_problem_on_that_item(database, clock):
    with database.session() as session:
        item = cmdb.create_item(
            session, name="disk-1", type="server", actor=editor("U0A"), now=clock.now()
        ).key
        finding = None
        for _ in range(3):
            key = _on_item(session, clock, item)
            finding = problems.detect_trend(
                session, incident_key=key, now=clock.now(), policy=POLICY
            )
        assert finding is not None
        problem, _ = problems.raise_from_proposal(
            session, proposal_id=finding.proposal_id, actor=AGENT, now=clock.now()
        )
    assert problem.title == f"Repeated incidents on {item}"
    assert (problem.service, problem.item_key) == (None, item)
