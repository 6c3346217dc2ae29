"""`/servicedesk csat [service|team|customer] [period]`: satisfaction figures."""

from __future__ import annotations

import re
from datetime import timedelta

from slack_bolt import Respond

from bot.context import AppContext
from handlers.common import tell
from handlers.feedback import render
from models.sla_policy import parse_duration
from services import surveys
from services.mrkdwn import user_text

DEFAULT_PERIOD = timedelta(days=30)
MAX_PERIOD = timedelta(days=3660)
_PERIOD = re.compile(r"^([0-9]{1,6})\s*[dwh]$", re.IGNORECASE)
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
        period = DEFAULT_PERIOD
        scope: dict[str, str] = {}
        title = "all services"
        for word in args:
            if _PERIOD.match(word):
                try:
                    period = parse_duration(word)
                except ValueError as error:
                    tell(respond, f"{user_text(error)}. Periods look like `7d` or `30d`.")
                    return
                if period > MAX_PERIOD:
                    tell(respond, "Satisfaction figures cover at most ten years; try `365d`.")
                    return
                continue
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
