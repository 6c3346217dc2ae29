"""No dead ends: in every record kind's lifecycle, every state that is not final offers a move
to another state that someone is allowed to make. Derived from the lifecycle tables and the
status enums, and checked against each kind's real permission check, so adding a state
without a way out (or a way out nobody may take) fails here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Any

import pytest

from models.change import Change, ChangeStatus
from models.improvement import (
    AuditStatus,
    Improvement,
    ImprovementStatus,
    InternalAudit,
    NcStatus,
    Nonconformity,
)
from models.incident import Incident, IncidentStatus
from models.major_incident import PostIncidentReview, ReviewStatus
from models.policy import Policy
from models.problem import Problem, ProblemStatus
from models.relationship import Complaint, ComplaintStatus
from models.release import Release, ReleaseStatus
from models.service_request import RequestStatus, ServiceRequest
from services import (
    audits,
    changes,
    complaints,
    improvements,
    incidents,
    nonconformities,
    problems,
    releases,
    requests,
    reviews,
)
from services.errors import Forbidden
from services.lifecycle import Lifecycle
from services.permissions import Actor, Role

AGENT = Actor("U0AGENT", frozenset({Role.AGENT}))
PERSON = "U0PERSON"


def _request_check(record: Any, action: str, actor: Actor) -> None:
    # Requests are worked by the fulfilment team or agents; there is no one check_step.
    requests.check_fulfiller(
        record, actor=actor, policy=Policy(), members_of=lambda ref: frozenset()
    )
    requests.LIFECYCLE.check(action, record.status, key=record.key)


# kind: (its status enum, its lifecycle, a record in a state, who may take an action on it)
KINDS: dict[str, tuple[type[StrEnum], Lifecycle, Callable[[str], Any], Callable[..., None]]] = {
    "incident": (
        IncidentStatus,
        incidents.LIFECYCLE,
        lambda state: Incident(id=1, status=state, reporter=PERSON, assignee=PERSON),
        incidents.check_step,
    ),
    "request": (
        RequestStatus,
        requests.LIFECYCLE,
        lambda state: ServiceRequest(
            id=1, status=state, requester=PERSON, fulfilment_team="platform"
        ),
        _request_check,
    ),
    "problem": (
        ProblemStatus,
        problems.LIFECYCLE,
        lambda state: Problem(id=1, status=state, created_by=PERSON),
        problems.check_step,
    ),
    "change": (
        ChangeStatus,
        changes.LIFECYCLE,
        lambda state: Change(id=1, status=state, requester=PERSON, implementer=PERSON),
        changes.check_step,
    ),
    "release": (
        ReleaseStatus,
        releases.LIFECYCLE,
        lambda state: Release(id=1, status=state, release_manager=PERSON, created_by=PERSON),
        releases.check_step,
    ),
    "complaint": (
        ComplaintStatus,
        complaints.LIFECYCLE,
        lambda state: Complaint(id=1, status=state, complainant=PERSON, owner=PERSON),
        complaints.KIND.check_step,
    ),
    "nonconformity": (
        NcStatus,
        nonconformities.LIFECYCLE,
        lambda state: Nonconformity(id=1, status=state, owner=PERSON, created_by=PERSON),
        nonconformities.check_step,
    ),
    "improvement": (
        ImprovementStatus,
        improvements.LIFECYCLE,
        lambda state: Improvement(
            id=1, status=state, process="change", evaluator=PERSON, owner=PERSON, created_by=PERSON
        ),
        improvements.check_step,
    ),
    "internal audit": (
        AuditStatus,
        audits.LIFECYCLE,
        lambda state: InternalAudit(id=1, status=state, auditor=PERSON, created_by=PERSON),
        audits.check_step,
    ),
}


# Post-incident reviews (issue 13): the owner or an agent closes one.
KINDS["review"] = (
    ReviewStatus,
    reviews.LIFECYCLE,
    lambda state: PostIncidentReview(id=1, status=state, owner=PERSON, incident_key="INC-1"),
    reviews.KIND.check_step,
)


# Management reviews (issue 14): the owner (or an admin) records one; an admin cancels.
def _management_review(state: str) -> Any:
    from models.management_review import ManagementReview

    return ManagementReview(id=1, status=state, owner=PERSON, planned_on=date(2026, 12, 1))


def _management_review_kind() -> tuple[Any, ...]:
    from models.management_review import ReviewStatus as ManagementReviewStatus
    from services import management_reviews

    return (
        ManagementReviewStatus,
        management_reviews.LIFECYCLE,
        _management_review,
        management_reviews.check_step,
    )


KINDS["management review"] = _management_review_kind()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_state_that_is_not_final_has_a_way_forward(kind: str) -> None:
    statuses, lifecycle, record_in, check = KINDS[kind]
    assert lifecycle.final, f"the {kind} lifecycle names no final state"
    assert lifecycle.final <= {s.value for s in statuses}
    stuck = []
    for state in statuses:
        if state.value in lifecycle.final:
            continue
        allowed = []
        for action in lifecycle.ways_forward(state.value):
            # Someone may take it: an agent, or the person the record names (requester,
            # assignee, release manager…), passes the kind's own permission check.
            for actor in (AGENT, Actor(PERSON)):
                try:
                    check(record_in(state.value), action, actor)
                except Forbidden:
                    continue
                allowed.append(action)
                break
        if not allowed:
            stuck.append(state.value)
    assert stuck == [], f"{kind} states with no way forward: {stuck}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_final_states_are_final(kind: str) -> None:
    _, lifecycle, _, _ = KINDS[kind]
    for state in lifecycle.final:
        assert lifecycle.ways_forward(state) == [], f"{kind} {state} is final but can move"


def test_a_dead_end_state_would_be_found() -> None:
    # The check itself: a lifecycle with a state nobody leaves is reported.
    lifecycle = Lifecycle(
        "thing",
        {"go": (["a"], "b")},
        label=str,
        action_label={},
        final=["c"],
    )
    assert lifecycle.ways_forward("a") == ["go"]
    assert lifecycle.ways_forward("b") == []
