"""A freeze's edges: a window touching a freeze at either end is outside it, one minute into
it is inside; the same when logging, submitting, approving and (re)scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db import Database
from models.change import ChangeStatus, ChangeType
from models.policy import Policy
from services import change_approvals, changes
from services.clock import ManualClock
from services.errors import NotAllowed
from services.permissions import Actor
from tests.changes.conftest import (
    CAB,
    ECAB,
    FREEZE_START,
    FREEZERS,
    REQUESTER,
    Submit,
    approve,
    change_input,
    later,
)

FREEZE_END = datetime(2027, 1, 4, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

OUTSIDE = {
    "ends as the freeze starts": (FREEZE_START - later(2), FREEZE_START),
    "starts as the freeze ends": (FREEZE_END, FREEZE_END + later(2)),
    "well before": (FREEZE_START - later(30), FREEZE_START - later(28)),
    "well after": (FREEZE_END + later(28), FREEZE_END + later(30)),
}
INSIDE = {
    "ends a minute into the freeze": (FREEZE_START - later(2), FREEZE_START + MINUTE),
    "starts a minute before the freeze ends": (FREEZE_END - MINUTE, FREEZE_END + later(2)),
    "starts as the freeze starts": (FREEZE_START, FREEZE_START + later(2)),
    "ends as the freeze ends": (FREEZE_END - later(2), FREEZE_END),
    "within it": (FREEZE_START + later(48), FREEZE_START + later(50)),
    "spans all of it": (FREEZE_START - MINUTE, FREEZE_END + MINUTE),
}


def _create(database: Database, clock: ManualClock, policy: Policy, **overrides: object) -> str:
    with database.session() as session:
        return changes.create(
            session,
            data=change_input(**overrides),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        ).key


@pytest.mark.parametrize("window", list(OUTSIDE.values()), ids=list(OUTSIDE))
def test_a_window_outside_the_freeze_is_accepted(
    database: Database, clock: ManualClock, policy: Policy, window: tuple[datetime, datetime]
) -> None:
    key = _create(database, clock, policy, planned_start=window[0], planned_end=window[1])
    with database.session() as session:
        change = changes.get(session, key=key)
        assert (change.planned_start, change.planned_end) == window
        assert change.state is ChangeStatus.NEW


@pytest.mark.parametrize("window", list(INSIDE.values()), ids=list(INSIDE))
def test_a_window_inside_the_freeze_is_refused_naming_it(
    database: Database, clock: ManualClock, policy: Policy, window: tuple[datetime, datetime]
) -> None:
    with pytest.raises(
        NotAllowed, match=r"change freeze 'Year end' \(20 Dec 00:00 to 04 Jan 00:00"
    ):
        _create(database, clock, policy, planned_start=window[0], planned_end=window[1])


def test_an_emergency_change_starting_as_the_freeze_ends_needs_no_freeze_approver(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    actor = Actor(REQUESTER)
    with database.session() as session:
        key = changes.create(
            session,
            data=change_input(
                type=ChangeType.EMERGENCY,
                planned_start=FREEZE_END,
                planned_end=FREEZE_END + later(1),
            ),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        ).key
        request = change_approvals.submit_for_approval(
            session, key=key, actor=actor, now=clock.now(), policy=policy
        )
        assert request.freeze is None
        assert request.freeze_refs == ()
        assert FREEZERS not in request.ask
        assert request.quorum == 1
    tally = approve(database, policy, clock, key, "UECAB1", {ECAB})
    assert tally.outcome == "approved"


def test_an_emergency_change_a_minute_into_the_freeze_needs_a_freeze_approver(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    actor = Actor(REQUESTER)
    with database.session() as session:
        key = changes.create(
            session,
            data=change_input(
                type=ChangeType.EMERGENCY,
                planned_start=FREEZE_END - MINUTE,
                planned_end=FREEZE_END + later(1),
            ),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        ).key
        request = change_approvals.submit_for_approval(
            session, key=key, actor=actor, now=clock.now(), policy=policy
        )
        assert request.freeze == "Year end"
        assert request.freeze_refs == (FREEZERS,)
        assert FREEZERS in request.ask
        assert request.quorum == 2
    assert approve(database, policy, clock, key, "UECAB1", {ECAB}).outcome == "pending"
    assert approve(database, policy, clock, key, "UFREEZE", {FREEZERS}).outcome == "approved"


def _approved_normal(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> str:
    key = awaiting()
    approve(database, policy, clock, key, "UAPP1", {CAB})
    assert approve(database, policy, clock, key, "UAPP2", {CAB}).outcome == "approved"
    return key


def _schedule(
    database: Database,
    clock: ManualClock,
    policy: Policy,
    key: str,
    window: tuple[datetime, datetime],
) -> changes.Change:
    with database.session() as session:
        return changes.schedule(
            session,
            key=key,
            actor=Actor(REQUESTER),
            now=clock.now(),
            policy=policy,
            start=window[0],
            end=window[1],
        )


@pytest.mark.parametrize("window", list(OUTSIDE.values())[:2], ids=list(OUTSIDE)[:2])
def test_rescheduling_to_touch_the_freeze_is_accepted(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit, window: tuple
) -> None:
    key = _approved_normal(database, clock, policy, awaiting)
    _schedule(database, clock, policy, key, window)
    with database.session() as session:
        change = changes.get(session, key=key)
        assert change.state is ChangeStatus.SCHEDULED
        assert (change.planned_start, change.planned_end) == window


@pytest.mark.parametrize("window", list(INSIDE.values())[:2], ids=list(INSIDE)[:2])
def test_rescheduling_a_minute_into_the_freeze_is_refused_and_nothing_moves(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit, window: tuple
) -> None:
    key = _approved_normal(database, clock, policy, awaiting)
    with pytest.raises(
        NotAllowed,
        match=r"falls in the change freeze 'Year end' and .* was not approved for the freeze",
    ):
        _schedule(database, clock, policy, key, window)
    with database.session() as session:
        change = changes.get(session, key=key)
        assert change.state is ChangeStatus.APPROVED
        assert change.planned_start != window[0]
