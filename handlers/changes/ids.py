"""Action, view and field ids for changes (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set

Action = id_set(
    "Action",
    "change_{}",
    "ASSESS SUBMIT SCHEDULE START COMPLETE REVIEW CANCEL APPROVE REJECT ACCEPT",
)
View = id_set("View", "change_{}_view", "REVIEW CANCEL REJECT SERVICE ACCEPT", NEW="change_new")

# Block and action ids of form inputs; they equal the service's FieldError names. The second
# line is the service change form's (a change of type "service").
Field = id_set(
    "Field",
    "{}",
    "TITLE DESCRIPTION TYPE RISK RISK_ANSWERS TARGETS IMPLEMENTER SECURITY OUTCOME NOTE REASON"
    " SERVICE_ACTION SERVICE SERVICE_NAME TEAM REQUIREMENTS DESIGN CRITERIA AGREEMENT CAPACITY"
    " BUDGET",
    TEMPLATE="standard_template",
    START="planned_start",
    END="planned_end",
    IMPLEMENTATION="implementation_plan",
    BACKOUT="backout_plan",
    TEST="test_plan",
)


def criterion_field(number: int) -> str:
    """The acceptance form's passed/failed input of criterion `number` (1-based)."""
    return f"criterion_{number}"


def note_field(number: int) -> str:
    return f"note_{number}"
