"""Action, view and field ids for internal audits."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    START = "audit_start"
    FINDING = "audit_finding"
    COMPLETE = "audit_complete"
    CANCEL = "audit_cancel"


class View(StrEnum):
    COMPLETE = "audit_complete_view"


class Field(StrEnum):
    NOTE = "note"
