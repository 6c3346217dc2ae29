"""Slack listeners for post-incident reviews (`/pir`): parse, call services.reviews, render."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot import thread_posts
from handlers.common import ack_then, actor_of, later, tell
from handlers.kind import Call, Form, KindHandlers, Show, Step, SubCommand
from handlers.record_blocks import register_blocks
from handlers.reviews import render
from handlers.reviews.ids import Action, Field, View
from models.carried import RecordRef
from models.major_incident import PostIncidentReview
from services import incidents, major_incidents, reviews, security
from services.errors import FieldError, ServiceDeskError
from services.permissions import Actor

log = logging.getLogger(__name__)


class ReviewHandlers(KindHandlers):
    command = "/pir"
    kind = reviews.KIND
    renderer = render
    table = (
        SubCommand("list", "on_list", "open reviews, soonest due first", aliases=("",)),
        Show("one review, its actions and its audit trail"),
        SubCommand("actions", "on_actions", "follow-up actions not done yet"),
    )
    first_step_by = "owner"
    steps = {Action.CLOSE: Step("close", reviews.close)}
    forms = {
        Action.RECORD: Form("record", render.record_modal),
        Action.ADD_ACTION: Form("add_action", render.action_modal),
    }

    def register_more(self, app: App) -> None:
        app.view(View.RECORD.value)(self.on_record_submitted)
        app.view(View.ADD_ACTION.value)(self.on_action_submitted)
        app.action(Action.DONE.value)(ack_then(self.ctx, self._done))

    # Where a new review is announced (announce_review sets it for a restricted incident).
    _channel: str | None = None

    @property
    def channel(self) -> str:
        return self._channel or self.ctx.policy.channels.incidents

    def parts(self, session: Any, record: PostIncidentReview) -> tuple[Any, ...]:
        return (reviews.actions_of(session, review_id=record.id or 0),)

    # ---- the slash command ----------------------------------------------------------------

    def on_list(self, call: Call) -> None:
        actor = actor_of(self.ctx, call.body)
        heading = "Open post-incident reviews"

        def blocks(session: Any) -> list[Any]:
            found = reviews.list_open(session)
            hidden = reviews.hidden(session, found, actor)
            return register_blocks(
                found,
                heading,
                lambda r: render.restricted_line(r) if r.key in hidden else render.list_line(r),
                none="None.",
            )

        self.answer_list(call, heading, blocks)

    def on_actions(self, call: Call) -> None:
        actor = actor_of(self.ctx, call.body)

        def blocks(session: Any) -> list[Any]:
            found = reviews.open_actions(session)
            return render.actions_blocks(
                found, hidden=sorted(reviews.hidden_actions(session, found, actor))
            )

        self.answer_list(call, "Open follow-up actions", blocks)

    def refresh(self, key: str, *, step: str | None = None) -> tuple[str | None, str | None]:
        """The review's message follows it; the step in its thread is kept with its incident's
        posts, so restricting the incident redacts it too."""
        channel, ts = super().refresh(key)
        if step and channel and ts:
            with self.ctx.db.session() as session:
                incident_key = reviews.KIND.get(session, key=key).incident_key
            thread_posts.post(self.ctx, incident_key, channel, step, thread_ts=ts)
        return channel, ts

    def check_show(self, record: PostIncidentReview, actor: Actor) -> None:
        reviews.check_visible(record, actor)

    def message(
        self, session: Any, record: PostIncidentReview, ref: RecordRef | None
    ) -> tuple[str, list[Any]]:
        """A restricted incident's review shows only its key outside the security channel (it
        was posted before the incident was restricted)."""
        incident = reviews.incident_of(session, record)
        if incident.restricted and reviews.shown_outside(record, self.ctx.policy):
            return render.redacted_message(record)
        return super().message(session, record, ref)

    # ---- a new review ---------------------------------------------------------------------

    def announce_review(self, incident_key: str) -> None:
        """Post a major incident's new review, tell its owner, and say so in the incident's
        channel."""
        with self.ctx.db.session() as session:
            review = reviews.find_for(session, incident_key=incident_key)
            major = major_incidents.find(session, key=incident_key)
            incident = incidents.get(session, key=incident_key)
        if review is None:
            return
        # A restricted incident's review is announced where the incident is: channels.security.
        self._channel = security.channel_for(incident, self.ctx.policy)
        self.announce(review.key)
        try:
            self.ctx.client.chat_postMessage(channel=review.owner, text=render.owner_text(review))
            if major is not None and major.channel_id and not major.channel_redacted:
                thread_posts.post(
                    self.ctx,
                    incident_key,
                    major.channel_id,
                    self.step_text("created", review, review.owner),
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
            text = self.step_text("record", review, actor.user_id)
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
        raise FieldError(Field.ACTION_DUE, "Choose the due date with the date picker.") from None
