"""Logging changes: form validation, standard changes, freezes, conflicts, the calendar,
the implementation steps, risk from the questionnaire, and reminder timing."""

from __future__ import annotations

import pytest

from bot.db import Database
from bot.policy import parse_policy
from models.change import ChangeStatus, ChangeType, Risk
from models.policy import Policy
from services import audit, change_calendar, change_plan, changes
from services.clock import ManualClock
from services.errors import FieldError, NotAllowed
from services.permissions import Actor
from tests.changes.conftest import (
    CAB,
    FREEZE_START,
    REQUESTER,
    WINDOW_END,
    WINDOW_START,
    Submit,
    approve,
    approved_change,
    change_input,
    later,
)


def _create(database: Database, clock: ManualClock, policy: Policy, **overrides: object) -> str:
    with database.session() as session:
        return changes.create(
            session,
            data=change_input(**overrides),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        ).key


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"planned_end": WINDOW_START - later(1)}, "planned_end"),
        (
            {"planned_start": WINDOW_START - later(24 * 30), "planned_end": WINDOW_END},
            "planned_start",
        ),
        ({"planned_end": None}, "planned_end"),
        ({"backout_plan": "  "}, "backout_plan"),
        ({"backout_plan": "", "type": ChangeType.EMERGENCY}, "backout_plan"),
        ({"title": "   "}, "title"),
        ({"risk": None}, "risk"),
        ({"risk": None, "risk_answers": {"no_such_question": True}}, "risk_answers"),
        (
            {"type": ChangeType.STANDARD, "standard_template": "Reboot everything"},
            "standard_template",
        ),
    ],
)
def test_form_errors_name_the_field(
    database: Database,
    clock: ManualClock,
    policy: Policy,
    overrides: dict[str, object],
    field: str,
) -> None:
    with pytest.raises(FieldError) as refused:
        _create(database, clock, policy, **overrides)
    assert refused.value.field == field
    assert str(refused.value)
    with database.session() as session:
        assert changes.list_changes(session, limit=10) == []


