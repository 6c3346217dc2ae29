"""Hostile arguments for the complaint, satisfaction and supplier renderers, for the escaping
walk in tests/handlers/test_render_escaping.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from models.relationship import (
    Complaint,
    ComplaintStatus,
    PartyKind,
    RelationshipReview,
    ReviewAction,
)
from models.relationship_policy import Customer, Supplier
from services.mrkdwn import mention
from services.suppliers import Performance, Wait
from services.surveys import Csat
from tests.handlers.hostile import HOSTILE

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def complaints(hostile: Callable[..., Any]) -> list[Complaint]:
    return [
        hostile(Complaint, id=3, status=status.value, from_record=HOSTILE)
        for status in ComplaintStatus
    ]


def suppliers() -> list[Supplier]:
    return [
        Supplier.model_construct(
            name=HOSTILE,
            contact=HOSTILE,
            services=[HOSTILE],
            items=[HOSTILE],
            contract=HOSTILE,
            response_target=timedelta(hours=4),
            resolution_target=None,
            contract_end=date(2027, 3, 31),
            owner="U0EVIL><!channel",
            contract_reminders=[90],
        )
    ]


def customers() -> list[Customer]:
    return [
        Customer.model_construct(
            name=HOSTILE,
            services=[HOSTILE],
            agreements=[HOSTILE],
            contact="S0EVIL><!channel",
            owner="U0EVIL><!channel",
            review_every="quarterly",
            next_review=None,
            review_reminders=[14],
        )
    ]


def factories(hostile: Callable[..., Any]) -> dict[Any, Callable[[], list[Any]]]:
    return {
        Complaint: lambda: complaints(hostile),
        Supplier: suppliers,
        Csat: lambda: [
            Csat(3, 2, 4.5, {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}, [(HOSTILE, 2, HOSTILE)]),
            Csat(0, 0, None, {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}, []),
        ],
        Customer: customers,
        PartyKind: lambda: list(PartyKind),
        date: lambda: [date(2027, 1, 15)],
        RelationshipReview: lambda: [
            hostile(
                RelationshipReview,
                id=1,
                reviewed_on=date(2026, 11, 20),
                next_review=date(2027, 2, 20),
                attendees='["U0EVIL><!channel", "U0LEAD"]',
            )
        ],
        ReviewAction: lambda: [
            hostile(ReviewAction, id=2, review_id=1, due_on=date(2026, 12, 1), done_by="U0LEAD")
        ],
        Wait: lambda: [Wait(HOSTILE, HOSTILE, HOSTILE, NOW, None, 1)],
        Performance: lambda: [
            Performance(2, timedelta(hours=3), 50.0, 1),
            Performance(0, None, None, 0),
        ],
    }


CHOICES: dict[tuple[str, str], Callable[[], list[Any]]] = {
    ("handlers.feedback.render.step_texts", "who"): lambda: [mention("U0EVIL><!channel")],
}
