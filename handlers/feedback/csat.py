"""`/servicedesk csat [service|team|customer] [period]`: satisfaction figures."""

from __future__ import annotations

from slack_bolt import Respond

from bot.context import AppContext
from handlers.common import tell
from handlers.feedback import render
from handlers.periods import split_period_or_tell
from services import surveys
from services.mrkdwn import user_text

CSAT_ARGS = "[service|team|customer] [period]"
CSAT_HELP = (
    "satisfaction: surveys sent, response rate, average, distribution and the latest comments "
    "(period like `7d`, `30d`)."
)
USAGE = f"`/servicedesk csat {CSAT_ARGS}` — {CSAT_HELP}"


class CsatCommand:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def run(self, args: list[str], respond: Respond) -> None:
        policy = self.ctx.policy
        scope: dict[str, str] = {}
        title = "all services"
        typed = split_period_or_tell(
            respond, args, what="Satisfaction figures", examples="`7d` or `30d`"
        )
        if typed is None:
            return
        period, rest = typed
        for word in rest:
            lowered = word.lower()
            service = policy.service(word)
            team = next((t for t in policy.teams if t.name.lower() == lowered), None)
            customer = next((c for c in policy.customers if c.name.lower() == lowered), None)
            if service is not None:
                scope, title = {"service": service.name}, f"service {service.name}"
            elif team is not None:
                scope, title = {"team": team.name}, f"team {team.name}"
            elif customer is not None:
                scope, title = {"customer": customer.name}, f"customer {customer.name}"
            else:
                tell(
                    respond,
                    f"`{user_text(word[:80])}` is not a service, team, customer or period.\n"
                    f"{USAGE}",
                )
                return
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            found = surveys.figures(session, since=now - period, until=now, **scope)
        respond(
            text=render.csat_fallback(title, found),
            blocks=render.csat_blocks(title, found, now - period, now),
            response_type="ephemeral",
            replace_original=False,
        )
