"""Priority from impact × urgency: the ITIL 3×3 matrix with five levels."""

from __future__ import annotations

from models.incident import Level

_RANK = {Level.HIGH: 0, Level.MEDIUM: 1, Level.LOW: 2}

NAMES = {1: "P1 critical", 2: "P2 high", 3: "P3 moderate", 4: "P4 low", 5: "P5 planning"}


def compute(*, impact: Level | str, urgency: Level | str) -> int:
    """P1 (high × high) to P5 (low × low): one step down for each step of impact or urgency."""
    return 1 + _RANK[Level(impact)] + _RANK[Level(urgency)]


def name(priority: int) -> str:
    return NAMES[priority]


def parse(text: str) -> int:
    """'P2', 'p2' or '2' → 2; anything else is refused."""
    cleaned = text.strip().upper().removeprefix("P")
    if cleaned.isdigit() and 1 <= int(cleaned) <= 5:
        return int(cleaned)
    raise ValueError(f"'{text}' is not a priority; use P1 to P5.")
