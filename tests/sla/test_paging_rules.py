"""The paging ladder's rules at the service level: who is on each rung, what the page says and
carries, what is audited, when the next rung is due, and how a ladder handed to another team
or a team with nobody to page behaves."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from models.policy import Policy, Roles, Team
from services import audit, paging, security
from services.errors import AlreadyDone, NotFound
from tests.sla.conftest import new_incident, outbox

TIMEOUT = timedelta(minutes=10)  # escalation.page_ack_timeout's default


@pytest.fixture
def policy(policy: Policy) -> Policy:
    """The SLA tests' ops team (a four-rung ladder), a team with only an on-call, one with
    nobody to page, and a security team."""
    extra = [
        Team(name="db", lead="UDBLEAD", on_call="UDBONCALL"),
        Team(name="nobody", lead="UNOLEAD"),
        Team(name="pair", lead="UP2", on_call="UP1", escalation_ladder=["UP1", "UP2"]),
    ]
    return policy.model_copy(
        update={"teams": [*policy.teams, *extra], "roles": Roles(security=["USEC1", "SSECTEAM"])}
    )


def _start(database, clock, policy, key: str, team: str = "ops"):  # type: ignore[no-untyped-def]
    with database.session() as session:
        page = paging.start(session, record_key=key, team=team, now=clock.now(), policy=policy)
        return None if page is None else (page.level, page.recipient, page.team, page.ack_due_at)


def _pages(database, key: str) -> list[tuple[str, int, str, object]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [
            (p.team, p.level, p.recipient, p.ack_due_at)
            for p in paging.pages(session, record_key=key)
        ]


def _trail(database, key: str) -> list[tuple[str, str | None, str | None, str | None, str | None]]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [
            (e.action, e.field, e.from_value, e.to_value, e.note)
            for e in audit.trail(session, key=key)
            if e.field == "page_level"
        ]


def test_ladder_is_the_teams_ladder_else_its_on_call_else_nobody(policy):
    assert paging.ladder(policy, "ops") == ["UONCALL", "USECOND", "ULEAD", "SHEADS"]
    assert paging.ladder(policy, "db") == ["UDBONCALL"]
    assert paging.ladder(policy, "nobody") == []
    assert paging.ladder(policy, "no such team") == []
    # A restricted incident's page climbs the security team, in roles.security order.
    assert paging.ladder(policy, security.SECURITY_LADDER) == ["USEC1", "SSECTEAM"]


def test_the_first_page_says_who_is_paged_carries_the_button_and_is_audited(
    database, clock, policy
):
    key = new_incident(database, clock, policy, priority=1)
    paged_at = clock.now()
    assert _start(database, clock, policy, key) == (0, "UONCALL", "ops", paged_at + TIMEOUT)
    (row,) = outbox(database, key, "page")
    assert (row.stage, row.recipient, row.due_at, row.status) == (
        "ladder:ops:0",
        "UONCALL",
        paged_at,
        "pending",
    )
    assert row.text == (f":pager: You are paged for {key}. Acknowledge to stop the escalation.")
    assert json.loads(row.blocks or "null") == [
        {"type": "section", "text": {"type": "mrkdwn", "text": row.text}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "page_acknowledge",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "value": json.dumps({"key": key}),
                }
            ],
        },
    ]
    assert _trail(database, key) == [("paged", "page_level", None, "0", "ops: UONCALL")]


def test_an_escalated_page_says_which_level_nobody_acknowledged(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, key)
    clock.advance(TIMEOUT)
    escalated_at = clock.now()
    with database.session() as session:
        (new,) = paging.sweep(session, now=clock.now(), policy=policy)
        assert (new.level, new.recipient, new.ack_due_at) == (1, "USECOND", escalated_at + TIMEOUT)
    row = next(r for r in outbox(database, key, "page") if r.stage == "ladder:ops:1")
    assert row.text == (
        f":pager: You are paged for {key}: nobody acknowledged it at level 1, so it has been "
        "escalated to you. Acknowledge to stop the escalation."
    )
    assert json.loads(row.blocks or "null")[0]["text"]["text"] == row.text
    assert _trail(database, key)[-1] == (
        "escalated",
        "page_level",
        "0",
        "1",
        "escalated to level 1: USECOND (no acknowledgement)",
    )


def test_a_one_rung_ladder_is_the_top_and_never_escalates(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    assert _start(database, clock, policy, key, team="db") == (0, "UDBONCALL", "db", None)
    clock.advance(hours=5)
    with database.session() as session:
        assert paging.sweep(session, now=clock.now(), policy=policy) == []
    assert _pages(database, key) == [("db", 0, "UDBONCALL", None)]


def test_a_team_with_nobody_to_page_pages_nobody_and_audits_nothing(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    assert _start(database, clock, policy, key, team="nobody") is None
    assert _pages(database, key) == []
    assert outbox(database, key, "page") == []
    assert _trail(database, key) == []
    with (
        database.session() as session,
        pytest.raises(NotFound, match=f"^Nobody has been paged for {key}\\.$"),
    ):
        paging.acknowledge(session, record_key=key, by="UAGENT", now=clock.now())
    with database.session() as session:
        assert not paging.acknowledge_if_paged(
            session, record_key=key, by="UAGENT", now=clock.now()
        )


def test_starting_again_returns_the_first_page_and_pages_nobody_twice(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    first_at = clock.now()
    _start(database, clock, policy, key)
    clock.advance(minutes=3)
    assert _start(database, clock, policy, key) == (0, "UONCALL", "ops", first_at + TIMEOUT)
    assert len(outbox(database, key, "page")) == 1
    assert [a for a, *_ in _trail(database, key)] == ["paged"]


def test_handing_the_page_to_another_team_stops_the_first_ladder(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, key)
    clock.advance(minutes=4)
    handed_at = clock.now()
    assert _start(database, clock, policy, key, team="db") == (0, "UDBONCALL", "db", None)
    # The ops ladder stopped climbing: its first rung waits on nobody now.
    assert _pages(database, key) == [("ops", 0, "UONCALL", None), ("db", 0, "UDBONCALL", None)]
    assert _trail(database, key)[-1] == ("paged", "page_level", None, "0", "db: UDBONCALL")
    clock.advance(hours=1)
    with database.session() as session:
        assert paging.sweep(session, now=clock.now(), policy=policy) == []
    # Only the latest team's ladder is live: its on-call acknowledges it.
    with database.session() as session:
        page = paging.acknowledge(session, record_key=key, by="UDBONCALL", now=clock.now())
        assert (page.team, page.level, page.acknowledged_by) == ("db", 0, "UDBONCALL")
    assert handed_at < clock.now()
    with database.session() as session:
        assert not paging.acknowledge_if_paged(
            session, record_key=key, by="UONCALL", now=clock.now()
        )


def test_handing_back_a_ladder_that_is_still_climbing_keeps_its_due_time(database, clock, policy):
    """Only another team's waiting pages are stopped when a ladder starts; the new team's own
    first page keeps its acknowledgement time."""
    key = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, key, team="db")
    clock.advance(minutes=1)
    started = clock.now()
    _start(database, clock, policy, key, team="ops")
    assert _pages(database, key) == [
        ("db", 0, "UDBONCALL", None),
        ("ops", 0, "UONCALL", started + TIMEOUT),
    ]
    clock.advance(TIMEOUT)
    with database.session() as session:
        assert [p.level for p in paging.sweep(session, now=clock.now(), policy=policy)] == [1]


def test_acknowledging_audits_who_and_the_level_and_refuses_a_second_time(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, key)
    with database.session() as session:
        assert paging.acknowledge_if_paged(session, record_key=key, by="UONCALL", now=clock.now())
    with database.session() as session:
        entry = [e for e in audit.trail(session, key=key) if e.action == "page acknowledged"]
        assert [(e.actor, e.field, e.to_value) for e in entry] == [("UONCALL", "page_level", "0")]
    with (
        database.session() as session,
        pytest.raises(
            AlreadyDone, match=f"^The page for {key} was already acknowledged by <@UONCALL>\\.$"
        ),
    ):
        paging.acknowledge(session, record_key=key, by="USECOND", now=clock.now())


def test_the_sweep_escalates_only_what_is_due_and_the_top_rung_waits_on_nobody(
    database, clock, policy
):
    first = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, first)
    clock.advance(minutes=5)
    second = new_incident(database, clock, policy, priority=1)
    second_due = clock.now() + TIMEOUT
    _start(database, clock, policy, second)
    clock.advance(minutes=5)
    with database.session() as session:
        assert [
            (p.record_key, p.level) for p in paging.sweep(session, now=clock.now(), policy=policy)
        ] == [(first, 1)]
    # The other record's page still waits for its own acknowledgement time.
    assert _pages(database, second) == [("ops", 0, "UONCALL", second_due)]
    for _ in range(2):  # levels 2 and 3; the top rung is paged by the last of these
        clock.advance(TIMEOUT)
        with database.session() as session:
            paging.sweep(session, now=clock.now(), policy=policy)
    top = _pages(database, first)[-1]
    assert top[1:] == (3, "SHEADS", None)  # the top rung: nobody further to escalate to


def test_a_ladder_shortened_since_stops_at_its_new_top_and_the_others_go_on(
    database, clock, policy
):
    on_ops = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, on_ops)
    clock.advance(minutes=1)
    on_pair = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, on_pair, team="pair")
    shorter = policy.model_copy(
        update={
            "teams": [
                t.model_copy(update={"escalation_ladder": ["UONCALL"]}) if t.name == "ops" else t
                for t in policy.teams
            ]
        }
    )
    clock.advance(TIMEOUT)
    with database.session() as session:
        escalated = paging.sweep(session, now=clock.now(), policy=shorter)
        assert [(p.record_key, p.team, p.level) for p in escalated] == [(on_pair, "pair", 1)]
    assert _pages(database, on_ops) == [("ops", 0, "UONCALL", None)]


def test_starting_again_finds_this_records_first_page_on_this_team(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    other = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, other)
    _start(database, clock, policy, key)
    first_due = clock.now() + TIMEOUT
    clock.advance(TIMEOUT)
    with database.session() as session:
        paging.sweep(session, now=clock.now(), policy=policy)  # level 1 for both
    _start(database, clock, policy, key, team="db")
    # Its own ops level 0, not the other record's, the db page or the level 1 page.
    with database.session() as session:
        page = paging.start(session, record_key=key, team="ops", now=clock.now(), policy=policy)
        assert (page.record_key, page.team, page.level, page.paged_at) == (
            key,
            "ops",
            0,
            first_due - TIMEOUT,
        )
