"""Catalog requests through approval and fulfilment, against a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models.policy import Policy
from models.service_request import RequestApproval
from services import audit, requests
from services.errors import AlreadyDone, Forbidden, InvalidInput, NotAllowed
from services.permissions import Actor, Role


def APPROVERS(ref: str) -> frozenset[str]:  # noqa: N802 - stands in for Directory.members
    """The approver group's members, as the directory would read them from Slack."""
    return frozenset({"U0BOSS", "U0BOSS2"}) if ref == "S0APPROVERS" else frozenset({ref})


POLICY = Policy.model_validate(
    {
        "catalog": {
            "items": [
                {
                    "id": "laptop",
                    "name": "New laptop",
                    "fields": [
                        {
                            "name": "model",
                            "label": "Model",
                            "kind": "select",
                            "options": ["13-inch", "16-inch"],
                            "required": True,
                        },
                        {"name": "needed_by", "label": "Needed by", "kind": "date"},
                    ],
                    "approval": "S0APPROVERS",
                    "fulfilment_team": "it",
                    "fulfilment_target": "2d",
                },
                {
                    "id": "access",
                    "name": "Access",
                    "fields": [
                        {"name": "manager", "label": "Manager", "kind": "user", "required": True}
                    ],
                    "approval": "manager:manager",
                    "fulfilment_team": "it",
                },
            ]
        }
    }
)
FULFILMENT = {"policy": POLICY, "members_of": APPROVERS}


def test_request_with_group_approval_goes_through_to_fulfilment(database, clock):
    with database.session() as session:
        with pytest.raises(InvalidInput, match="Model"):
            requests.submit(
                session,
                item_id="laptop",
                answers={"model": "17-inch"},
                requester="U0REQ",
                now=clock.now(),
                policy=POLICY,
            )
        notify, created = requests.submit(
            session,
            item_id="laptop",
            answers={"model": "16-inch"},
            requester="U0REQ",
            now=clock.now(),
            policy=POLICY,
            submission_id="V1",
        )
        again, created_again = requests.submit(
            session,
            item_id="laptop",
            answers={"model": "16-inch"},
            requester="U0REQ",
            now=clock.now(),
            policy=POLICY,
            submission_id="V1",
        )
        assert created and not created_again and again.request.id == notify.request.id
        assert notify.request.status == "awaiting_approval"
        assert notify.approvers == ("S0APPROVERS",)
        key = notify.request.key
    clock.advance(timedelta(hours=5))
    with database.session() as session:
        with pytest.raises(
            Forbidden, match=r"Refused, because you cannot approve your own request\."
        ):
            requests.decide(
                session,
                key=key,
                approver="U0REQ",
                members_of=APPROVERS,
                approve=True,
                now=clock.now(),
            )
        with pytest.raises(
            Forbidden,
            match=r"Refused, because only members of <!subteam\^S0APPROVERS> can decide on REQ-1",
        ):
            requests.decide(
                session,
                key=key,
                approver="U0OTHER",
                members_of=APPROVERS,
                approve=True,
                now=clock.now(),
            )
        decided = requests.decide(
            session,
            key=key,
            approver="U0BOSS",
            members_of=APPROVERS,
            approve=True,
            now=clock.now(),
        )
        assert decided.team == "it" and decided.dm == ("U0REQ",)
    with database.session() as session:
        with pytest.raises(AlreadyDone, match=r"You already decided on REQ-1\."):
            requests.decide(
                session,
                key=key,
                approver="U0BOSS",
                members_of=APPROVERS,
                approve=True,
                now=clock.now(),
            )
        with pytest.raises(
            NotAllowed, match=r"REQ-1 is Approved, so it cannot be approved or rejected now"
        ):
            requests.decide(
                session,
                key=key,
                approver="U0BOSS2",
                members_of=APPROVERS,
                approve=False,
                reason="no",
                now=clock.now(),
            )
        assert len(list(session.exec(select(RequestApproval)))) == 1
        requests.start_fulfilment(
            session,
            key=key,
            actor=Actor("U0IT", frozenset({Role.AGENT})),
            now=clock.now(),
            **FULFILMENT,
        )
        requests.fulfil(
            session,
            key=key,
            note="Shipped",
            actor=Actor("U0IT", frozenset({Role.AGENT})),
            now=clock.now(),
            **FULFILMENT,
        )
        request = requests.close(
            session,
            key=key,
            actor=Actor("U0IT", frozenset({Role.AGENT})),
            now=clock.now(),
            **FULFILMENT,
        ).request
        assert request.status == "closed"
        start, target, pauses = requests.sla_inputs(request)
        assert target == timedelta(days=2)
        assert pauses == [(start, start + timedelta(hours=5))]
        actions = [e.action for e in audit.trail(session, key=key)]
        assert actions == ["created", "approved", "start", "fulfil", "close"]


def test_manager_approval_rejection_needs_a_reason(database, clock):
    with database.session() as session:
        with pytest.raises(InvalidInput, match="Manager"):
            requests.submit(
                session,
                item_id="access",
                answers={},
                requester="U0REQ",
                now=clock.now(),
                policy=POLICY,
            )
        notify, _ = requests.submit(
            session,
            item_id="access",
            answers={"manager": "U0MGR"},
            requester="U0REQ",
            now=clock.now(),
            policy=POLICY,
        )
        key = notify.request.key
        assert notify.approvers == ("U0MGR",)
        with pytest.raises(
            Forbidden, match=r"Refused, because only <@U0MGR> can decide on REQ-1\."
        ):
            requests.decide(
                session,
                key=key,
                approver="U0ELSE",
                members_of=APPROVERS,
                approve=True,
                now=clock.now(),
            )
        with pytest.raises(
            InvalidInput, match=r"Say why the request is rejected; the requester will see it\."
        ):
            requests.decide(
                session,
                key=key,
                approver="U0MGR",
                members_of=APPROVERS,
                approve=False,
                now=clock.now(),
            )
        rejected = requests.decide(
            session,
            key=key,
            approver="U0MGR",
            members_of=APPROVERS,
            approve=False,
            reason="Not needed",
            now=clock.now(),
        )
        assert rejected.request.status == "rejected" and rejected.team is None
