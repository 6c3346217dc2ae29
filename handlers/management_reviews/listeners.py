"""Slack listeners for management reviews (`/servicedesk review`, the Record review and Done
buttons): parse, call services.management_reviews, render. No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot import blocks as b
from handlers.common import ack_then, actor_of, run_or_tell, tell
from handlers.kind import Call, Form, Show, Step, SubCommand
from handlers.management_reviews import render
from handlers.management_reviews.ids import Action, Field, View, action_field
from handlers.sms_records import SmsRecordHandlers
from models.management_review import ACTIONS_MAX, ManagementReview
from services import management_reviews
from services.management_reviews import AgreedAction
from services.permissions import Actor


class ManagementReviewHandlers(SmsRecordHandlers):
    # Reached through /servicedesk (handlers.servicedesk routes `review` here), not a command
    # of its own.
    command = "/servicedesk review"
    kind = management_reviews.KIND
    renderer = render
    heading = "*Management reviews* (planned from `[sms.management_review]`)"
    table = (
        SubCommand("", "on_overview", "the next review, its inputs now, past reviews"),
        Show("one review, its actions and its audit trail"),
    )
    steps = {Action.CANCEL: Step("cancel", management_reviews.cancel)}
    forms = {Action.RECORD: Form("record", render.record_modal)}
    note_field = Field.DECISIONS

    def register(self, app: App) -> None:
        if self.steps:
            app.action(Action.CANCEL.value)(ack_then(self.ctx, self.take_step))
        app.action(Action.RECORD.value)(self.on_open_form)
        self.register_more(app)

    def register_more(self, app: App) -> None:
        app.action(Action.ACTION_DONE.value)(ack_then(self.ctx, self._action_done))
        app.view(View.RECORD.value)(self.on_record_submitted)

    def parts(self, session: Any, record: ManagementReview) -> tuple[Any, ...]:
        return (management_reviews.actions_of(session, review_ids=[record.id or 0]),)

    def on_overview(self, call: Call) -> None:
        now = self.ctx.clock.now()
        policy = self.ctx.policy
        with self.ctx.db.read_session() as session:
            upcoming = management_reviews.planned(session)
            period, prepared = management_reviews.inputs(session, policy=policy, now=now)
            held = management_reviews.past(session)
            actions = management_reviews.open_actions(session)
            blocks = render.overview_blocks(
                upcoming,
                period,
                prepared,
                held,
                actions,
                configured=policy.sms.management_review is not None,
            )
        call.respond(text="Management reviews", blocks=blocks, response_type="ephemeral")

    def on_record_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            agreed = [
                AgreedAction(
                    values.get(action_field(n)),
                    values.get(action_field(n, "owner")),
                    values.get(action_field(n, "due")),
                )
                for n in range(1, ACTIONS_MAX + 1)
            ]
            return management_reviews.record(
                s,
                key=key,
                held_on=values.get(Field.HELD_ON),
                attendees=values.get(Field.ATTENDEES),
                decisions=values.get(Field.DECISIONS),
                actions=agreed,
                actor=actor,
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )

        self.move_form(ack, body, view, "record", apply)

    def _action_done(self, body: dict[str, Any], respond: Respond) -> None:
        raw = str(body["actions"][0].get("value") or "")
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            self._old_button(respond)
            return
        actor = actor_of(self.ctx, body)

        def complete(session: Any) -> tuple[str, str]:
            action, review = management_reviews.complete_action(
                session, action_id=int(raw), actor=actor, now=self.ctx.clock.now()
            )
            return review.key, action.key

        completed = run_or_tell(self.ctx, respond, complete)
        if completed is None:
            return
        key, done = completed
        tell(respond, f"{done} is done.")
        self.refresh(key, step=f"{b.user(actor.user_id)} marked {done} done.")
