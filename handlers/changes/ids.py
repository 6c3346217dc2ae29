"""Action, view and field ids for changes: one place, so builders and listeners agree."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    ASSESS = "change_assess"
    SUBMIT = "change_submit"
    SCHEDULE = "change_schedule"
    START = "change_start"
    COMPLETE = "change_complete"
    REVIEW = "change_review"
    CANCEL = "change_cancel"
    APPROVE = "change_approve"
    REJECT = "change_reject"
    ACCEPT = "change_accept"


class View(StrEnum):
    NEW = "change_new"
    REVIEW = "change_review_view"
    CANCEL = "change_cancel_view"
    REJECT = "change_reject_view"
    SERVICE = "change_service_view"
    ACCEPT = "change_accept_view"


class Field(StrEnum):
    """Block and action ids of form inputs; they equal the service's FieldError names."""

    TITLE = "title"
    DESCRIPTION = "description"
    TYPE = "type"
    TEMPLATE = "standard_template"
    RISK = "risk"
    RISK_ANSWERS = "risk_answers"
    TARGETS = "targets"
    START = "planned_start"
    END = "planned_end"
    IMPLEMENTATION = "implementation_plan"
    BACKOUT = "backout_plan"
    TEST = "test_plan"
    IMPLEMENTER = "implementer"
    SECURITY = "security"
    OUTCOME = "outcome"
    NOTE = "note"
    REASON = "reason"
    # the service change form (a change of type "service")
    SERVICE_ACTION = "service_action"
    SERVICE = "service"
    SERVICE_NAME = "service_name"
    TEAM = "team"
    REQUIREMENTS = "requirements"
    DESIGN = "design"
    CRITERIA = "criteria"
    AGREEMENT = "agreement"
    CAPACITY = "capacity"
    BUDGET = "budget"


def criterion_field(number: int) -> str:
    """The acceptance form's passed/failed input of criterion `number` (1-based)."""
    return f"criterion_{number}"


def note_field(number: int) -> str:
    return f"note_{number}"
