"""Action, view and field ids for nonconformities."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    PLAN = "nc_plan"
    ACTION_DONE = "nc_action_done"
    CLOSE = "nc_close"
    NOT_EFFECTIVE = "nc_not_effective"


class View(StrEnum):
    NEW = "nc_new"
    PLAN = "nc_plan_view"
    CLOSE = "nc_close_view"
    NOT_EFFECTIVE = "nc_not_effective_view"


class Field(StrEnum):
    TITLE = "title"
    DESCRIPTION = "description"
    OWNER = "owner"
    SOURCE = "source"
    CORRECTION = "correction"
    CORRECTIVE_ACTION = "corrective_action"
    DUE_ON = "due_on"
    NOTE = "note"
