"""Action, view and field ids for management reviews."""

from __future__ import annotations

from enum import StrEnum

from services.management_reviews import RECORD_ACTION


class Action(StrEnum):
    RECORD = RECORD_ACTION  # also on the owner's reminder
    CANCEL = "mr_cancel"
    ACTION_DONE = "mr_action_done"


class View(StrEnum):
    RECORD = "mr_record_view"


class Field(StrEnum):
    HELD_ON = "held_on"
    ATTENDEES = "attendees"
    DECISIONS = "decisions"

    @staticmethod
    def action(n: int, part: str = "") -> str:
        """The n-th action's text (`action_1`), owner (`action_1_owner`) or due date."""
        return f"action_{n}" + (f"_{part}" if part else "")
