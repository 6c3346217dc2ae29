"""A kind's action, view and field ids, declared as a pattern and a list of names.

Slack hands back the ids we put on buttons, forms and inputs, and a message posted months ago
still carries the ids it was posted with, so a value must never change. Nearly every kind
follows one rule per set: its buttons are `<prefix>_<name>`, its forms `<prefix>_<name>_view`,
its form inputs the name itself. A kind therefore names its members and the pattern once and
spells out only the values that do not follow it (`tests/handlers/test_ids.py` pins them all).
"""

from __future__ import annotations

from enum import StrEnum


def id_set(name: str, pattern: str, members: str = "", **odd: str) -> type[StrEnum]:
    """A StrEnum called `name`: each word of `members` is a member whose value is `pattern`
    with `{}` replaced by the word in lower case; each keyword of `odd` is a member whose value
    is given."""
    values = {member: pattern.format(member.lower()) for member in members.split()}
    twice = values.keys() & odd.keys()
    if twice:
        raise ValueError(f"{name}: {', '.join(sorted(twice))} named twice")
    values.update(odd)
    taken: dict[str, str] = {}
    for member, value in values.items():
        if value in taken:
            # Two members with one value would be one member (an Enum alias), and a listener
            # registered for the one would answer the other's clicks.
            raise ValueError(f"{name}: {member} and {taken[value]} are both {value!r}")
        taken[value] = member
    return StrEnum(name, values)
