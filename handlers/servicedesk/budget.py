"""Slack listeners for `/cost` and `/servicedesk budget`: parse, call services.budgets,
render. No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond

from bot.context import AppContext
from handlers import record_blocks as rb
from handlers.common import ack_then, actor_of, tell
from handlers.servicedesk import budget_render as render
from services import budgets, effort, service_list
from services.errors import ServiceDeskError
from services.mrkdwn import user_text


def split_service(text: str, names: list[str]) -> tuple[str | None, str]:
    """(the service the text starts with, the rest): the longest matching name wins, so
    names with spaces work; (None, text) when it starts with none."""
    lowered = text.lower()
    for name in sorted(names, key=len, reverse=True):
        if lowered.startswith(name.lower()) and (
            len(text) == len(name) or text[len(name)].isspace()
        ):
            return name, text[len(name) :].strip()
    return None, text


class CostHandlers:
    """`/cost`: book a cost against a service, or list the latest."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.command("/cost")(ack_then(self.ctx, self._command))

    def _command(self, body: dict[str, Any], respond: Respond) -> None:
        text = " ".join((body.get("text") or "").split())
        head = text.split(" ", 1)[0].lower() if text else "help"
        if head == "help":
            tell(respond, render.COST_USAGE)
            return
        if head == "list":
            self._list(text[4:].strip(), respond)
            return
        if head == "effort":
            self._effort(text.split(" ", 3)[1:], body, respond)
            return
        self._book(text, body, respond)

    def _effort(self, words: list[str], body: dict[str, Any], respond: Respond) -> None:
        """`/cost effort KEY TIME [note]`: effort on a record, costed at its team's rate."""
        if len(words) < 2:
            tell(respond, f"Give the record and the time spent.\n\n{render.COST_USAGE}")
            return
        try:
            with self.ctx.db.session() as session:
                entry, cost, _alerts = effort.log(
                    session,
                    key=words[0],
                    spent=words[1],
                    note=words[2] if len(words) > 2 else "",
                    actor=actor_of(self.ctx, body),
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
                answer = render.effort_text(self.ctx.policy, entry, cost)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        tell(respond, answer)

    def _list(self, wanted: str, respond: Respond) -> None:
        policy = self.ctx.policy
        service = None
        if wanted:
            with self.ctx.db.read_session() as session:
                found = service_list.find(session, policy=policy, name=wanted)
            if found is None:
                tell(respond, f"`{user_text(wanted[:60])}` is not a service.")
                return
            service = found.name
        with self.ctx.db.session() as session:
            costs = budgets.recent(session, service=service)
        respond(
            text="Latest costs",
            blocks=render.costs_blocks(policy, costs, service),
            response_type="ephemeral",
            replace_original=False,
        )

    def _book(self, text: str, body: dict[str, Any], respond: Respond) -> None:
        policy = self.ctx.policy
        # One service list: the policy's and those a service change added at run time.
        with self.ctx.db.read_session() as session:
            listed = [s.name for s in service_list.offered(session, policy=policy)]
        service, rest = split_service(text, listed)
        if service is None:
            first = text.split(" ", 1)[0]
            names = ", ".join(listed) or "none configured"
            tell(
                respond,
                f"`{user_text(first[:60])}` is not a service. Services: {user_text(names)}.\n\n"
                f"{render.COST_USAGE}",
            )
            return
        words = rest.split(" ", 2)
        if len(words) < 2 or not words[0]:
            tell(respond, f"Give the amount and the category.\n\n{render.COST_USAGE}")
            return
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.session() as session:
                cost, _alerts = budgets.record_cost(
                    session,
                    service=service,
                    amount=words[0],
                    category=words[1],
                    note=words[2] if len(words) > 2 else "",
                    actor=actor_of(self.ctx, body),
                    now=now,
                    policy=policy,
                )
                found = [
                    f
                    for f in budgets.status(session, policy=policy, on=cost.incurred_on)
                    if f.service == cost.service
                ]
                answer = render.booked_text(policy, cost, found)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        tell(respond, answer)


class BudgetCommand:
    """`/servicedesk budget [period]`: budget against actual per service."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def run(self, args: list[str], respond: Respond) -> None:
        policy = self.ctx.policy
        if not policy.sms.budgets:
            tell(respond, render.NO_BUDGETS)
            return
        period = args[0].upper() if args else None
        if period is not None and not any(b.period == period for b in policy.sms.budgets):
            known = ", ".join(sorted({b.period for b in policy.sms.budgets}))
            tell(respond, f"No budget is for `{user_text(period[:20])}`. Periods: {known}.")
            return
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            found = budgets.status(session, policy=policy, on=now.date(), period=period)
        label = period or f"periods covering {rb.short_day(now)}"
        respond(
            text=render.budget_fallback(policy, found),
            blocks=render.budget_blocks(policy, found, label),
            response_type="ephemeral",
            replace_original=False,
        )
