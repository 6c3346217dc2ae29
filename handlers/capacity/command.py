"""Slack listener work for `/servicedesk capacity [item]`: parse, call services.capacity,
render. No rules here."""

from __future__ import annotations

from slack_bolt import Respond

from bot.context import AppContext
from handlers.capacity import render
from handlers.common import tell
from models.sms import SmsItemKind
from services import capacity_standing, sms_reviews
from services.mrkdwn import user_text


class CapacityCommand:
    """`/servicedesk capacity [item]`: every requirement (or one item's) with its latest
    value, level and forecast, and the capacity plans with their next review."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def run(self, args: list[str], respond: Respond) -> None:
        policy = self.ctx.policy
        if not policy.capacity:
            tell(respond, render.NO_REQUIREMENTS)
            return
        item = " ".join(args)[:200] or None
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            rows = capacity_standing.capacity_status(session, policy, now, item=item)
            if item is not None and not rows:
                items = sorted({r.item for r in policy.capacity}, key=str.lower)
                tell(
                    respond,
                    f"No capacity requirement is for `{user_text(item[:100])}`. Items: "
                    f"{user_text(', '.join(items))}.",
                )
                return
            standing = (
                sms_reviews.standing(session, policy=policy, now=now)
                if policy.sms.capacity_plans
                else {}
            )
        plans = {
            name: row
            for (kind, name), row in standing.items()
            if kind == SmsItemKind.CAPACITY_PLAN.value
        }
        respond(
            text=render.capacity_fallback(rows),
            blocks=render.capacity_blocks(
                rows, policy.sms.capacity_plans, plans, now.date(), rows[0].item if item else None
            ),
            response_type="ephemeral",
            replace_original=False,
        )
