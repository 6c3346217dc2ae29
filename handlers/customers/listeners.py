"""Slack listeners for `/customer` and the review buttons and form (customers and suppliers):
parse, call services.relationship_reviews, render. No rules here."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import view_values
from handlers.common import (
    OLD_BUTTON,
    OUT_OF_DATE,
    ack_then,
    actor_of,
    clicked,
    later,
    run_or_tell,
    tell,
)
from handlers.customers import render
from handlers.customers.render import F
from handlers.kind import Call, CommandHandlers, SubCommand
from handlers.record_blocks import register_blocks
from models.relationship import PartyKind
from services import agreement_changes
from services import relationship_reviews as reviews
from services.errors import ServiceDeskError
from services.mrkdwn import user_text
from services.permissions import Actor


def _date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


class CustomerHandlers(CommandHandlers):
    command = "/customer"
    heading = "*Customers*"

    table = (
        SubCommand("list", "on_list", "every customer, its owner and next service review"),
        SubCommand(
            "show", "on_show", "its services, open records, reviews and open actions", args="NAME"
        ),
    )

    def register_more(self, app: App) -> None:
        app.action(reviews.RECORD_ACTION)(ack_then(self.ctx, self._open_review))
        app.view(render.REVIEW_VIEW)(self.on_review_submitted)
        app.action(reviews.DONE_ACTION)(ack_then(self.ctx, self._done))

    def on_list(self, call: Call) -> None:
        with self.ctx.db.session() as session:
            next_on = {
                c.name: reviews.next_review(session, kind=PartyKind.CUSTOMER, found=c)
                for c in self.ctx.policy.customers
            }
        blocks = register_blocks(
            self.ctx.policy.customers,
            "Customers",
            lambda customer: render.list_line(customer, next_on),
            none="none in the policy file",
        )
        call.respond(text="Customers", blocks=blocks, response_type="ephemeral")

    def on_show(self, call: Call) -> None:
        if not call.args:
            tell(call.respond, self.usage)
            return
        name, respond = " ".join(call.args), call.respond
        kind = PartyKind.CUSTOMER
        try:
            customer = reviews.party(self.ctx.policy, kind, name)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        with self.ctx.db.session() as session:
            blocks = render.customer_blocks(
                customer,
                reviews.customer_summary(session, customer),  # type: ignore[arg-type]
            ) + self.review_section(session, kind, customer)
        respond(
            text=f"Customer {user_text(customer.name)}", blocks=blocks, response_type="ephemeral"
        )

    @staticmethod
    def review_section(session: Any, kind: PartyKind, found: Any) -> list[Any]:
        """Reviews, open actions and the Record review button (customers and suppliers); a
        customer's reviews each with the change raised from it, or a button to raise one."""
        past = reviews.reviews(session, kind=kind, name=found.name)
        raised = None
        if kind is PartyKind.CUSTOMER:
            keys = [agreement_changes.customer_review_key(r) for r in past]
            raised = agreement_changes.raised_for(session, keys=keys)
        return render.review_blocks(
            kind,
            found.name,
            past,
            reviews.open_actions(session, kind=kind, name=found.name),
            reviews.next_review(session, kind=kind, found=found),
            raised,
        )

    # ---- recording a review ---------------------------------------------------------------

    def _open_review(self, body: dict[str, Any], respond: Respond) -> None:
        def check(_session: Any, ref: reviews.PartyRef, actor: Actor) -> Any:
            return reviews.check_reviewer(
                self.ctx.policy, kind=ref.kind, name=ref.name, actor=actor
            )

        done = clicked(self.ctx, body, respond, reviews.PartyRef, check)
        if done:
            view = render.review_modal(done[0].kind, done[2].name)
            self.ctx.client.views_open(trigger_id=body["trigger_id"], view=view)

    def on_review_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = reviews.PartyRef.load(view.get("private_metadata"))
        if not isinstance(ref, reviews.PartyRef):
            ack(response_action="errors", errors={F.OUTCOME: OUT_OF_DATE})
            return
        values = view_values(view)
        actions = [
            reviews.AgreedAction(
                str(values.get(F.action(n, "text")) or ""),
                values.get(F.action(n, "owner")),
                _date(values.get(F.action(n, "due"))),
            )
            for n in range(1, render.ACTIONS_IN_FORM + 1)
        ]
        attendees = values.get(F.ATTENDEES)
        try:
            with self.ctx.db.session() as session:
                review = reviews.record_review(
                    session,
                    kind=ref.kind,
                    name=ref.name,
                    reviewed_on=_date(values.get(F.DATE)),
                    attendees=[str(a) for a in attendees] if isinstance(attendees, list) else [],
                    outcome=str(values.get(F.OUTCOME) or ""),
                    actions=actions,
                    actor=actor_of(self.ctx, body),
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                    submission_id=view.get("id"),
                )
                text, blocks = None, None
                if review is not None:
                    count = len(reviews.open_actions(session, kind=ref.kind, name=ref.name))
                    text = render.recorded_text(review.party, review.next_review, count)
                    if ref.kind is PartyKind.CUSTOMER:
                        # Changes to the customer's requirements or agreement: raised from here.
                        key = agreement_changes.customer_review_key(review)
                        blocks = render.recorded_blocks(text, key)
        except ServiceDeskError as error:
            message = str(error)
            held = getattr(error, "field", None) == "reviewed_on"
            field = F.DATE if held or ("date" in message and "Action" not in message) else F.OUTCOME
            if message.startswith("Action "):
                field = F.action(int(message.split()[1].rstrip(":")), "text")
            ack(response_action="errors", errors={field: message})
            return
        ack()
        if text:
            user = actor_of(self.ctx, body).user_id
            later(self.ctx, self._tell, user, text, blocks)

    def _tell(self, user: str, text: str, blocks: list[Any] | None = None) -> None:
        channel = str(self.ctx.client.conversations_open(users=user)["channel"]["id"])
        extra = {"blocks": blocks} if blocks else {}
        self.ctx.client.chat_postMessage(channel=channel, text=text, **extra)

    # ---- actions ---------------------------------------------------------------------------

    def _done(self, body: dict[str, Any], respond: Respond) -> None:
        raw = str(body["actions"][0].get("value") or "")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
            tell(respond, OLD_BUTTON)
            return
        text = run_or_tell(
            self.ctx,
            respond,
            lambda session: render.done_text(
                reviews.complete_action(
                    session,
                    action_id=int(raw),
                    actor=actor_of(self.ctx, body),
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
            ),
        )
        if text is None:
            return
        tell(respond, text)
