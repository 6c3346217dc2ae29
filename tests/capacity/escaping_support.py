"""Hostile arguments for the capacity renderers (handlers/capacity/render.py and the capacity
lines of /ci show), for tests/handlers/test_render_escaping.py's walk. Requirements and plans
are built without validation so every text field (even a metric the policy file would refuse)
holds hostile markup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from models.capacity import Level
from models.capacity_policy import CapacityRequirement
from models.sms import SmsItem
from models.sms_policy import CapacityPlan
from services.capacity_standing import CapacityRow
from tests.handlers.hostile import HOSTILE

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
FORGED_ID = "U0EVIL><!channel"


def requirement(direction: str = "up") -> CapacityRequirement:
    return CapacityRequirement.model_construct(
        item=HOSTILE,
        metric=HOSTILE,
        unit=HOSTILE,
        warning=70.0 if direction == "up" else 20.0,
        critical=90.0 if direction == "up" else 5.0,
        direction=direction,
        owner=FORGED_ID,
        window=10,
        horizon=timedelta(days=30),
    )


def rows() -> list[CapacityRow]:
    return [
        CapacityRow(requirement(), Level.CRITICAL, 93.5, NOW, NOW, True, FORGED_ID, 2),
        CapacityRow(requirement("down"), None, None, None, None, False, None),
        CapacityRow(requirement(), Level.OK, 1.0, NOW, NOW, False, "U0LEAD"),
    ]


def plans() -> list[CapacityPlan]:
    return [
        CapacityPlan.model_construct(
            name=HOSTILE, owner=FORGED_ID, link=HOSTILE, version=HOSTILE, review_every="quarterly"
        ),
        CapacityPlan.model_construct(name=HOSTILE, owner="U0LEAD", link="", version="1"),
    ]


def reviewed() -> SmsItem:
    return SmsItem(
        id=1,
        kind="capacity",
        name=HOSTILE,
        version=HOSTILE,
        next_review=date(2026, 11, 1),
        created_at=NOW,
        updated_at=NOW,
    )


def factories(hostile: Callable[..., Any]) -> dict[Any, Callable[[], list[Any]]]:  # noqa: ARG001
    return {
        CapacityRow: rows,
        CapacityPlan: plans,
        SmsItem: lambda: [reviewed()],
        date: lambda: [date(2026, 11, 27)],
    }


CHOICES: dict[tuple[str, str], Callable[[], list[Any]]] = {
    ("handlers.capacity.render.capacity_blocks", "reviews"): lambda: [{HOSTILE: reviewed()}, {}],
}
