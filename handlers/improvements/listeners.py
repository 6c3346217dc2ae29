"""Slack listeners for improvements (`/improve`): parse, call services.improvements, render.
No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from handlers.improvements import render
from handlers.improvements.ids import Action, Field, View
from handlers.kind import Call, Form, SubCommand
from handlers.sms_records import SmsRecordHandlers
from services import improvements
from services.permissions import Actor


class ImprovementHandlers(SmsRecordHandlers):
    command = "/improve"
    kind = improvements.KIND
    heading = "*Improvements* (the continual-improvement register)"
    renderer = render
    forms = {
        Action.APPROVE: Form("approve", render.approve_modal),
        Action.REJECT: Form("reject", render.reject_modal),
        Action.DONE: Form("done", render.done_modal),
    }

    def subcommands(self) -> list[SubCommand]:
        return [
            SubCommand("", self.on_new, "suggest an improvement (a form opens)"),
            self.list_subcommand(
                "the register: open improvements",
                "Open improvements",
                improvements.register,
                render.register_blocks,
                everything="Improvements",
            ),
            self.show_subcommand("one improvement and its audit trail"),
        ]

    def register_more(self, app: App) -> None:
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.APPROVE.value)(self.on_approve_submitted)
        app.view(View.REJECT.value)(self.on_reject_submitted)
        app.view(View.DONE.value)(self.on_done_submitted)

    def check_step(self, session: Any, record: Any, move: str, actor: Actor) -> None:
        # Approving and rejecting are the process owner's: a group owner's members may too.
        improvements.check_step(record, move, actor, self.ctx.directory.members)

    # ---- the slash command ------------------------------------------------------------------

    def on_new(self, call: Call) -> None:
        call.client.views_open(trigger_id=call.body["trigger_id"], view=render.new_modal())

    # ---- forms --------------------------------------------------------------------------------

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def create(session: Any, actor: Actor, values: dict[str, Any]) -> Any:
            return improvements.propose(
                session,
                title=values.get(Field.TITLE),
                description=values.get(Field.DESCRIPTION),
                process=values.get(Field.PROCESS),
                actor=actor,
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
                submission_id=view.get("id"),
            )

        self.create_form(ack, body, view, create, Field.TITLE)

    def on_approve_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return improvements.approve(
                s,
                key=key,
                owner=values.get(Field.OWNER),
                due_on=values.get(Field.DUE_ON),
                note=values.get(Field.NOTE),
                actor=actor,
                members_of=self.ctx.directory.members,
                now=self.ctx.clock.now(),
            )

        self.move_form(ack, body, view, "approve", apply)

    def on_reject_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return improvements.reject(
                s,
                key=key,
                reason=values.get(Field.NOTE),
                actor=actor,
                members_of=self.ctx.directory.members,
                now=self.ctx.clock.now(),
            )

        self.move_form(ack, body, view, "reject", apply)

    def on_done_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return improvements.done(
                s, key=key, outcome=values.get(Field.NOTE), actor=actor, now=self.ctx.clock.now()
            )

        self.move_form(ack, body, view, "done", apply)