def test_change_is_logged_with_its_targets_and_audited(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    key = _create(database, clock, policy, targets=["payments", "db-7", "DB-7", " "])
    with database.session() as session:
        change = changes.get(session, key=key)
        assert key == "CHG-1"
        assert change.state is ChangeStatus.NEW
        # Known services take the policy's spelling; repeats are dropped.
        assert changes.targets(session, key=key) == ["Payments", "db-7"]
        assert [e.action for e in audit.trail(session, key=key)] == ["created"]
        assert changes.list_changes(session, mine="UIMPL1", limit=5)[0].key == key
        assert changes.list_changes(session, status=ChangeStatus.APPROVED, limit=5) == []


def test_standard_change_goes_straight_to_scheduled(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    key = _create(
        database,
        clock,
        policy,
        type=ChangeType.STANDARD,
        risk=None,
        backout_plan="",
        standard_template="rotate tls certificate",
    )
    with database.session() as session:
        change = changes.get(session, key=key)
        assert change.state is ChangeStatus.SCHEDULED
        assert change.standard_template == "Rotate TLS certificate"
        assert change.risk == Risk.LOW
        assert changes.approvals(session, key=key) == []
        changes.start_implementation(session, key=key, actor=Actor("UIMPL1"), now=clock.now())
        assert change.state is ChangeStatus.IMPLEMENTING


def test_normal_change_inside_a_freeze_is_refused(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    with pytest.raises(NotAllowed, match="Year end"):
        _create(
            database,
            clock,
            policy,
            planned_start=FREEZE_START - later(1),
            planned_end=FREEZE_START + later(1),
        )
    with pytest.raises(NotAllowed, match="Year end"):
        _create(
            database,
            clock,
            policy,
            type=ChangeType.STANDARD,
            standard_template="Rotate TLS certificate",
            planned_start=FREEZE_START + later(1),
            planned_end=FREEZE_START + later(2),
        )
    # Just before the freeze is fine.
    _create(
        database, clock, policy, planned_start=FREEZE_START - later(2), planned_end=FREEZE_START
    )


def test_a_freeze_on_some_targets_only_refuses_changes_on_them(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    narrow = parse_policy(
        '[changes]\n[[changes.freezes]]\nname = "Black Friday"\n'
        'start = 2026-12-01T00:00:00Z\nend = 2026-12-02T00:00:00Z\ntargets = ["Payments"]\n'
    )
    with pytest.raises(NotAllowed, match="Black Friday"):
        _create(database, clock, narrow, targets=["payments"])
    _create(database, clock, narrow, targets=["intranet"])


def test_overlapping_changes_on_the_same_target_conflict(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    first = _create(database, clock, policy, targets=["Payments"])
    overlapping = _create(
        database,
        clock,
        policy,
        targets=["Payments", "db-7"],
        planned_start=WINDOW_START + later(1),
        planned_end=WINDOW_END + later(1),
    )
    # Starts the moment the overlapping one ends: touching windows do not overlap.
    back_to_back = _create(
        database,
        clock,
        policy,
        targets=["Payments"],
        planned_start=WINDOW_END + later(1),
        planned_end=WINDOW_END + later(2),
    )
    elsewhere = _create(database, clock, policy, targets=["intranet"])
    with database.session() as session:
        found = change_calendar.conflicts(session, change=changes.get(session, key=first))
        assert [c.key for c in found] == [overlapping]
        assert (
            change_calendar.conflicts(session, change=changes.get(session, key=back_to_back)) == []
        )
        assert change_calendar.conflicts(session, change=changes.get(session, key=elsewhere)) == []
        # The CMDB can widen the search to what a target depends on.
        widened = change_calendar.conflicts(
            session,
            change=changes.get(session, key=elsewhere),
            related_targets=lambda names: ["db-7"] if "intranet" in names else [],
        )
        assert [c.key for c in widened] == [overlapping]
        changes.cancel(
            session,
            key=overlapping,
            actor=Actor(REQUESTER),
            now=clock.now(),
            note="Merged into the first",
        )
        assert change_calendar.conflicts(session, change=changes.get(session, key=first)) == []


def test_calendar_lists_approved_scheduled_and_implementing_changes_in_the_window(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    _create(database, clock, policy)  # New: not on the calendar
    approved = awaiting(risk=Risk.LOW)
    approve(database, policy, clock, approved, "UAPP1", {CAB})
    standard = _create(
        database,
        clock,
        policy,
        type=ChangeType.STANDARD,
        standard_template="Rotate TLS certificate",
        planned_start=WINDOW_START + later(48),
        planned_end=WINDOW_END + later(48),
    )
    with database.session() as session:
        listed = change_calendar.calendar(
            session, start=WINDOW_START - later(1), end=WINDOW_END + later(72)
        )
        assert [c.key for c in listed] == [approved, standard]
        only_first_day = change_calendar.calendar(
            session, start=WINDOW_START, end=WINDOW_START + later(24)
        )
        assert [c.key for c in only_first_day] == [approved]


def test_implementation_steps_to_closed(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = approved_change(database, clock, policy, awaiting)
    implementer = Actor("UIMPL1")
    with database.session() as session:
        with pytest.raises(
            NotAllowed,
            match=r"CHG-1 is Approved, so it cannot be started now; that is only possible when it is Scheduled\.",
        ):
            changes.start_implementation(session, key=key, actor=implementer, now=clock.now())
        changes.schedule(
            session,
            key=key,
            actor=implementer,
            now=clock.now(),
            policy=policy,
            start=WINDOW_START + later(1),
            end=WINDOW_END + later(1),
        )
    with database.session() as session:
        with pytest.raises(NotAllowed, match="Year end"):
            changes.schedule(
                session,
                key=key,
                actor=implementer,
                now=clock.now(),
                policy=policy,
                start=FREEZE_START,
                end=FREEZE_START + later(1),
            )
    clock.set(WINDOW_START + later(1))
    with database.session() as session:
        changes.start_implementation(session, key=key, actor=implementer, now=clock.now())
        clock.advance(hours=1)
        changes.complete_implementation(session, key=key, actor=implementer, now=clock.now())
        with pytest.raises(FieldError) as refused:
            changes.review(
                session, key=key, outcome="successful", note=" ", actor=implementer, now=clock.now()
            )
        assert refused.value.field == "note"
        change = changes.review(
            session,
            key=key,
            outcome="successful_with_issues",
            note="Replica lag for 5 minutes",
            actor=Actor(REQUESTER),
            now=clock.now(),
        )
        assert change.state is ChangeStatus.CLOSED
        assert change.review_outcome == "successful_with_issues"
        moves = [e.action for e in audit.trail(session, key=key) if e.field == "status"]
        assert moves == [
            "created",
            "assess",
            "submit",
            "approve",
            "schedule",
            "start",
            "complete",
            "review",
        ]


def test_risk_from_the_questionnaire(policy: Policy) -> None:
    assert changes.risk_from_answers(policy, {}) is Risk.LOW
    assert changes.risk_from_answers(policy, {"untested": True}) is Risk.LOW
    assert changes.risk_from_answers(policy, {"downtime": True}) is Risk.MEDIUM
    assert (
        changes.risk_from_answers(policy, {"downtime": True, "customer_facing": True, "data": True})
        is Risk.HIGH
    )


def test_risk_questions_and_thresholds_come_from_the_policy(
    database: Database, clock: ManualClock
) -> None:
    custom = parse_policy(
        "[changes.risk_thresholds]\nmedium = 1\nhigh = 3\n"
        '[[changes.risk_questions]]\nid = "prod"\ntext = "Production?"\nweight = 3\n'
    )
    assert changes.risk_from_answers(custom, {"prod": True}) is Risk.HIGH
    assert changes.risk_from_answers(custom, {"prod": False}) is Risk.LOW
    key = _create(database, clock, custom, risk=None, risk_answers={"prod": True})
    with database.session() as session:
        assert changes.get(session, key=key).risk == Risk.HIGH


def test_empty_policy_works() -> None:
    empty = parse_policy("")
    assert empty.changes.quorum.normal_medium.approvals == 2
    assert empty.changes.quorum.normal_high.chair == 1
    assert empty.changes.reject_on_first is True
    assert empty.changes.standard_changes == []


def test_reminder_plan_times(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = approved_change(database, clock, policy, awaiting)
    with database.session() as session:
        change = changes.get(session, key=key)
        assert change_plan.reminder_plan(change, policy) == [
            ("before_start:1d", WINDOW_START - later(24), "UIMPL1"),
            ("before_start:1h", WINDOW_START - later(1), "UIMPL1"),
            ("at_start", WINDOW_START, "UIMPL1"),
            ("overrun", WINDOW_END, "UIMPL1"),
            ("review", WINDOW_END + later(48), REQUESTER),
        ]
    clock.set(WINDOW_START)
    with database.session() as session:
        changes.schedule(session, key=key, actor=Actor("UIMPL1"), now=clock.now(), policy=policy)
        changes.start_implementation(session, key=key, actor=Actor("UIMPL1"), now=clock.now())
        clock.advance(minutes=30)
        change = changes.complete_implementation(
            session, key=key, actor=Actor("UIMPL1"), now=clock.now()
        )
        # After implementation only the review is left, counted from when it was implemented.
        assert change_plan.reminder_plan(change, policy) == [
            ("review", WINDOW_START + later(0.5) + later(48), REQUESTER),
        ]


def test_default_reminder_plan(database: Database, clock: ManualClock) -> None:
    defaults = Policy()
    key = _create(database, clock, defaults, implementer=None)
    with database.session() as session:
        change = changes.get(session, key=key)
        # New changes have no window reminders yet, only the review (to the requester).
        assert change_plan.reminder_plan(change, defaults) == [
            ("review", WINDOW_END + later(24), REQUESTER)
        ]


def test_no_reminders_without_a_whole_window(database: Database, clock: ManualClock) -> None:
    defaults = Policy()
    key = _create(database, clock, defaults)
    with database.session() as session:
        change = changes.get(session, key=key)
        assert change_plan.reminder_plan(change, defaults) != []
        start, end = change.planned_start, change.planned_end
        for planned_start, planned_end in ((start, None), (None, end), (None, None)):
            change.planned_start, change.planned_end = planned_start, planned_end
            assert change_plan.reminder_plan(change, defaults) == []
        session.rollback()
