"""Slack listeners for nonconformities (`/nc`): parse, call services.nonconformities,
render. No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from handlers.common import actor_of, tell
from handlers.kind import Call, Form, Step, SubCommand
from handlers.nonconformities import render
from handlers.nonconformities.ids import Action, Field, View
from handlers.sms_records import SmsRecordHandlers
from services import nonconformities
from services.errors import ServiceDeskError
from services.permissions import Actor


class NonconformityHandlers(SmsRecordHandlers):
    command = "/nc"
    kind = nonconformities.KIND
    heading = "*Nonconformities*"
    renderer = render
    steps = {Action.ACTION_DONE: Step("action_done", nonconformities.action_done)}
    forms = {
        Action.PLAN: Form("plan", render.plan_modal),
        Action.CLOSE: Form("close", render.close_modal),
        Action.NOT_EFFECTIVE: Form("not_effective", render.not_effective_modal),
    }

    def subcommands(self) -> list[SubCommand]:
        return [
            SubCommand("", self.on_new, "record a nonconformity (a form opens)", args="[AUD-n]"),
            self.list_subcommand(
                "open nonconformities",
                "Open nonconformities",
                nonconformities.register,
                render.list_blocks,
                everything="Nonconformities",
            ),
            self.show_subcommand("one nonconformity and its audit trail"),
        ]

    def other(self, call: Call) -> None:
        # `/nc AUD-3`: the form opens with where it was found filled in.
        if call.words[0].upper().startswith("AUD-"):
            self.on_new(call)
            return
        super().other(call)

    def register_more(self, app: App) -> None:
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.PLAN.value)(self.on_plan_submitted)
        app.view(View.CLOSE.value)(self.on_close_submitted)
        app.view(View.NOT_EFFECTIVE.value)(self.on_not_effective_submitted)

    # ---- the slash command ------------------------------------------------------------------

    def on_new(self, call: Call) -> None:
        try:
            nonconformities.may_raise(actor_of(self.ctx, call.body))
        except ServiceDeskError as error:
            tell(call.respond, str(error))
            return
        source = call.words[0].upper()[:20] if call.words else ""
        call.client.views_open(
            trigger_id=call.body["trigger_id"], view=render.new_modal(source=source)
        )

    # ---- forms --------------------------------------------------------------------------------

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def create(session: Any, actor: Actor, values: dict[str, Any]) -> Any:
            return nonconformities.raise_nc(
                session,
                title=values.get(Field.TITLE),
                description=values.get(Field.DESCRIPTION),
                owner=values.get(Field.OWNER),
                source=values.get(Field.SOURCE),
                actor=actor,
                now=self.ctx.clock.now(),
                submission_id=view.get("id"),
            )

        self.create_form(ack, body, view, create, Field.TITLE)

    def on_plan_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return nonconformities.plan_action(
                s,
                key=key,
                correction=values.get(Field.CORRECTION),
                corrective_action=values.get(Field.CORRECTIVE_ACTION),
                due_on=values.get(Field.DUE_ON),
                actor=actor,
                now=self.ctx.clock.now(),
            )

        self.move_form(ack, body, view, "plan", apply)

    def on_close_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return nonconformities.close(
                s, key=key, evidence=values.get(Field.NOTE), actor=actor, now=self.ctx.clock.now()
            )

        self.move_form(ack, body, view, "close", apply)

    def on_not_effective_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return nonconformities.not_effective(
                s, key=key, reason=values.get(Field.NOTE), actor=actor, now=self.ctx.clock.now()
            )

        self.move_form(ack, body, view, "not_effective", apply)
