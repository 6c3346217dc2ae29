"""Approval rules at the service level, where the Slack flows reach them only through a click:
whether a person may decide before the Reject form opens (`may_decide`), where an approval
stands when a message is redrawn (`current_tally`), the approval requests remembered for
redrawing, and the security approver's part in the quorum."""

from __future__ import annotations

import pytest

from bot.db import Database
from models.change import ChangeStatus, ChangeType, Risk
from models.policy import Policy
from services import change_approvals, changes
from services.clock import ManualClock
from services.errors import AlreadyDone, FieldError, Forbidden, NotAllowed
from services.permissions import Actor
from tests.changes.conftest import (
    CAB,
    CHAIR,
    ECAB,
    FREEZE_START,
    FREEZERS,
    REQUESTER,
    Submit,
    approve,
    change_input,
    later,
)

SECURITY = "SSEC1"


def _may_decide(database: Database, policy: Policy, key: str, who: str, groups: set[str]):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return change_approvals.may_decide(
            session, key=key, approver=who, approver_groups=groups, policy=policy
        )


def _tally(database: Database, policy: Policy, key: str) -> change_approvals.Tally | None:
    with database.session() as session:
        change = changes.get(session, key=key)
        return change_approvals.current_tally(session, change=change, policy=policy)


def test_may_decide_lets_an_approver_in_and_names_the_change(
    database: Database, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    change = _may_decide(database, policy, key, "UAPP1", {CAB})
    assert change.key == key and change.state is ChangeStatus.AWAITING_APPROVAL
    # A person named by user id in the approver list needs no group.
    named = policy.model_copy(
        update={
            "changes": policy.changes.model_copy(
                update={
                    "approvers": policy.changes.approvers.model_copy(update={"normal": ["UNAMED"]})
                }
            )
        }
    )
    assert _may_decide(database, named, key, "UNAMED", set()).key == key


def test_may_decide_refuses_the_requester_strangers_and_a_second_decision(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    with pytest.raises(
        Forbidden,
        match=rf"because you requested {key}, so you cannot approve it; another approver must",
    ):
        _may_decide(database, policy, key, REQUESTER, {CAB})
    with pytest.raises(Forbidden, match=rf"not an approver for normal changes .* on {key}"):
        _may_decide(database, policy, key, "USTRANGER", {"SOTHER"})
    approve(database, policy, clock, key, "UAPP1", {CAB})
    with pytest.raises(AlreadyDone, match=rf"decision on {key} is already recorded"):
        _may_decide(database, policy, key, "UAPP1", {CAB})
    # Another approver's decision is not theirs: they may still decide.
    assert _may_decide(database, policy, key, "UAPP2", {CAB}).key == key


def test_may_decide_refuses_once_the_change_is_decided(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    approve(database, policy, clock, key, "UAPP1", {CAB}, decision="reject", reason="No")
    with pytest.raises(NotAllowed, match="Rejected"):
        _may_decide(database, policy, key, "UAPP2", {CAB})
    with database.session() as session:
        new = changes.create(
            session, data=change_input(), requester=REQUESTER, now=clock.now(), policy=policy
        ).key
    with pytest.raises(NotAllowed, match="New"):
        _may_decide(database, policy, new, "UAPP2", {CAB})


def test_may_decide_lets_the_freeze_approver_in_only_inside_a_freeze(
    database: Database, policy: Policy, awaiting: Submit
) -> None:
    frozen = awaiting(
        type=ChangeType.EMERGENCY,
        planned_start=FREEZE_START + later(24),
        planned_end=FREEZE_START + later(26),
    )
    assert _may_decide(database, policy, frozen, "UFREEZE", {FREEZERS}).key == frozen
    outside = awaiting(type=ChangeType.EMERGENCY)
    with pytest.raises(Forbidden, match="not an approver for emergency changes"):
        _may_decide(database, policy, outside, "UFREEZE", {FREEZERS})
    assert _may_decide(database, policy, outside, "UECAB", {ECAB}).key == outside


def test_current_tally_says_where_the_approval_stands_without_counting_anything(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting(risk=Risk.HIGH)  # two approvals, one of them the CAB chair
    before = _tally(database, policy, key)
    assert before is not None
    assert (before.outcome, before.needed_more, before.counted) == ("pending", 2, False)
    assert before.approved_by == () and before.rejected_by == ()
    approve(database, policy, clock, key, "UAPP1", {CAB})
    approve(database, policy, clock, key, "UAPP2", {CAB})
    waiting = _tally(database, policy, key)
    assert waiting is not None
    # Two approvals, but no chair among them: one more is needed, and it must be the chair.
    assert (waiting.outcome, waiting.needed_more) == ("pending", 1)
    assert waiting.approved_by == ("UAPP1", "UAPP2")
    assert waiting.change.key == key
    approve(database, policy, clock, key, "UCHAIR", {CHAIR})
    done = _tally(database, policy, key)
    assert done is not None and (done.outcome, done.needed_more) == ("approved", 0)
    assert done.approved_by == ("UAPP1", "UAPP2", "UCHAIR")


def test_current_tally_counts_rejections_and_has_none_for_a_standard_change(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting()
    approve(database, policy, clock, key, "UAPP1", {CAB}, decision="reject", reason="Too risky")
    rejected = _tally(database, policy, key)
    assert rejected is not None
    assert rejected.outcome == "rejected" and rejected.rejected_by == ("UAPP1",)
    with database.session() as session:
        standard = changes.create(
            session,
            data=change_input(type=ChangeType.STANDARD, standard_template="Rotate TLS certificate"),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        ).key
    assert _tally(database, policy, standard) is None


def test_approval_requests_are_remembered_per_change_in_the_order_posted(
    database: Database, policy: Policy, awaiting: Submit
) -> None:
    first, second = awaiting(), awaiting()
    with database.session() as session:
        change_approvals.add_approval_message(session, key=first, channel="C1", ts="1.1")
        change_approvals.add_approval_message(session, key=second, channel="C1", ts="2.1")
        change_approvals.add_approval_message(session, key=first, channel="D9", ts="1.2")
    with database.session() as session:
        assert change_approvals.approval_messages(session, key=first) == [
            ("C1", "1.1"),
            ("D9", "1.2"),
        ]
        assert change_approvals.approval_messages(session, key=second) == [("C1", "2.1")]


@pytest.fixture
def secure_policy(policy: Policy) -> Policy:
    return policy.model_copy(
        update={"changes": policy.changes.model_copy(update={"security_approvers": [SECURITY]})}
    )


def _submitted(
    database: Database, clock: ManualClock, policy: Policy, **overrides: object
) -> tuple[str, change_approvals.ApprovalRequest]:
    """A normal change (low risk unless told), assessed and submitted under `policy`."""
    with database.session() as session:
        key = changes.create(
            session,
            data=change_input(**{"risk": Risk.LOW, **overrides}),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        ).key
        changes.assess(session, key=key, actor=Actor(REQUESTER), now=clock.now())
        request = change_approvals.submit_for_approval(
            session, key=key, actor=Actor(REQUESTER), now=clock.now(), policy=policy
        )
    return key, request


def test_a_security_change_asks_the_security_approver_and_waits_for_one(
    database: Database, clock: ManualClock, secure_policy: Policy
) -> None:
    policy = secure_policy
    key, request = _submitted(database, clock, policy, security=True)
    assert request.ask == (CAB, CHAIR, SECURITY)
    # The security approver may decide although not in the CAB; their approval says so.
    assert _may_decide(database, policy, key, "UCISO", {SECURITY}).key == key
    first = approve(database, policy, clock, key, "UAPP1", {CAB})
    assert (first.outcome, first.needed_more) == ("pending", 1)
    second = approve(database, policy, clock, key, "UCISO", {SECURITY})
    assert second.outcome == "approved"
    with database.session() as session:
        rows = {row.approver: row.roles for row in changes.approvals(session, key=key)}
    assert rows == {"UAPP1": "", "UCISO": "security"}


def test_an_ordinary_change_does_not_ask_the_security_approver(
    database: Database, clock: ManualClock, secure_policy: Policy
) -> None:
    policy = secure_policy
    key, request = _submitted(database, clock, policy)
    assert SECURITY not in request.ask
    with pytest.raises(Forbidden, match="not an approver"):
        _may_decide(database, policy, key, "UCISO", {SECURITY})


def test_a_decision_on_another_change_does_not_count_for_this_one(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    first, second = awaiting(), awaiting()
    approve(database, policy, clock, first, "UAPP1", {CAB})
    assert _may_decide(database, policy, second, "UAPP1", {CAB}).key == second
    # The refusal names the change it is about.
    approve(database, policy, clock, second, "UAPP1", {CAB}, decision="reject", reason="No")
    with pytest.raises(NotAllowed, match=rf"{second} is Rejected, so it cannot be"):
        _may_decide(database, policy, second, "UAPP2", {CAB})


def test_a_freeze_on_the_changes_target_asks_its_freeze_approver(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    # A freeze on payments only: an emergency change on payments inside it needs the freeze
    # approver (and lets them decide); the same window on another target does not.
    freeze = {"name": "Payments", "start": FREEZE_START - later(48), "end": FREEZE_START}
    targeted = policy.model_copy(
        update={
            "changes": policy.changes.model_copy(
                update={
                    "freezes": [
                        type(policy.changes.freezes[0]).model_validate(
                            {**freeze, "targets": ["Payments"]}
                        )
                    ]
                }
            )
        }
    )
    window = {"planned_start": FREEZE_START - later(24), "planned_end": FREEZE_START - later(23)}
    with database.session() as session:
        key = changes.create(
            session,
            data=change_input(type=ChangeType.EMERGENCY, **window),
            requester=REQUESTER,
            now=clock.now(),
            policy=targeted,
        ).key
        request = change_approvals.submit_for_approval(
            session, key=key, actor=Actor(REQUESTER), now=clock.now(), policy=targeted
        )
    assert request.freeze == "Payments" and request.quorum == 2
    assert _may_decide(database, targeted, key, "UFREEZE", {FREEZERS}).key == key
    tally = _tally(database, targeted, key)
    assert tally is not None and tally.needed_more == 2
    approve(database, targeted, clock, key, "UECAB", {ECAB})
    pending = _tally(database, targeted, key)
    assert pending is not None and (pending.outcome, pending.needed_more) == ("pending", 1)
    with database.session() as session:
        other = changes.create(
            session,
            data=change_input(type=ChangeType.EMERGENCY, targets=["wiki"], **window),
            requester=REQUESTER,
            now=clock.now(),
            policy=targeted,
        ).key
        change_approvals.submit_for_approval(
            session, key=other, actor=Actor(REQUESTER), now=clock.now(), policy=targeted
        )
    with pytest.raises(Forbidden, match="not an approver for emergency changes"):
        _may_decide(database, targeted, other, "UFREEZE", {FREEZERS})
    elsewhere = _tally(database, targeted, other)
    assert elsewhere is not None and elsewhere.needed_more == 1


def test_a_repeat_after_the_outcome_returns_the_tally_uncounted(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    approved = awaiting()
    approve(database, policy, clock, approved, "UAPP1", {CAB})
    approve(database, policy, clock, approved, "UAPP2", {CAB})
    again = approve(database, policy, clock, approved, "UAPP1", {CAB})
    assert (again.outcome, again.counted, again.approved_by) == (
        "approved",
        False,
        ("UAPP1", "UAPP2"),
    )
    rejected = awaiting()
    approve(database, policy, clock, rejected, "UAPP1", {CAB}, decision="reject", reason="No")
    again = approve(
        database, policy, clock, rejected, "UAPP1", {CAB}, decision="reject", reason="x"
    )
    assert (again.outcome, again.counted, again.rejected_by) == ("rejected", False, ("UAPP1",))
    # The same person on another change is a new decision.
    other = awaiting()
    counted = approve(database, policy, clock, other, "UAPP1", {CAB})
    assert counted.counted and counted.approved_by == ("UAPP1",)


def test_without_reject_on_first_rejections_reaching_the_quorum_reject(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    lenient = policy.model_copy(
        update={"changes": policy.changes.model_copy(update={"reject_on_first": False})}
    )
    key = awaiting()  # normal, medium: a quorum of two
    first = approve(database, lenient, clock, key, "UAPP1", {CAB}, decision="reject", reason="a")
    assert first.outcome == "pending"
    second = approve(database, lenient, clock, key, "UAPP2", {CAB}, decision="reject", reason="b")
    assert second.outcome == "rejected"
    with database.session() as session:
        assert changes.get(session, key=key).state is ChangeStatus.REJECTED


def test_one_person_in_two_roles_counts_for_both(
    database: Database, clock: ManualClock, secure_policy: Policy
) -> None:
    # Normal, high risk, touching security: two approvals, one a chair, one a security approver.
    key, _ = _submitted(database, clock, secure_policy, security=True, risk=Risk.HIGH)
    both = approve(database, secure_policy, clock, key, "UBOTH", {CHAIR, SECURITY})
    assert both.needed_more == 1
    done = approve(database, secure_policy, clock, key, "UAPP1", {CAB})
    assert done.outcome == "approved"
    with database.session() as session:
        roles = {row.approver: row.roles for row in changes.approvals(session, key=key)}
    assert roles == {"UBOTH": "chair,security", "UAPP1": ""}


def test_a_freeze_approver_who_chairs_counts_as_the_freeze_approval(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = awaiting(
        type=ChangeType.EMERGENCY,
        planned_start=FREEZE_START + later(24),
        planned_end=FREEZE_START + later(26),
    )
    approve(database, policy, clock, key, "UECAB1", {ECAB})
    done = approve(database, policy, clock, key, "UBOTH", {CHAIR, FREEZERS})
    assert done.outcome == "approved"


def test_two_chairs_needed_means_two(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    table = policy.changes.quorum.model_copy(
        update={"normal_high": type(policy.changes.quorum.normal_high)(approvals=2, chair=2)}
    )
    strict = policy.model_copy(
        update={"changes": policy.changes.model_copy(update={"quorum": table})}
    )
    key = awaiting(risk=Risk.HIGH)
    one = approve(database, strict, clock, key, "UCHAIR1", {CHAIR})
    assert (one.outcome, one.needed_more) == ("pending", 1)
    two = approve(database, strict, clock, key, "UCHAIR2", {CHAIR})
    assert two.outcome == "approved"


def test_submitting_and_deciding_say_what_is_wrong_and_where(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    with database.session() as session:
        new = changes.create(
            session, data=change_input(), requester=REQUESTER, now=clock.now(), policy=policy
        ).key
        with pytest.raises(
            NotAllowed, match=rf"^{new} is a normal change: assess it before asking for approval\.$"
        ):
            change_approvals.submit_for_approval(
                session, key=new, actor=Actor(REQUESTER), now=clock.now(), policy=policy
            )
        with pytest.raises(Forbidden):
            change_approvals.submit_for_approval(
                session, key=new, actor=Actor("USTRANGER"), now=clock.now(), policy=policy
            )
        open_ended = changes.create(
            session,
            data=change_input(planned_start=None, planned_end=None),
            requester=REQUESTER,
            now=clock.now(),
            policy=policy,
        ).key
        changes.assess(session, key=open_ended, actor=Actor(REQUESTER), now=clock.now())
        with pytest.raises(FieldError) as window:
            change_approvals.submit_for_approval(
                session, key=open_ended, actor=Actor(REQUESTER), now=clock.now(), policy=policy
            )
    assert window.value.field == "planned_start"
    assert str(window.value) == "Give the planned window before asking for approval."
    key = awaiting()
    with pytest.raises(FieldError) as choice:
        approve(database, policy, clock, key, "UAPP1", {CAB}, decision="maybe")
    assert (choice.value.field, str(choice.value)) == ("decision", "Choose approve or reject.")
    with pytest.raises(FieldError) as why:
        approve(database, policy, clock, key, "UAPP1", {CAB}, decision="reject", reason="  ")
    assert (why.value.field, str(why.value)) == (
        "reason",
        "Say why you reject the change; the requester will see it.",
    )
    approve(database, policy, clock, key, "UAPP1", {CAB}, reason="  Looks fine ")
    with database.session() as session:
        [row] = changes.approvals(session, key=key)
    assert row.reason == "Looks fine"


def test_approvers_named_by_user_id_take_their_roles(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    by_id = policy.model_copy(
        update={
            "changes": policy.changes.model_copy(
                update={
                    "cab_chair": ["UCHAIRID"],
                    "freeze_approvers": ["UFREEZEID"],
                    "security_approvers": ["USECID"],
                }
            )
        }
    )
    frozen = awaiting(
        type=ChangeType.EMERGENCY,
        planned_start=FREEZE_START + later(24),
        planned_end=FREEZE_START + later(26),
    )
    assert _may_decide(database, by_id, frozen, "UFREEZEID", set()).key == frozen
    approve(database, by_id, clock, frozen, "UFREEZEID", set())
    key, _ = _submitted(database, clock, by_id, security=True, risk=Risk.HIGH)
    assert _may_decide(database, by_id, key, "USECID", set()).key == key
    approve(database, by_id, clock, key, "USECID", set())
    approve(database, by_id, clock, key, "UCHAIRID", set())
    with database.session() as session:
        roles = {row.approver: row.roles for row in changes.approvals(session, key=key)}
        frozen_roles = {row.approver: row.roles for row in changes.approvals(session, key=frozen)}
    assert roles == {"USECID": "security", "UCHAIRID": "chair"}
    assert frozen_roles == {"UFREEZEID": "freeze"}


def test_each_decision_and_the_outcome_are_in_the_changes_audit_trail(
    database: Database, clock: ManualClock, secure_policy: Policy, awaiting: Submit
) -> None:
    from services.audit import trail

    key, _ = _submitted(database, clock, secure_policy, security=True, risk=Risk.HIGH)
    approve(database, secure_policy, clock, key, "UBOTH", {CHAIR, SECURITY}, reason="Looks safe")
    approve(database, secure_policy, clock, key, "UAPP1", {CAB})
    with pytest.raises(NotAllowed, match=f"^{key} is Approved, so it cannot be"):
        approve(database, secure_policy, clock, key, "UAPP2", {CAB})
    rejected = awaiting()
    approve(
        database, secure_policy, clock, rejected, "UAPP1", {CAB}, decision="reject", reason="No"
    )
    with database.session() as session:
        rows = [
            (e.actor, e.action, e.field, e.to_value, e.note)
            for change in (key, rejected)
            for e in trail(session, key=change)
            if e.actor != REQUESTER
        ]
    assert rows == [
        ("UBOTH", "approved", "approval", "approve", "Looks safe; as chair and security"),
        ("UAPP1", "approved", "approval", "approve", None),
        ("UAPP1", "approve", "status", "approved", "quorum reached"),
        ("UAPP1", "rejected", "approval", "reject", "No"),
        ("UAPP1", "reject", "status", "rejected", "No"),
    ]
