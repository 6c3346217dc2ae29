"""How a refusal reads: "Refused, because" and the reason, whose first word is lowered only when
it is an ordinary word (a record key or an acronym keeps its capitals)."""

from __future__ import annotations

import pytest

from services.errors import Forbidden


@pytest.mark.parametrize(
    ("reason", "reads"),
    [
        ("You requested CHG-1.", "Refused, because you requested CHG-1."),
        ("Only agents can do this.", "Refused, because only agents can do this."),
        ("INC-2 is a restricted incident.", "Refused, because INC-2 is a restricted incident."),
        ("CAB members decide.", "Refused, because CAB members decide."),
        ("already lower.", "Refused, because already lower."),
        ("", "Refused, because "),
    ],
)
def test_a_refusal_reads_as_one_sentence(reason: str, reads: str) -> None:
    refusal = Forbidden(reason)
    assert str(refusal) == reads
    assert refusal.reason == reason
