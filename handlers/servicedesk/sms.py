"""Slack listeners for `/servicedesk sms` and the SMS review button and form: parse, call
services, render. No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from handlers.common import ack_then, clicked, clicked_from, later, submitted, tell
from handlers.servicedesk import sms_render as render
from models.sms import SmsReviewRef
from services import sms, sms_reviews
from services.errors import ServiceDeskError
from services.permissions import Actor

OLD_BUTTON = "That button is from an old message; what it was about is unknown."


class SmsHandlers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.action(sms_reviews.RECORD_REVIEW_ACTION_ID)(
            ack_then(self.ctx, self._open_review, with_client=True)
        )
        app.view(render.REVIEW_VIEW)(self.on_review_submitted)

    # ---- /servicedesk sms --------------------------------------------------------------------

    def command(self, args: list[str], body: dict[str, Any], respond: Respond) -> None:
        """Called by the /servicedesk listener, after its ack, with the words after `sms`."""
        policy = self.ctx.policy
        described = policy.sms.model_dump(exclude_defaults=True)
        if not described:
            tell(respond, render.EMPTY)
            return
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.session() as session:
                period, measured = sms.measure_objectives(session, policy=policy, now=now)
                rows = sms_reviews.standing(session, policy=policy, now=now)
                latest = sms_reviews.reviews(
                    session, item_ids=[r.id for r in rows.values() if r.id is not None]
                )
                blocks = render.sms_blocks(
                    policy, measured, sms.quarter_label(period), rows, latest, now.date()
                )
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        respond(
            text=render.sms_fallback(policy),
            blocks=blocks,
            response_type="ephemeral",
            replace_original=False,
        )

    # ---- Record review -----------------------------------------------------------------------

    def _open_review(self, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        now = self.ctx.clock.now()

        def check(session: Any, ref: SmsReviewRef, actor: Actor) -> tuple[Any, int | None]:
            item = sms_reviews.check_reviewer(
                self.ctx.policy, kind=ref.kind, name=ref.name, actor=actor
            )
            standing = sms_reviews.standing(session, policy=self.ctx.policy, now=now)
            row = standing.get((ref.kind.value, item.name))
            return item, row.version if row is not None else None

        done = clicked(self.ctx, body, respond, SmsReviewRef, check, old_button=OLD_BUTTON)
        if done is None:
            return
        ref, _actor, (item, current) = done
        channel, ts = clicked_from(body)
        carried = SmsReviewRef(kind=ref.kind, name=item.name, channel=channel, ts=ts)
        view = render.review_modal(ref.kind, item, current, carried, now.date())
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def on_review_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def record(session: Any, ref: SmsReviewRef, actor: Actor, values: dict[str, Any]) -> Any:
            return sms_reviews.record_review(
                session,
                kind=ref.kind,
                name=ref.name,
                actor=actor,
                reviewed_on=values.get(render.DATE_FIELD),
                outcome=values.get(render.OUTCOME_FIELD),
                version=values.get(render.VERSION_FIELD),
                note=values.get(render.NOTE_FIELD),
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )

        done = submitted(
            self.ctx, ack, body, view, SmsReviewRef, record, render.NOTE_FIELD, repeat_is_done=True
        )
        if done is None:
            return
        ref, _actor, review = done
        item = self.ctx.policy.sms.item(ref.kind.value, ref.name)
        if ref.channel and ref.ts and item is not None:
            later(
                self.ctx,
                self.ctx.client.chat_update,
                channel=ref.channel,
                ts=ref.ts,
                text=render.recorded_text(ref.kind, item, review),
                blocks=[],
            )
