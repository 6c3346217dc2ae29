"""Slack listeners for `/servicedesk sla` and the agreement review button and form: parse,
call services, render. No rules here."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import blocks as b
from bot.context import AppContext
from handlers.agreement_changes import render as change_render
from handlers.common import ack_then, clicked, clicked_from, later, submitted, tell
from handlers.servicedesk import agreement_render as render
from models.agreement import ReviewRef
from services import (
    agreement_attainment,
    agreement_changes,
    agreement_reviews,
    agreement_versions,
    audit,
)
from services.errors import ServiceDeskError
from services.permissions import Actor

log = logging.getLogger(__name__)

OLD_BUTTON = "That button is from an old message; the agreement it was about is unknown."


class AgreementHandlers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.action(agreement_reviews.RECORD_REVIEW_ACTION_ID)(
            ack_then(self.ctx, self._open_review, with_client=True)
        )
        app.view(render.REVIEW_VIEW)(self.on_review_submitted)

    # ---- /servicedesk sla [NAME] -------------------------------------------------------------

    def command(self, args: list[str], respond: Respond) -> None:
        """Called by the /servicedesk listener, after its ack, with the words after `sla`."""
        policy = self.ctx.policy
        if not args:
            tell(respond, render.list_text(policy.agreements))
            return
        name = " ".join(args)
        agreement = policy.agreement(name)
        if agreement is None:
            tell(respond, render.unknown_text(name, policy.agreements))
            return
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.session() as session:
                record = agreement_versions.record_of(session, name=agreement.name)
                found = agreement_attainment.attainment(
                    session, agreement=agreement, policy=policy, now=now
                )
                versions = agreement_versions.history(session, name=agreement.name)
                trail = audit.trail(session, key=record.key)
                reviews = agreement_reviews.reviews(session, name=agreement.name)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        respond(
            text=render.agreement_fallback(found),
            blocks=render.agreement_blocks(found, record, versions, trail, reviews, now.date()),
            response_type="ephemeral",
            replace_original=False,
        )

    # ---- Record review -----------------------------------------------------------------------

    def _open_review(self, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        def check(_session: Any, ref: ReviewRef, actor: Actor) -> Any:
            return agreement_reviews.check_reviewer(
                self.ctx.policy, name=ref.agreement, actor=actor
            )

        done = clicked(self.ctx, body, respond, ReviewRef, check, old_button=OLD_BUTTON)
        if done is None:
            return
        # The form remembers the reminder it came from, to replace its button once recorded.
        channel, ts = clicked_from(body)
        carried = ReviewRef(agreement=done[2].name, channel=channel, ts=ts)
        view = render.review_modal(done[2], carried, self.ctx.clock.now().date())
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def on_review_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def record(session: Any, ref: ReviewRef, actor: Actor, values: dict[str, Any]) -> Any:
            return agreement_reviews.record_review(
                session,
                name=ref.agreement,
                actor=actor,
                reviewed_on=values.get(render.DATE_FIELD),
                outcome=values.get(render.OUTCOME_FIELD),
                note=values.get(render.NOTE_FIELD),
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )

        done = submitted(
            self.ctx, ack, body, view, ReviewRef, record, render.NOTE_FIELD, repeat_is_done=True
        )
        if done is None:
            return
        ref, _actor, review = done
        agreement = self.ctx.policy.agreement(ref.agreement)
        if ref.channel and ref.ts and agreement is not None:
            text = render.recorded_text(agreement, review)
            blocks: list[Any] = []
            if review.outcome == agreement_reviews.ReviewOutcome.CHANGES_AGREED.value:
                # The agreed changes go through change management: raised from here.
                key = agreement_changes.agreement_review_key(review)
                blocks = [
                    b.section(text),
                    b.actions("agreement_change", [change_render.raise_button(key)]),
                ]
            later(
                self.ctx,
                self.ctx.client.chat_update,
                channel=ref.channel,
                ts=ref.ts,
                text=text,
                blocks=blocks,
            )
