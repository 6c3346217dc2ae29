"""Slack listeners for post-incident reviews (`/pir`): parse, call services.reviews, render."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from handlers.common import actor_of, later, tell
from handlers.kind import Call, Form, KindHandlers, Step, SubCommand
from handlers.reviews import render
from handlers.reviews.ids import Action, Field, View
from models.major_incident import PostIncidentReview
from services import major_incidents, reviews
from services.errors import ServiceDeskError
from services.permissions import Actor

log = logging.getLogger(__name__)


class ReviewHandlers(KindHandlers):
    command = "/pir"
    kind = reviews.KIND
    heading = "*Post-incident reviews*"
    show_example = "PIR-1"
    renderer = render
    first_step_by = "owner"
    steps = {Action.CLOSE: Step("close", reviews.close)}
    forms = {
        Action.RECORD: Form("record", render.record_modal),
        Action.ADD_ACTION: Form("add_action", render.action_modal),
    }

    def subcommands(self) -> list[SubCommand]:
        return [
            self.list_subcommand(
                "open reviews, soonest due first",
                "Open post-incident reviews",
                reviews.list_open,
                render.list_blocks,
                aliases=("",),
            ),
            self.show_subcommand("one review, its actions and its audit trail"),
            SubCommand("actions", self.on_actions, "follow-up actions not done yet"),
        ]

    def register_more(self, app: App) -> None:
        app.view(View.RECORD.value)(self.on_record_submitted)
        app.view(View.ADD_ACTION.value)(self.on_action_submitted)
        app.action(Action.DONE.value)(self.on_done)

    @property
    def channel(self) -> str:
        return self.ctx.policy.channels.incidents

    def parts(self, session: Any, record: PostIncidentReview) -> tuple[Any, ...]:
        return (reviews.actions_of(session, review_id=record.id or 0),)

    # ---- the slash command ----------------------------------------------------------------

    def on_actions(self, call: Call) -> None:
        self.answer_list(
            call,
            "Open follow-up actions",
            lambda session: render.actions_blocks(reviews.open_actions(session)),
        )

    # ---- a new review ---------------------------------------------------------------------

    def announce_review(self, incident_key: str) -> None:
        """Post a major incident's new review, tell its owner, and say so in the incident's
        channel."""
        with self.ctx.db.session() as session:
            review = reviews.find_for(session, incident_key=incident_key)
            major = major_incidents.find(session, key=incident_key)
        if review is None:
            return
        self.announce(review.key)
        try:
            self.ctx.client.chat_postMessage(channel=review.owner, text=render.owner_text(review))
            if major is not None and major.channel_id:
                self.ctx.client.chat_postMessage(
                    channel=major.channel_id, text=render.step_text("created", review, review.owner)
                )
        except SlackApiError as error:
            log.warning("review %s not told: %s", review.key, error.response.get("error"))

    # ---- forms and buttons ----------------------------------------------------------------

    def on_record_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(session: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return reviews.record(
                session,
                key=key,
                what_happened=values.get(Field.WHAT_HAPPENED),
                root_cause=values.get(Field.ROOT_CAUSE),
                went_well=values.get(Field.WENT_WELL),
                problem=values.get(Field.PROBLEM),
                raise_problem="yes" in (values.get(Field.RAISE_PROBLEM) or []),
                actor=actor,
                now=self.ctx.clock.now(),
            )

        done = self.submit(ack, body, view, apply, Field.WHAT_HAPPENED)
        if done:
            ref, actor, (review, raised) = done
            text = render.step_text("record", review, actor.user_id)
            if raised:
                text += f" Raised {raised} from its root cause."
            later(self.ctx, self.refresh, ref.key, step=text)

    def on_action_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(session: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return reviews.add_action(
                session,
                key=key,
                text=values.get(Field.ACTION_TEXT) or "",
                owner=values.get(Field.ACTION_OWNER),
                due=_date(values.get(Field.ACTION_DUE)),
                actor=actor,
                now=self.ctx.clock.now(),
            )

        done = self.submit(ack, body, view, apply, Field.ACTION_TEXT)
        if done:
            ref, actor, (review, action) = done
            later(
                self.ctx,
                self.refresh,
                ref.key,
                step=render.action_added_text(review, action, actor.user_id),
            )

    def on_done(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._done, body, respond)

    def _done(self, body: dict[str, Any], respond: Respond) -> None:
        actor = actor_of(self.ctx, body)
        try:
            action_id = reviews.action_id(body["actions"][0].get("value"))
            with self.ctx.db.session() as session:
                review, action, changed = reviews.complete_action(
                    session, action_id=action_id, actor=actor, now=self.ctx.clock.now()
                )
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        tell(respond, f"Action #{action.id} of {review.key} is done.")
        if changed:
            self.refresh(review.key, step=render.action_done_text(review, action, actor.user_id))

    def after_step(self, move: str, record: Any, actor: Actor) -> None:
        super().after_step(move, record, actor)
        if move == "close" and self.ctx.policy.major_incidents.archive_channel:
            self._archive(record.incident_key)

    def _archive(self, incident_key: str) -> None:
        """Closing the review archives the incident's channel (major_incidents.archive_channel)."""
        with self.ctx.db.session() as session:
            major = major_incidents.find(session, key=incident_key)
        if major is None or not major.channel_id:
            return
        try:
            self.ctx.client.conversations_archive(channel=major.channel_id)
        except SlackApiError as error:
            log.warning("channel of %s not archived: %s", incident_key, error.response.get("error"))


def _date(raw: Any) -> date | None:
    """A datepicker's YYYY-MM-DD (None when empty); a forged value is refused plainly."""
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise reviews.FieldError(
            Field.ACTION_DUE, "Choose the due date with the date picker."
        ) from None
