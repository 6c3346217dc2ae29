"""Action, view and field ids for management reviews (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set
from services.management_reviews import RECORD_ACTION

# RECORD is also on the owner's reminder, which the service builds.
Action = id_set("Action", "mr_{}", "CANCEL ACTION_DONE", RECORD=RECORD_ACTION)
View = id_set("View", "mr_{}_view", "RECORD")
Field = id_set("Field", "{}", "HELD_ON ATTENDEES DECISIONS")


def action_field(n: int, part: str = "") -> str:
    """The n-th action's text (`action_1`), owner (`action_1_owner`) or due date."""
    return f"action_{n}" + (f"_{part}" if part else "")
