"""Records for the permission matrix's complaint and survey rows (tests/handlers/
test_permission_matrix.py), made through the services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services import complaints, surveys
from services.permissions import Actor
from tests.relationships.conftest import resolved_incident

REPORTER = "U0REPORTER"


def complaint(w: Any, state: str = "new") -> str:
    with w.db.session() as s:
        found = complaints.raise_complaint(
            s,
            summary="Refund took a month",
            description="",
            service="payments",
            actor=Actor(REPORTER),
            now=w.now(),
            policy=w.policy,
        )
        key = found.key
        kw = {"key": key, "actor": w.agent, "now": w.now(), "policy": w.policy}
        if state in ("investigating", "responded"):
            complaints.investigate(s, **kw)
        if state == "responded":
            complaints.respond(s, response="Refunded", **kw)
    return key


def survey(w: Any, score: int | None = None) -> str:
    """A survey sent to REPORTER about a resolved incident (a day on, past the min interval),
    answered with `score` when given."""
    w.clock.advance(timedelta(days=2))
    key = resolved_incident(w.db, w.clock, w.policy, reporter=REPORTER)
    with w.db.session() as s:
        assert surveys.sweep(s, now=w.now(), policy=w.policy) == [key]
    if score is not None:
        with w.db.session() as s:
            surveys.answer(
                s, record_key=key, score=score, actor=Actor(REPORTER), now=w.now(), policy=w.policy
            )
    return key


def review_action(w: Any) -> str:
    """A review of the Retail customer recorded by its owner, with one open action."""
    from datetime import date

    from models.relationship import PartyKind
    from services import relationship_reviews as reviews

    with w.db.session() as s:
        reviews.record_review(
            s,
            kind=PartyKind.CUSTOMER,
            name="Retail",
            reviewed_on=w.now().date(),
            attendees=[],
            outcome="Fine",
            actions=[reviews.AgreedAction("Publish refund times", "U0LEAD", date(2027, 1, 5))],
            actor=Actor("U0OWNER"),
            now=w.now(),
            policy=w.policy,
        )
        found = reviews.open_actions(s, kind=PartyKind.CUSTOMER, name="Retail")
    return str(found[-1].id)


def retail(w: Any) -> str:
    from models.relationship import PartyKind
    from services.relationship_reviews import PartyRef

    return PartyRef(kind=PartyKind.CUSTOMER, name="Retail").dump()
