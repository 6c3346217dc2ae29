"""Action, view and field ids for improvements."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    APPROVE = "improvement_approve"
    REJECT = "improvement_reject"
    DONE = "improvement_done"


class View(StrEnum):
    NEW = "improvement_new"
    APPROVE = "improvement_approve_view"
    REJECT = "improvement_reject_view"
    DONE = "improvement_done_view"


class Field(StrEnum):
    TITLE = "title"
    DESCRIPTION = "description"
    PROCESS = "process"
    OWNER = "owner"
    DUE_ON = "due_on"
    NOTE = "note"
