"""Every cell of the impact × urgency matrix, and the priority a person types."""

from __future__ import annotations

import pytest

from models.incident import Level
from services import priority

# Rows are impact, columns urgency (high, medium, low): the ITIL 3×3 matrix with five levels.
MATRIX = {
    (Level.HIGH, Level.HIGH): 1,
    (Level.HIGH, Level.MEDIUM): 2,
    (Level.HIGH, Level.LOW): 3,
    (Level.MEDIUM, Level.HIGH): 2,
    (Level.MEDIUM, Level.MEDIUM): 3,
    (Level.MEDIUM, Level.LOW): 4,
    (Level.LOW, Level.HIGH): 3,
    (Level.LOW, Level.MEDIUM): 4,
    (Level.LOW, Level.LOW): 5,
}


@pytest.mark.parametrize(("impact", "urgency"), list(MATRIX))
def test_every_cell_of_the_matrix(impact: Level, urgency: Level) -> None:
    assert priority.compute(impact=impact, urgency=urgency) == MATRIX[(impact, urgency)]
    # A form hands the values over as strings.
    assert priority.compute(impact=impact.value, urgency=urgency.value) == MATRIX[(impact, urgency)]


def test_the_matrix_covers_all_nine_cells() -> None:
    assert set(MATRIX) == {(i, u) for i in Level for u in Level}


def test_names() -> None:
    assert [priority.name(p) for p in range(1, 6)] == [
        "P1 critical",
        "P2 high",
        "P3 moderate",
        "P4 low",
        "P5 planning",
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("P2", 2), ("p2", 2), ("2", 2), (" P1 ", 1), ("p5", 5), ("5", 5), ("1", 1)],
)
def test_parse_accepts_p1_to_p5(typed: str, expected: int) -> None:
    assert priority.parse(typed) == expected


@pytest.mark.parametrize("typed", ["P0", "0", "P6", "6", "high", "", "PP2", "2P", "P-1", "P 2x"])
def test_parse_refuses_anything_else_and_names_what_was_typed(typed: str) -> None:
    with pytest.raises(ValueError, match=r"is not a priority; use P1 to P5\.") as refused:
        priority.parse(typed)
    assert f"'{typed}'" in str(refused.value)
