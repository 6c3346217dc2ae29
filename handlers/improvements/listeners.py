"""Slack listeners for improvements (`/improve`): parse, call services.improvements, render.
No rules here."""

from __future__ import annotations

from typing import Any

from handlers.improvements import render
from handlers.improvements.ids import Action, Field, View
from handlers.kind import Call, Form, SubCommand, Submit
from handlers.sms_records import SmsRecordHandlers
from services import improvements
from services.permissions import Actor


class ImprovementHandlers(SmsRecordHandlers):
    command = "/improve"
    kind = improvements.KIND
    heading = "*Improvements* (the continual-improvement register)"
    renderer = render
    creates = Submit(
        View.NEW,
        improvements.propose,
        {"title": Field.TITLE, "description": Field.DESCRIPTION, "process": Field.PROCESS},
        takes=("policy", "submission_id"),
        error_field=Field.TITLE,
    )
    forms = {
        Action.APPROVE: Form(
            "approve",
            render.approve_modal,
            Submit(
                View.APPROVE,
                improvements.approve,
                {"owner": Field.OWNER, "due_on": Field.DUE_ON, "note": Field.NOTE},
                takes=("members_of",),
            ),
        ),
        Action.REJECT: Form(
            "reject",
            render.reject_modal,
            Submit(View.REJECT, improvements.reject, {"reason": Field.NOTE}, takes=("members_of",)),
        ),
        Action.DONE: Form(
            "done", render.done_modal, Submit(View.DONE, improvements.done, {"outcome": Field.NOTE})
        ),
    }

    def subcommands(self) -> list[SubCommand]:
        return [
            SubCommand("", self.on_new, "suggest an improvement (a form opens)"),
            self.list_subcommand(
                "the register: open improvements",
                "Open improvements",
                improvements.register,
                everything="Improvements",
            ),
            self.show_subcommand("one improvement and its audit trail"),
        ]

    def check_step(self, session: Any, record: Any, move: str, actor: Actor) -> None:
        # Approving and rejecting are the process owner's: a group owner's members may too.
        improvements.check_step(record, move, actor, self.ctx.directory.members)

    # ---- the slash command ------------------------------------------------------------------

    def on_new(self, call: Call) -> None:
        call.open_form(render.new_modal())
