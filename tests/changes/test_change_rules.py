"""The rules of services/changes.py one by one, at the service level (both databases): the
change form by field, what a new change stores and audits, the lists, assessment, scheduling
and rescheduling, implementation, the review's record and cancelling."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.db import Database
from models.change import ChangeStatus, ChangeType, Risk
from models.policy import Policy
from services import audit, changes
from services.clock import ManualClock
from services.errors import FieldError, Forbidden, NotAllowed
from services.permissions import Actor, Role
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
from tests.stale_support import change_behind

OWNER = Actor(REQUESTER)
IMPLEMENTER = Actor("UIMPL1")
AGENT = Actor("UAGENT1", frozenset({Role.AGENT}))
STRANGER = Actor("USTRANGER")


def _create(database: Database, clock: ManualClock, policy: Policy, **given: object) -> str:
    submission = given.pop("submission_id", None)
    with database.session() as session:
        return changes.create(
            session,
            data=change_input(**given),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
            submission_id=submission,  # type: ignore[arg-type]
        ).key


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"title": " \t "}, "title", "Give the change a short title."),
        ({"title": "t" * 151}, "title", "Keep the title under 150 characters."),
        ({"type": "weekly"}, "type", "Choose standard, normal or emergency."),
        ({"type": ChangeType.SERVICE}, "type", "Choose standard, normal or emergency."),
        (
            {"type": ChangeType.STANDARD, "standard_template": "Reboot everything"},
            "standard_template",
            "Choose one of the catalogued standard changes (Rotate TLS certificate); anything "
            "else is a normal change.",
        ),
        (
            {"backout_plan": "  "},
            "backout_plan",
            "Say how the change will be backed out if it fails.",
        ),
        ({"planned_end": None}, "planned_end", "Give the planned end."),
        ({"planned_start": None}, "planned_start", "Give the planned start."),
        (
            {"planned_start": datetime(2026, 12, 1, 20), "planned_end": datetime(2026, 12, 1, 22)},
            "planned_start",
            "Planned times need a time zone.",
        ),
        (
            {"planned_end": WINDOW_START},
            "planned_end",
            "The planned end must be after the planned start.",
        ),
        (
            {"planned_start": WINDOW_START - later(24 * 30)},
            "planned_start",
            "The planned start is in the past; choose a later time.",
        ),
        ({"risk": None}, "risk", "Choose the risk, or answer the risk questions."),
        (
            {"targets": ["x" * 101]},
            "targets",
            "'" + "x" * 30 + "…' is too long for a service or item name.",
        ),
    ],
)
def test_the_change_form_is_refused_by_field(database, clock, policy, given, field, message):
    with pytest.raises(FieldError) as refused:
        _create(database, clock, policy, **given)
    assert (refused.value.field, str(refused.value)) == (field, message)
    with database.session() as session:
        assert changes.list_changes(session) == []


def test_a_standard_change_needs_its_window_and_an_empty_catalogue_says_so(database, clock):
    with pytest.raises(FieldError) as refused:
        _create(
            database,
            clock,
            Policy(),
            type=ChangeType.STANDARD,
            standard_template="Anything",
            planned_start=None,
            planned_end=None,
        )
    assert "(none yet)" in str(refused.value)
    policy = Policy.model_validate(
        {"changes": {"standard_changes": [{"name": "Rotate", "description": "", "risk": "low"}]}}
    )
    with pytest.raises(FieldError) as refused:
        _create(
            database,
            clock,
            policy,
            type=ChangeType.STANDARD,
            standard_template="Rotate",
            planned_start=None,
            planned_end=None,
        )
    assert refused.value.field == "planned_start"


def test_a_normal_change_in_a_freeze_is_refused_but_an_emergency_one_is_not(
    database, clock, policy
) -> None:
    inside = {"planned_start": FREEZE_START + later(1), "planned_end": FREEZE_START + later(2)}
    with pytest.raises(NotAllowed) as refused:
        _create(database, clock, policy, **inside)
    assert str(refused.value) == (
        "The planned window falls in the change freeze 'Year end' (20 Dec 00:00 to 04 Jan 00:00 "
        "UTC). Choose a window outside it, or raise an emergency change if it cannot wait."
    )
    key = _create(database, clock, policy, type=ChangeType.EMERGENCY, **inside)
    with database.session() as session:
        assert changes.get(session, key=key).status == "new"


def test_a_new_change_stores_its_fields_cleaned_and_is_audited(database, clock, policy) -> None:
    key = _create(
        database,
        clock,
        policy,
        title="  Upgrade   the\tdatabase ",
        description="  Why  ",
        implementation_plan=" Plan ",
        backout_plan=" Back ",
        test_plan=" Test ",
        targets=["PAYMENTS", " payments ", "", "Intranet  portal", "intranet portal"],
        security=True,
        submission_id="V1",
    )
    with database.session() as session:
        change = changes.get(session, key=key)
        assert (change.title, change.description, change.status, change.type, change.risk) == (
            "Upgrade the database",
            "Why",
            "new",
            "normal",
            "medium",
        )
        assert (change.implementation_plan, change.backout_plan, change.test_plan) == (
            "Plan",
            "Back",
            "Test",
        )
        assert (change.requester, change.implementer, change.security) == (
            REQUESTER,
            "UIMPL1",
            True,
        )
        assert (change.planned_start, change.planned_end) == (WINDOW_START, WINDOW_END)
        assert change.created_at == clock.now() and change.updated_at == clock.now()
        # The policy's spelling of a known service; other names as typed, once each.
        assert changes.targets(session, key=key) == ["Intranet portal", "Payments"]
        [row] = audit.trail(session, key=key)
        assert (row.action, row.actor, row.field, row.to_value, row.note) == (
            "created",
            REQUESTER,
            "status",
            "new",
            "normal change, medium risk",
        )
    assert _create(database, clock, policy, title="Another", submission_id="V1") == key
    with database.session() as session:
        assert changes.find_by_submission(session, submission_id="V1").key == key
        assert changes.find_by_submission(session, submission_id="V9") is None
        assert len(changes.list_changes(session)) == 1


def test_a_standard_change_is_scheduled_with_its_templates_risk(database, clock, policy) -> None:
    key = _create(
        database,
        clock,
        policy,
        type=ChangeType.STANDARD,
        standard_template="Rotate TLS certificate",
        risk=None,
        backout_plan="",
    )
    with database.session() as session:
        change = changes.get(session, key=key)
        assert (change.status, change.risk, change.standard_template) == (
            "scheduled",
            "low",
            "Rotate TLS certificate",
        )
        assert audit.trail(session, key=key)[0].note == (
            "standard change, low risk; standard change 'Rotate TLS certificate', pre-approved"
        )


def test_the_risk_may_come_from_the_questionnaire(database, clock) -> None:
    policy = Policy.model_validate(
        {
            "changes": {
                "risk_questions": [
                    {"id": "outage", "text": "Outage?", "weight": 5},
                    {"id": "tested", "text": "Untested?", "weight": 3},
                ],
                "risk_thresholds": {"medium": 3, "high": 8},
            }
        }
    )
    assert changes.risk_from_answers(policy, {}) is Risk.LOW
    assert changes.risk_from_answers(policy, {"tested": True}) is Risk.MEDIUM
    assert changes.risk_from_answers(policy, {"outage": True, "tested": True}) is Risk.HIGH
    with pytest.raises(FieldError) as refused:
        changes.risk_from_answers(policy, {"zeta": True, "alpha": False})
    assert (refused.value.field, str(refused.value)) == (
        "risk_answers",
        "'alpha' is not one of the risk questions.",
    )
    key = _create(database, clock, policy, risk=None, risk_answers={"outage": True})
    with database.session() as session:
        assert changes.get(session, key=key).risk == "medium"


def test_lists_are_newest_first_by_status_and_person(database, clock, policy) -> None:
    first = _create(database, clock, policy)
    clock.advance(timedelta(minutes=1))
    second = _create(database, clock, policy, implementer="UOTHER")
    third = _create(database, clock, policy, implementer=None)
    with database.session() as session:
        changes.cancel(session, key=first, actor=OWNER, now=clock.now(), note="no")

        def keys(**given):  # type: ignore[no-untyped-def]
            return [c.key for c in changes.list_changes(session, **given)]

        assert keys() == [third, second, first]
        assert keys(limit=1) == [third]
        assert keys(status="new") == [third, second]
        assert keys(status=ChangeStatus.CANCELLED) == [first]
        assert keys(mine="UOTHER") == [second]
        assert keys(mine="UIMPL1") == [first]
        assert keys(mine=REQUESTER, status="new") == [third, second]


def test_assessment_is_the_owners_and_not_for_emergencies(database, clock, policy) -> None:
    normal = _create(database, clock, policy)
    emergency = _create(database, clock, policy, type=ChangeType.EMERGENCY)
    with database.session() as session:
        with pytest.raises(Forbidden):
            changes.assess(session, key=normal, actor=STRANGER, now=clock.now())
        with pytest.raises(NotAllowed) as refused:
            changes.assess(session, key=emergency, actor=OWNER, now=clock.now())
        assert str(refused.value) == (
            f"{emergency} is an emergency change: it skips assessment; submit it for approval."
        )
        assessed = changes.assess(
            session, key=normal, actor=IMPLEMENTER, now=clock.now(), note="ok"
        )
        assert assessed.status == "assessment"
        row = audit.trail(session, key=normal)[-1]
        assert (row.action, row.actor, row.to_value, row.note) == (
            "assess",
            "UIMPL1",
            "assessment",
            "ok",
        )


def test_scheduling_in_the_planned_window_or_a_new_one(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = approved_change(database, clock, policy, awaiting)
    with database.session() as session:
        with pytest.raises(Forbidden):
            changes.schedule(session, key=key, actor=STRANGER, now=clock.now(), policy=policy)
        changes.schedule(session, key=key, actor=OWNER, now=clock.now(), policy=policy)
        trail = audit.trail(session, key=key)
        assert (trail[-1].action, trail[-1].note) == (
            "schedule",
            "2026-12-01 20:00 to 2026-12-01 22:00 UTC",
        )
        assert "rescheduled" not in [r.action for r in trail]
        moved = changes.schedule(
            session,
            key=key,
            actor=AGENT,
            now=clock.now(),
            policy=policy,
            start=WINDOW_START + later(48),
            end=WINDOW_END + later(48),
        )
        assert (moved.planned_start, moved.planned_end) == (
            WINDOW_START + later(48),
            WINDOW_END + later(48),
        )
        row = audit.trail(session, key=key)[-1]
        assert (row.action, row.field, row.from_value, row.to_value) == (
            "rescheduled",
            "window",
            "2026-12-01 20:00 to 2026-12-01 22:00 UTC",
            "2026-12-03 20:00 to 2026-12-03 22:00 UTC",
        )
        with pytest.raises(NotAllowed) as refused:
            changes.schedule(
                session,
                key=key,
                actor=OWNER,
                now=clock.now(),
                policy=policy,
                start=FREEZE_START + later(1),
                end=FREEZE_START + later(2),
            )
        assert str(refused.value) == (
            f"That window falls in the change freeze 'Year end' and {key} was not approved for "
            "the freeze. Choose a window outside it."
        )
        with pytest.raises(FieldError, match="The planned end must be after the planned start"):
            changes.schedule(
                session,
                key=key,
                actor=OWNER,
                now=clock.now(),
                policy=policy,
                start=WINDOW_END + later(48),
                end=WINDOW_START + later(48),
            )


def test_implementation_review_and_its_record(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = approved_change(database, clock, policy, awaiting)
    with database.session() as session:
        changes.schedule(session, key=key, actor=OWNER, now=clock.now(), policy=policy)
    clock.set(WINDOW_START)
    with database.session() as session:
        started = changes.start_implementation(session, key=key, actor=IMPLEMENTER, now=clock.now())
        assert (started.status, started.implementation_started_at) == ("implementing", clock.now())
    clock.advance(later(1))
    with database.session() as session:
        done = changes.complete_implementation(
            session, key=key, actor=IMPLEMENTER, now=clock.now(), note="Done"
        )
        assert (done.status, done.implemented_at) == ("review", clock.now())
        assert audit.trail(session, key=key)[-1].note == "Done"
        with pytest.raises(FieldError) as refused:
            changes.review(
                session, key=key, outcome="great", note="x", actor=OWNER, now=clock.now()
            )
        assert (refused.value.field, str(refused.value)) == (
            "outcome",
            "Choose how the change went.",
        )
        with pytest.raises(FieldError) as refused:
            changes.review(
                session, key=key, outcome="failed", note="  ", actor=OWNER, now=clock.now()
            )
        assert (refused.value.field, str(refused.value)) == (
            "note",
            "Say in a sentence how the change went.",
        )
        with pytest.raises(Forbidden):
            changes.review(
                session, key=key, outcome="failed", note="x", actor=STRANGER, now=clock.now()
            )
    clock.advance(later(24))
    with database.session() as session:
        reviewed = changes.review(
            session,
            key=key,
            outcome="successful_with_issues",
            note="  Slow failover ",
            actor=OWNER,
            now=clock.now(),
        )
        assert (reviewed.status, reviewed.review_outcome, reviewed.review_note) == (
            "closed",
            "successful_with_issues",
            "Slow failover",
        )
        assert reviewed.closed_at == clock.now()
        assert audit.trail(session, key=key)[-1].note == "Successful with issues: Slow failover"


def test_cancelling_needs_a_reason(database, clock, policy) -> None:
    key = _create(database, clock, policy)
    with database.session() as session:
        with pytest.raises(FieldError) as refused:
            changes.cancel(session, key=key, actor=OWNER, now=clock.now(), note=" ")
        assert (refused.value.field, str(refused.value)) == (
            "note",
            "Say why the change is cancelled.",
        )
        with pytest.raises(Forbidden):
            changes.cancel(session, key=key, actor=STRANGER, now=clock.now(), note="x")
        cancelled = changes.cancel(session, key=key, actor=OWNER, now=clock.now(), note=" Dup ")
        assert (cancelled.status, cancelled.closed_at) == ("cancelled", clock.now())
        assert audit.trail(session, key=key)[-1].note == "Dup"


def test_a_release_keeps_an_earlier_implementation_time(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = approved_change(database, clock, policy, awaiting)
    earlier = clock.now() - later(1)
    with database.session() as session:
        change = changes.get(session, key=key, for_update=True)
        changes.move_to_review_by_release(
            session, change=change, release_key="REL-4", actor="UMGR1", now=clock.now()
        )
        assert (change.status, change.implemented_at) == ("review", clock.now())
        row = audit.trail(session, key=key)[-1]
        assert (row.action, row.actor, row.note) == (
            "release_deployed",
            "UMGR1",
            "deployed by REL-4",
        )
    other = awaiting(risk=Risk.LOW)
    approve(database, policy, clock, other, "UAPP1", {CAB})
    with database.session() as session:
        change = changes.get(session, key=other, for_update=True)
        change.implemented_at = earlier
        changes.move_to_review_by_release(
            session, change=change, release_key="REL-4", actor="UMGR1", now=clock.now()
        )
        assert change.implemented_at == earlier


# ---- every move reads the change afresh; the freeze's exception --------------------------

CHANGE_MOVES = {
    "assess": (
        "new",
        "assessment",
        lambda s, key, now: changes.assess(s, key=key, actor=OWNER, now=now),
    ),
    "schedule": (
        "approved",
        "new",
        lambda s, key, now: changes.schedule(s, key=key, actor=OWNER, now=now, policy=Policy()),
    ),
    "start": (
        "scheduled",
        "approved",
        lambda s, key, now: changes.start_implementation(s, key=key, actor=OWNER, now=now),
    ),
    "complete": (
        "implementing",
        "scheduled",
        lambda s, key, now: changes.complete_implementation(s, key=key, actor=OWNER, now=now),
    ),
    "review": (
        "review",
        "implementing",
        lambda s, key, now: changes.review(
            s, key=key, outcome="successful", note="ok", actor=OWNER, now=now
        ),
    ),
    "cancel": (
        "approved",
        "review",
        lambda s, key, now: changes.cancel(s, key=key, actor=OWNER, now=now, note="x"),
    ),
}


@pytest.mark.parametrize("move", sorted(CHANGE_MOVES))
def test_every_move_goes_by_the_state_the_database_holds(database, clock, policy, move) -> None:
    from models.change import Change

    allowed, refused, make = CHANGE_MOVES[move]
    for held, stored, works in ((refused, allowed, True), (allowed, refused, False)):
        key = _create(database, clock, policy)
        with database.session() as session:
            change = changes.get(session, key=key)
            change.status = held
        with database.session() as session:
            # Kept referenced: the session's identity map holds its objects weakly.
            kept = changes.get(session, key=key)
            assert kept.status == held
            change_behind(session, Change, changes.parse_key(key), status=stored)
            if works:
                make(session, key, clock.now())
            else:
                with pytest.raises(NotAllowed, match=f"^{key} is "):
                    make(session, key, clock.now())


def test_scheduling_without_any_window_names_the_start(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = approved_change(database, clock, policy, awaiting)
    with database.session() as session:
        # Approval needs a window; one lost since (an edit, an import) is asked for again.
        change = changes.get(session, key=key)
        change.planned_start = change.planned_end = None
    with database.session() as session:
        with pytest.raises(FieldError) as refused:
            changes.schedule(session, key=key, actor=OWNER, now=clock.now(), policy=policy)
        assert (refused.value.field, str(refused.value)) == (
            "planned_start",
            "Give the planned start.",
        )


def test_an_emergency_change_goes_into_a_freeze_only_with_the_freeze_approval(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    from tests.changes.conftest import CHAIR, ECAB, FREEZERS

    inside = {"start": FREEZE_START + later(24), "end": FREEZE_START + later(26)}
    frozen = awaiting(
        type=ChangeType.EMERGENCY, planned_start=inside["start"], planned_end=inside["end"]
    )
    approve(database, policy, clock, frozen, "UECAB1", {ECAB})
    assert approve(database, policy, clock, frozen, "UBOTH", {CHAIR, FREEZERS}).outcome == (
        "approved"
    )
    outside = awaiting(type=ChangeType.EMERGENCY)
    assert approve(database, policy, clock, outside, "UECAB1", {ECAB}).outcome == "approved"
    with database.session() as session:
        scheduled = changes.schedule(
            session, key=frozen, actor=OWNER, now=clock.now(), policy=policy
        )
        assert scheduled.status == "scheduled"
        # Approved without the freeze approver: not into the freeze.
        with pytest.raises(NotAllowed, match=f"{outside} was not approved for the freeze"):
            changes.schedule(
                session, key=outside, actor=OWNER, now=clock.now(), policy=policy, **inside
            )
        assert changes.get(session, key=outside).status == "approved"


def test_a_title_of_exactly_the_limit_is_kept(database, clock, policy) -> None:
    key = _create(database, clock, policy, title="t" * 150)
    with database.session() as session:
        assert changes.get(session, key=key).title == "t" * 150


def test_a_repeated_submission_is_answered_before_its_fields_are_checked(
    database, clock, policy
) -> None:
    key = _create(database, clock, policy, submission_id="V7")
    # Slack delivering the same form again: the change it made, whatever the copy holds.
    assert _create(database, clock, policy, title="  ", submission_id="V7") == key


def test_the_standard_catalogue_is_listed_in_full(database, clock) -> None:
    policy = Policy.model_validate(
        {
            "changes": {
                "standard_changes": [
                    {"name": "Rotate", "description": "", "risk": "low"},
                    {"name": "Patch", "description": "", "risk": "low"},
                ]
            }
        }
    )
    with pytest.raises(FieldError, match=r"standard changes \(Rotate, Patch\); anything"):
        _create(database, clock, policy, type=ChangeType.STANDARD, standard_template="Reboot")


def test_the_list_takes_twenty_five_newest_by_creation_time(database, clock, policy) -> None:
    from models.change import Change

    keys = [_create(database, clock, policy, title=f"c{n}") for n in range(26)]
    with database.session() as session:
        # The first one logged last: creation time, not the key, orders the list.
        change_behind(
            session, Change, changes.parse_key(keys[0]), created_at=clock.now() + later(1)
        )
        listed = [c.key for c in changes.list_changes(session)]
        assert len(listed) == 25
        assert listed[:2] == [keys[0], keys[25]] and keys[1] not in listed


def test_a_freeze_on_other_targets_does_not_stop_scheduling(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    freeze = type(policy.changes.freezes[0]).model_validate(
        {
            "name": "Intranet only",
            "start": WINDOW_START - later(24),
            "end": WINDOW_END + later(24),
            "targets": ["Intranet"],
        }
    )
    targeted = policy.model_copy(
        update={"changes": policy.changes.model_copy(update={"freezes": [freeze]})}
    )
    key = awaiting(risk=Risk.LOW)
    approve(database, targeted, clock, key, "UAPP1", {CAB})
    with database.session() as session:
        assert (
            changes.schedule(session, key=key, actor=OWNER, now=clock.now(), policy=targeted).status
            == "scheduled"
        )


def test_approvals_are_listed_in_the_order_they_were_decided(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    from models.change import ChangeApproval
    from tests.changes.conftest import CHAIR

    key = awaiting(risk=Risk.HIGH)
    approve(database, policy, clock, key, "UAPP1", {CAB})
    approve(database, policy, clock, key, "UCHAIR1", {CHAIR})
    with database.session() as session:
        first, second = changes.approvals(session, key=key)
        assert [first.approver, second.approver] == ["UAPP1", "UCHAIR1"]
        # Decided the other way round (as the rows say): the list follows the decisions.
        change_behind(session, ChangeApproval, first.id, decided_at=clock.now() + later(1))
        assert [a.approver for a in changes.approvals(session, key=key)] == ["UCHAIR1", "UAPP1"]
