"""Action, view and field ids for incidents: one place, so builders and listeners agree."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    ACKNOWLEDGE = "incident_acknowledge"
    ASSIGN = "incident_assign"
    ESCALATE = "incident_escalate"
    HOLD = "incident_hold"
    RESUME = "incident_resume"
    RESOLVE = "incident_resolve"
    REOPEN = "incident_reopen"
    CLOSE = "incident_close"
    MORE = "incident_more"
    ESCALATION_ACK = "incident_escalation_acknowledge"
    COMMANDER = "incident_major_commander"
    COMMS_LEAD = "incident_major_comms_lead"
    POST_UPDATE = "incident_major_post_update"


# The message shortcut (a message's ⋮ menu) that marks a message for the timeline.
ADD_TO_TIMELINE = "incident_add_to_timeline"


class More(StrEnum):
    """Values of the overflow menu."""

    PRIORITY = "priority"
    CANCEL = "cancel"
    PROBLEM = "problem"
    MAJOR = "major"


class View(StrEnum):
    NEW = "incident_new"
    RESOLVE = "incident_resolve_view"
    HOLD = "incident_hold_view"
    ESCALATE = "incident_escalate_view"
    PRIORITY = "incident_priority_view"
    CANCEL = "incident_cancel_view"
    DECLARE = "incident_declare_view"
    UPDATE = "incident_update_view"


class Field(StrEnum):
    TITLE = "title"
    DESCRIPTION = "description"
    IMPACT = "impact"
    URGENCY = "urgency"
    SERVICE = "service"
    CATEGORY = "category"
    CODE = "resolution_code"
    NOTE = "note"
    HOLD_REASON = "hold_reason"
    SUPPLIER = "supplier"
    TICKET = "ticket_ref"
    KIND = "escalation_kind"
    TEAM = "team"
    PRIORITY = "priority"
    REASON = "reason"
    UPDATE_STATUS = "update_status"
    UPDATE_IMPACT = "update_impact"
    UPDATE_NEXT = "update_next"
    SECURITY = "security"
