"""The escalation ladder: level by level until acknowledged, stopping at the top."""

from __future__ import annotations

import pytest

from schedules.scheduler import run_once
from services import audit, incidents, paging
from services.errors import AlreadyDone
from tests.sla.conftest import AGENT, new_incident, outbox, stages


def _sweep(database, clock, policy) -> list[int]:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return [page.level for page in paging.sweep(session, now=clock.now(), policy=policy)]


def _start(database, clock, policy, key: str) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        paging.start(session, record_key=key, team="ops", now=clock.now(), policy=policy)


def test_ladder_escalates_level_by_level_and_stops_at_the_top(
    database, clock, policy, fake_slack, notifier
):
    key = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, key)
    _start(database, clock, policy, key)  # a second start pages nobody again
    clock.advance(minutes=9, seconds=59)
    assert _sweep(database, clock, policy) == []
    clock.advance(seconds=1)
    assert _sweep(database, clock, policy) == [1]
    assert _sweep(database, clock, policy) == []
    clock.advance(minutes=10)
    assert _sweep(database, clock, policy) == [2]
    clock.advance(minutes=10)
    assert _sweep(database, clock, policy) == [3]
    clock.advance(hours=2)
    assert _sweep(database, clock, policy) == []
    assert stages(database, key, "page") == {
        "ladder:ops:0": ["UONCALL"],
        "ladder:ops:1": ["USECOND"],
        "ladder:ops:2": ["ULEAD"],
        "ladder:ops:3": ["SHEADS"],
    }
    with database.session() as session:
        notes = [e.note for e in audit.trail(session, key=key) if e.action == "escalated"]
    assert notes == [
        "escalated to level 1: USECOND (no acknowledgement)",
        "escalated to level 2: ULEAD (no acknowledgement)",
        "escalated to level 3: SHEADS (no acknowledgement)",
    ]
    run_once(db=database, clock=clock, policy=policy, notifier=notifier)
    # The user group on the top rung was messaged member by member, with the button.
    pages = [c for c in fake_slack.calls("chat.postMessage") if "paged" in c.args["text"]]
    dms = sorted(call.args["channel"] for call in pages)
    assert dms == ["DUHEAD1", "DUHEAD2", "DULEAD", "DUONCALL", "DUSECOND"]
    button = pages[-1].args["blocks"][1]["elements"][0]
    assert button["action_id"] == paging.ACK_ACTION_ID
    assert button["value"] == '{"key": "' + key + '"}'


def test_acknowledging_stops_the_ladder_and_a_second_ack_is_already_done(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, key)
    clock.advance(minutes=10)
    assert _sweep(database, clock, policy) == [1]
    clock.advance(minutes=2)
    with database.session() as session:
        page = paging.acknowledge(session, record_key=key, by="USECOND", now=clock.now())
    assert page.level == 1
    with database.session() as session, pytest.raises(AlreadyDone, match="USECOND"):
        paging.acknowledge(session, record_key=key, by="UONCALL", now=clock.now())
    clock.advance(hours=1)
    assert _sweep(database, clock, policy) == []
    # Nothing beyond level 1 was paged, and the pages not yet delivered were withdrawn.
    assert [(row.stage, row.status) for row in outbox(database, key, "page")] == [
        ("ladder:ops:0", "cancelled"),
        ("ladder:ops:1", "cancelled"),
    ]


def test_incident_acknowledge_also_acknowledges_its_page(database, clock, policy):
    key = new_incident(database, clock, policy, priority=1)
    _start(database, clock, policy, key)
    clock.advance(minutes=3)
    with database.session() as session:
        incidents.acknowledge(session, key=key, actor=AGENT, now=clock.now(), policy=policy)
        (page,) = paging.pages(session, record_key=key)
    assert page.acknowledged_by == "UAGENT" and page.ack_due_at is None
    clock.advance(hours=1)
    assert _sweep(database, clock, policy) == []
