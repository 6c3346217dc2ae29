"""Action, view and field ids for post-incident reviews: one place, so builders and listeners
agree."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    RECORD = "pir_record"
    ADD_ACTION = "pir_add_action"
    CLOSE = "pir_close"
    DONE = "pir_action_done"


class View(StrEnum):
    RECORD = "pir_record_view"
    ADD_ACTION = "pir_action_view"


class Field(StrEnum):
    WHAT_HAPPENED = "what_happened"
    ROOT_CAUSE = "root_cause"
    WENT_WELL = "went_well"
    PROBLEM = "problem"
    RAISE_PROBLEM = "raise_problem"
    ACTION_TEXT = "action_text"
    ACTION_OWNER = "action_owner"
    ACTION_DUE = "action_due"
