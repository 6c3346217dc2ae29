"""The change calendar and conflict search at their edges: windows that touch do not overlap,
and both lists come in order of planned start whatever order the changes were logged in."""

from __future__ import annotations

from bot.db import Database
from models.change import ChangeType
from models.policy import Policy
from services import change_calendar, change_plan, changes
from services.clock import ManualClock
from tests.changes.conftest import REQUESTER, WINDOW_START, change_input, later


def _standard(database: Database, clock: ManualClock, policy: Policy, start: int, end: int) -> str:
    """A pre-approved change on Payments from WINDOW_START + start hours to + end hours."""
    with database.session() as session:
        return changes.create(
            session,
            data=change_input(
                type=ChangeType.STANDARD,
                standard_template="Rotate TLS certificate",
                targets=["Payments"],
                planned_start=WINDOW_START + later(start),
                planned_end=WINDOW_START + later(end),
            ),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        ).key


def _calendar(database: Database, start: int, end: int) -> list[str]:
    with database.session() as session:
        listed = change_calendar.calendar(
            session, start=WINDOW_START + later(start), end=WINDOW_START + later(end)
        )
        return [c.key for c in listed]


def test_the_calendar_lists_by_planned_start_and_leaves_out_windows_that_only_touch(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    late = _standard(database, clock, policy, 2, 3)
    early = _standard(database, clock, policy, 0, 1)
    assert _calendar(database, 0, 3) == [early, late]
    # Ends as the period starts, starts as it ends: neither is on in [1 h, 2 h).
    assert _calendar(database, 1, 2) == []
    # A period after both windows: the one that ended before it is not on either.
    assert _calendar(database, 4, 5) == []
    assert _calendar(database, -2, -1) == []
    assert _calendar(database, 2, 4) == [late]


def test_conflicts_come_by_planned_start_and_a_window_starting_at_the_end_is_none(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    wide = _standard(database, clock, policy, 0, 4)
    after = _standard(database, clock, policy, 4, 5)
    late = _standard(database, clock, policy, 2, 3)
    early = _standard(database, clock, policy, 1, 2)
    with database.session() as session:
        found = change_calendar.conflicts(session, change=changes.get(session, key=wide))
        assert [c.key for c in found] == [early, late]
        assert change_calendar.conflicts(session, change=changes.get(session, key=after)) == []
        found = change_calendar.conflicts(session, change=changes.get(session, key=late))
        assert [c.key for c in found] == [wide]
        # A window with one end missing (as a draft would have it) conflicts with nothing.
        half = changes.get(session, key=late)
        half.planned_end = None
        assert change_calendar.conflicts(session, change=half) == []
        half.planned_end, half.planned_start = WINDOW_START, None
        assert change_calendar.conflicts(session, change=half) == []
        session.rollback()


def test_reminder_stages_name_the_largest_whole_unit() -> None:
    assert [
        change_plan.duration_text(later(h))
        for h in (24, 48, 1, 25, 0.5, 1.5, 1 / 60, 1 / 120, 61 / 3600)
    ] == ["1d", "2d", "1h", "25h", "30m", "90m", "1m", "30s", "61s"]
