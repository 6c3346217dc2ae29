"""Action, view and field ids for incidents (see handlers/id_sets.py)."""

from __future__ import annotations

from handlers.id_sets import id_set

Action = id_set(
    "Action",
    "incident_{}",
    "ACKNOWLEDGE ASSIGN ESCALATE HOLD RESUME RESOLVE REOPEN CLOSE MORE",
    ESCALATION_ACK="incident_escalation_acknowledge",
    COMMANDER="incident_major_commander",
    COMMS_LEAD="incident_major_comms_lead",
    POST_UPDATE="incident_major_post_update",
)

# The message shortcut (a message's ⋮ menu) that marks a message for the timeline.
ADD_TO_TIMELINE = "incident_add_to_timeline"

# Values of the overflow menu.
More = id_set("More", "{}", "PRIORITY CANCEL PROBLEM MAJOR")

View = id_set(
    "View",
    "incident_{}_view",
    "RESOLVE HOLD ESCALATE PRIORITY CANCEL DECLARE UPDATE",
    NEW="incident_new",
)
Field = id_set(
    "Field",
    "{}",
    "TITLE DESCRIPTION IMPACT URGENCY SERVICE CATEGORY NOTE HOLD_REASON SUPPLIER TEAM PRIORITY"
    " REASON UPDATE_STATUS UPDATE_IMPACT UPDATE_NEXT SECURITY",
    CODE="resolution_code",
    TICKET="ticket_ref",
    KIND="escalation_kind",
)
