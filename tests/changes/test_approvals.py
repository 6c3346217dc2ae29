"""Approving changes: quorum, who may decide, repeats, concurrency, rejection, freezes, audit."""

from __future__ import annotations

import threading

import pytest

from bot.db import Database
from models.change import ChangeStatus, ChangeType, Risk
from models.policy import Policy
from services import audit, change_approvals, changes
from services.clock import ManualClock
from services.errors import FieldError, Forbidden, NotAllowed
from tests.changes.conftest import (
    CAB,
    CHAIR,
    ECAB,
    FREEZE_START,
    FREEZERS,
    REQUESTER,
    Submit,
    approve,
    later,
)


def _status(database: Database, key: str) -> ChangeStatus:
    with database.session() as session:
        return changes.get(session, key=key).state


def test_submission_says_whom_to_ask_and_the_quorum(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    from services.permissions import Actor
    from tests.changes.conftest import change_input

    with database.session() as session:
        change = changes.create(
            session,
            data=change_input(risk=Risk.HIGH),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        )
        changes.assess(session, key=change.key, actor=Actor(REQUESTER), now=clock.now())
        request = change_approvals.submit_for_approval(
            session, key=change.key, actor=Actor(REQUESTER), now=clock.now(), policy=policy
        )
    assert request.ask == (CAB, CHAIR)
    assert request.quorum == 2
    assert request.chairs_needed == 1
    assert request.freeze is None
    assert request.change.state is ChangeStatus.AWAITING_APPROVAL


def test_normal_medium_change_needs_two_approvers(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    first = approve(database, policy, clock, key, "UAPP1", {CAB})
    assert first.outcome == "pending"
    assert first.needed_more == 1
    assert _status(database, key) is ChangeStatus.AWAITING_APPROVAL
    clock.advance(minutes=5)
    second = approve(database, policy, clock, key, "UAPP2", {CAB})
    assert second.outcome == "approved"
    assert second.approved_by == ("UAPP1", "UAPP2")
    assert second.needed_more == 0
    assert _status(database, key) is ChangeStatus.APPROVED


def test_normal_high_change_needs_a_cab_chair(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting(risk=Risk.HIGH)
    approve(database, policy, clock, key, "UAPP1", {CAB})
    tally = approve(database, policy, clock, key, "UAPP2", {CAB})
    assert tally.outcome == "pending"
    assert tally.needed_more == 1
    tally = approve(database, policy, clock, key, "UCHAIR", {CHAIR})
    assert tally.outcome == "approved"


def test_requester_cannot_approve_own_change(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    with pytest.raises(Forbidden, match="requested"):
        approve(database, policy, clock, key, REQUESTER, {CAB})
    with database.session() as session:
        assert changes.approvals(session, key=key) == []


def test_non_approver_is_refused(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    with pytest.raises(Forbidden, match="not an approver for normal changes"):
        approve(database, policy, clock, key, "UOTHER", {"SSOMETHING"})
    # Emergency approvers are not normal approvers.
    with pytest.raises(Forbidden, match=r"not an approver for normal changes"):
        approve(database, policy, clock, key, "UECAB", {ECAB})


def test_an_approver_named_by_user_id_may_decide(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    named = policy.model_copy(
        update={
            "changes": policy.changes.model_copy(
                update={
                    "approvers": policy.changes.approvers.model_copy(update={"normal": ["UNAMED1"]})
                }
            )
        }
    )
    key = awaiting(risk=Risk.LOW)
    tally = approve(database, named, clock, key, "UNAMED1", set())
    assert tally.outcome == "approved"


def test_same_approver_twice_counts_once(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    first = approve(database, policy, clock, key, "UAPP1", {CAB})
    second = approve(database, policy, clock, key, "UAPP1", {CAB})
    assert first.counted and not second.counted
    assert second.approved_by == ("UAPP1",)
    assert second.needed_more == 1
    with database.session() as session:
        assert len(changes.approvals(session, key=key)) == 1
    assert _status(database, key) is ChangeStatus.AWAITING_APPROVAL


def _race(
    target_args: list[tuple[str, set[str]]],
    database: Database,
    policy: Policy,
    clock: ManualClock,
    key: str,
) -> list[change_approvals.Tally | BaseException]:
    barrier = threading.Barrier(len(target_args))
    results: list[change_approvals.Tally | BaseException] = [None] * len(target_args)  # type: ignore[list-item]

    def click(index: int, approver: str, groups: set[str]) -> None:
        barrier.wait()
        try:
            results[index] = approve(database, policy, clock, key, approver, groups)
        except BaseException as error:  # noqa: BLE001  (reported by the test)
            results[index] = error

    threads = [
        threading.Thread(target=click, args=(i, approver, groups))
        for i, (approver, groups) in enumerate(target_args)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_approvers_at_once_both_count(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    results = _race([("UAPP1", {CAB}), ("UAPP2", {CAB})], database, policy, clock, key)
    assert all(isinstance(r, change_approvals.Tally) for r in results), results
    outcomes = sorted(r.outcome for r in results)  # type: ignore[union-attr]
    assert outcomes == ["approved", "pending"]
    with database.session() as session:
        assert {a.approver for a in changes.approvals(session, key=key)} == {"UAPP1", "UAPP2"}
        assert changes.get(session, key=key).state is ChangeStatus.APPROVED
        approved_moves = [e for e in audit.trail(session, key=key) if e.action == "approve"]
        assert len(approved_moves) == 1


def test_one_approver_clicking_twice_at_once_counts_once(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    results = _race([("UAPP1", {CAB}), ("UAPP1", {CAB})], database, policy, clock, key)
    assert all(isinstance(r, change_approvals.Tally) for r in results), results
    assert sorted(r.counted for r in results) == [False, True]  # type: ignore[union-attr]
    with database.session() as session:
        assert len(changes.approvals(session, key=key)) == 1
        assert changes.get(session, key=key).state is ChangeStatus.AWAITING_APPROVAL


def test_reject_needs_a_reason_and_one_rejection_rejects(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    approve(database, policy, clock, key, "UAPP1", {CAB})
    with pytest.raises(FieldError) as refused:
        approve(database, policy, clock, key, "UAPP2", {CAB}, decision="reject", reason="  ")
    assert refused.value.field == "reason"
    tally = approve(
        database, policy, clock, key, "UAPP2", {CAB}, decision="reject", reason="No rollback test"
    )
    assert tally.outcome == "rejected"
    assert tally.rejected_by == ("UAPP2",)
    assert _status(database, key) is ChangeStatus.REJECTED
    with pytest.raises(NotAllowed, match="Rejected"):
        approve(database, policy, clock, key, "UAPP3", {CAB})


def test_without_reject_on_first_one_rejection_does_not_reject(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    lenient = policy.model_copy(
        update={"changes": policy.changes.model_copy(update={"reject_on_first": False})}
    )
    key = awaiting()
    tally = approve(
        database, lenient, clock, key, "UAPP1", {CAB}, decision="reject", reason="Not convinced"
    )
    assert tally.outcome == "pending"
    assert _status(database, key) is ChangeStatus.AWAITING_APPROVAL


def test_deciding_when_not_awaiting_approval_is_refused(
    database: Database, clock: ManualClock, policy: Policy
) -> None:
    from tests.changes.conftest import change_input

    with database.session() as session:
        key = changes.create(
            session, data=change_input(), requester=REQUESTER, now=clock.now(), policy=policy
        ).key
    with pytest.raises(NotAllowed, match="New"):
        approve(database, policy, clock, key, "UAPP1", {CAB})


def test_emergency_change_in_a_freeze_needs_a_freeze_approver(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting(
        type=ChangeType.EMERGENCY,
        planned_start=FREEZE_START + later(24),
        planned_end=FREEZE_START + later(26),
    )
    tally = approve(database, policy, clock, key, "UECAB1", {ECAB})
    assert tally.outcome == "pending"
    assert tally.needed_more == 1
    # Another emergency CAB member is not the freeze approval the quorum is waiting for.
    tally = approve(database, policy, clock, key, "UECAB2", {ECAB})
    assert tally.outcome == "pending"
    assert tally.needed_more == 1
    tally = approve(database, policy, clock, key, "UFREEZE", {FREEZERS})
    assert tally.outcome == "approved"
    assert _status(database, key) is ChangeStatus.APPROVED


def test_emergency_change_outside_a_freeze_needs_one_emergency_approval(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting(type=ChangeType.EMERGENCY, risk=Risk.HIGH)
    with pytest.raises(Forbidden, match=r"not an approver for emergency changes"):
        approve(database, policy, clock, key, "UFREEZE", {FREEZERS})
    tally = approve(database, policy, clock, key, "UECAB1", {ECAB})
    assert tally.outcome == "approved"


def test_every_decision_is_in_the_audit_trail(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting(risk=Risk.HIGH)
    decided_at = clock.advance(minutes=10)
    approve(database, policy, clock, key, "UCHAIR", {CHAIR, CAB})
    clock.advance(minutes=10)
    approve(database, policy, clock, key, "UAPP2", {CAB}, decision="reject", reason="Too risky")
    with database.session() as session:
        decisions = [
            (e.actor, e.at, e.action, e.to_value, e.note)
            for e in audit.trail(session, key=key)
            if e.field == "approval"
        ]
        moves = [e.action for e in audit.trail(session, key=key) if e.field == "status"]
    assert decisions == [
        ("UCHAIR", decided_at, "approved", "approve", "as chair"),
        ("UAPP2", decided_at + later(10 / 60), "rejected", "reject", "Too risky"),
    ]
    assert moves == ["created", "assess", "submit", "reject"]
