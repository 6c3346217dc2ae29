"""Slack listeners for improvements (`/improve`): parse, call services.improvements, render.
No rules here."""

from __future__ import annotations

from typing import Any

from handlers.improvements import render
from handlers.improvements.ids import Action, Field, View
from handlers.kind import Form, Listing, NewForm, Show, Submit
from handlers.sms_records import SmsRecordHandlers
from services import improvements
from services.permissions import Actor


class ImprovementHandlers(SmsRecordHandlers):
    command = "/improve"
    kind = improvements.KIND
    heading = "*Improvements* (the continual-improvement register)"
    renderer = render
    table = (
        NewForm(render.new_modal, "suggest an improvement (a form opens)"),
        Listing("the register: open improvements", improvements.register, everything=True),
        Show(),
    )
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

    def check_step(self, session: Any, record: Any, move: str, actor: Actor) -> None:
        # Approving and rejecting are the process owner's: a group owner's members may too.
        improvements.check_step(record, move, actor, self.ctx.directory.members)
