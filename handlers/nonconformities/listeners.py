"""Slack listeners for nonconformities (`/nc`): parse, call services.nonconformities,
render. No rules here."""

from __future__ import annotations

from handlers.common import actor_of, tell
from handlers.kind import Call, Form, Listing, Show, Step, SubCommand, Submit
from handlers.nonconformities import render
from handlers.nonconformities.ids import Action, Field, View
from handlers.sms_records import SmsRecordHandlers
from services import nonconformities
from services.errors import ServiceDeskError


class NonconformityHandlers(SmsRecordHandlers):
    command = "/nc"
    kind = nonconformities.KIND
    renderer = render
    table = (
        SubCommand("", "on_new", "record a nonconformity (a form opens)", args="[AUD-n]"),
        Listing("open nonconformities", nonconformities.register, everything=True),
        Show(),
    )
    steps = {Action.ACTION_DONE: Step("action_done", nonconformities.action_done)}
    creates = Submit(
        View.NEW,
        nonconformities.raise_nc,
        {
            "title": Field.TITLE,
            "description": Field.DESCRIPTION,
            "owner": Field.OWNER,
            "source": Field.SOURCE,
        },
        takes=("submission_id",),
        error_field=Field.TITLE,
    )
    forms = {
        Action.PLAN: Form(
            "plan",
            render.plan_modal,
            Submit(
                View.PLAN,
                nonconformities.plan_action,
                {
                    "correction": Field.CORRECTION,
                    "corrective_action": Field.CORRECTIVE_ACTION,
                    "due_on": Field.DUE_ON,
                },
            ),
        ),
        Action.CLOSE: Form(
            "close",
            render.close_modal,
            Submit(View.CLOSE, nonconformities.close, {"evidence": Field.NOTE}),
        ),
        Action.NOT_EFFECTIVE: Form(
            "not_effective",
            render.not_effective_modal,
            Submit(View.NOT_EFFECTIVE, nonconformities.not_effective, {"reason": Field.NOTE}),
        ),
    }

    def other(self, call: Call) -> None:
        # `/nc AUD-3`: the form opens with where it was found filled in.
        if call.words[0].upper().startswith("AUD-"):
            self.on_new(call)
            return
        super().other(call)

    # ---- the slash command ------------------------------------------------------------------

    def on_new(self, call: Call) -> None:
        try:
            nonconformities.may_raise(actor_of(self.ctx, call.body))
        except ServiceDeskError as error:
            tell(call.respond, str(error))
            return
        source = call.words[0].upper()[:20] if call.words else ""
        call.open_form(render.new_modal(source=source))
