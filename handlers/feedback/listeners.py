"""Slack listeners for `/feedback` (complaints CMP-n and compliments) and the satisfaction
survey's buttons: parse, call services.complaints and services.surveys, render. No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import view_values
from handlers.common import (
    ack_then,
    actor_of,
    later,
    one_of,
    open_checked_form,
    replace_clicked,
    run_or_tell,
    tell,
)
from handlers.feedback import render
from handlers.feedback.ids import SCORE_ACTIONS, Action, Field, View
from handlers.kind import (
    Call,
    Form,
    KindHandlers,
    Listing,
    Show,
    Step,
    SubCommand,
    Submit,
    error_at,
)
from services import complaints, service_list, surveys
from services.errors import ServiceDeskError
from services.permissions import Actor


class FeedbackHandlers(KindHandlers):
    command = "/feedback"
    kind = complaints.KIND
    heading = "*Complaints and compliments*"
    renderer = render
    table = (
        SubCommand("", "on_new", "a complaint or a compliment (a form opens)"),
        Listing("open complaints, nearest response target first", complaints.open_complaints),
        Show(),
    )
    first_step_by = "created_by"
    refresh_when_announced = True
    steps = {
        Action.INVESTIGATE: Step("investigate", complaints.investigate, with_policy=True),
        Action.REOPEN: Step("reopen", complaints.reopen, with_policy=True),
        Action.CLOSE: Step("close", complaints.close, with_policy=True),
    }
    forms = {
        Action.RESPOND: Form(
            "respond",
            render.respond_modal,
            Submit(
                View.RESPOND,
                complaints.respond,
                {"response": Field.RESPONSE},
                takes=("policy",),
                error_field=Field.RESPONSE,
            ),
        )
    }

    @property
    def channel(self) -> str:
        return self.ctx.policy.complaints.channel or self.ctx.policy.channels.incidents

    def register_more(self, app: App) -> None:
        app.view(View.NEW.value)(self.on_new_submitted)
        app.action(one_of(*SCORE_ACTIONS))(ack_then(self.ctx, self._score))
        app.action(Action.COMMENT.value)(ack_then(self.ctx, self._open_comment))
        app.view(View.COMMENT.value)(self.on_comment_submitted)
        app.action(Action.FOLLOW_UP.value)(ack_then(self.ctx, self._follow_up))

    # ---- /feedback ------------------------------------------------------------------------

    def on_new(self, call: Call) -> None:
        with self.ctx.db.session() as session:
            offered = service_list.offered(session, policy=self.ctx.policy)
        services = [service.name for service in offered]
        call.open_form(render.new_modal(services))

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        actor = actor_of(self.ctx, body)
        now = self.ctx.clock.now()
        summary = values.get(Field.SUMMARY) or ""
        details = values.get(Field.DESCRIPTION) or ""
        try:
            with self.ctx.db.session() as session:
                if values.get(Field.KIND) == render.COMPLIMENT:
                    complaints.compliment(
                        session,
                        text="\n".join(part for part in (summary.strip(), details.strip()) if part),
                        service=values.get(Field.SERVICE),
                        actor=actor,
                        now=now,
                        policy=self.ctx.policy,
                        submission_id=view.get("id"),
                    )
                    key = None
                else:
                    key = complaints.raise_complaint(
                        session,
                        summary=summary,
                        description=details,
                        service=values.get(Field.SERVICE),
                        actor=actor,
                        now=now,
                        policy=self.ctx.policy,
                        submission_id=view.get("id"),
                    ).key
        except ServiceDeskError as error:
            ack(response_action="errors", errors={error_at(view, error, Field.SUMMARY): str(error)})
            return
        ack()
        if key is None:
            later(self.ctx, self._thank, actor.user_id, values.get(Field.SERVICE))
        else:
            later(self.ctx, self.announce, key)

    def _thank(self, user: str, service: str | None) -> None:
        opened = self.ctx.client.conversations_open(users=user)
        channel = str(opened["channel"]["id"])
        self.ctx.client.chat_postMessage(channel=channel, text=render.compliment_text(service))

    # ---- the satisfaction survey ------------------------------------------------------------

    def _score(self, body: dict[str, Any], respond: Respond) -> None:
        action = body["actions"][0]
        score = int(str(action["action_id"]).rpartition("_")[2])
        record_key = str(action.get("value") or "")
        try:
            with self.ctx.db.session() as session:
                surveys.answer(
                    session,
                    record_key=record_key,
                    score=score,
                    actor=actor_of(self.ctx, body),
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        replace_clicked(
            respond,
            f"Thank you: you rated {record_key} {score}/5.",
            render.thanked_blocks(record_key, score),
        )

    def _open_comment(self, body: dict[str, Any], respond: Respond) -> None:
        record_key = str(body["actions"][0].get("value") or "")
        actor = actor_of(self.ctx, body)
        open_checked_form(
            self.ctx,
            body,
            respond,
            lambda session: surveys.check_comment(session, record_key=record_key, actor=actor),
            lambda survey: render.comment_modal(survey.record_key),
        )

    def on_comment_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(session: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return surveys.add_comment(
                session,
                record_key=key,
                comment=values.get(Field.COMMENT) or "",
                actor=actor,
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )

        self.submit(ack, body, view, apply, Field.COMMENT)

    def _follow_up(self, body: dict[str, Any], respond: Respond) -> None:
        record_key = str(body["actions"][0].get("value") or "")
        actor = actor_of(self.ctx, body)
        key = run_or_tell(
            self.ctx,
            respond,
            lambda session: (
                complaints.from_survey(
                    session,
                    record_key=record_key,
                    actor=actor,
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                ).key
            ),
        )
        if key is None:
            return
        tell(respond, f"{key} follows up the low score on {record_key}.")
        self.announce(key)
