"""Slack listeners for incidents: parse, call services.incidents, render. No rules here.

The listeners live by role: commands.py (the slash command and the New incident form),
buttons.py (the message's buttons and their forms), messages.py (the channel message, its
thread and direct messages)."""

from __future__ import annotations

from slack_bolt import App

from handlers.common import ack_then
from handlers.incidents.commands import IncidentCommands
from handlers.incidents.ids import ADD_TO_TIMELINE, Action, View
from handlers.incidents.major import IncidentMajor
from handlers.kind import SubCommand
from services import paging


class IncidentHandlers(IncidentCommands, IncidentMajor):
    table = (
        *IncidentCommands.table,
        SubCommand(
            "timeline",
            "on_timeline",
            "every step, role change, status update and marked message, in order",
            args="INC-42",
        ),
    )

    def register_more(self, app: App) -> None:
        # Major incidents (handlers/incidents/major.py).
        app.view(View.DECLARE.value)(self.on_declare_submitted)
        app.view(View.UPDATE.value)(self.on_update_submitted)
        app.action(Action.COMMANDER.value)(ack_then(self.ctx, self._set_role))
        app.action(Action.COMMS_LEAD.value)(ack_then(self.ctx, self._set_role))
        app.action(Action.POST_UPDATE.value)(ack_then(self.ctx, self._open_update))
        app.shortcut(ADD_TO_TIMELINE)(ack_then(self.ctx, self._add_to_timeline))
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.RESOLVE.value)(self.on_resolve_submitted)
        app.view(View.HOLD.value)(self.on_hold_submitted)
        app.view(View.ESCALATE.value)(self.on_escalate_submitted)
        app.view(View.PRIORITY.value)(self.on_priority_submitted)
        app.view(View.CANCEL.value)(self.on_cancel_submitted)
        app.action(Action.ACKNOWLEDGE.value)(self.on_acknowledge)
        app.action(paging.ACK_ACTION_ID)(self.on_page_acknowledge)
        app.action(Action.ESCALATION_ACK.value)(ack_then(self.ctx, self._escalation_acknowledge))
        app.action(Action.ASSIGN.value)(self.on_assign)
        app.action(Action.RESUME.value)(self.on_resume)
        app.action(Action.REOPEN.value)(self.on_reopen)
        app.action(Action.CLOSE.value)(self.on_close)
        app.action(Action.RESOLVE.value)(self.on_open_resolve)
        app.action(Action.HOLD.value)(self.on_open_hold)
        app.action(Action.ESCALATE.value)(self.on_open_escalate)
        app.action(Action.MORE.value)(self.on_more)
        app.action("incident_log_titled")(self.on_log_titled)
