"""What `/cost` and `/servicedesk budget` answer: one place for the wording. Service names,
categories and notes are escaped; money is shown with its currency and two places."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.blocks import Block, header, line_sections
from handlers import record_blocks as rb
from models.budget import Cost
from models.management_review import EffortEntry
from models.policy import Policy
from services.budgets import BudgetStatus, money
from services.mrkdwn import mention, user_text

COST_USAGE = (
    "*/cost* books a cost against a service:\n"
    "• `/cost SERVICE AMOUNT CATEGORY [note]` — for example "
    "`/cost payments 1200.50 licences Datadog renewal`; a minus sign books a credit.\n"
    "• `/cost effort KEY TIME [note]` — time spent on an incident, request, change or problem "
    "(`/cost effort INC-4 1h30m`), costed at its team's hourly rate against its service.\n"
    "• `/cost list [service]` — the latest costs.\n"
    "• `/cost help` — this message.\n"
    "Files: `servicedesk cost import costs.csv`. Budgets: `/servicedesk budget`."
)

NO_BUDGETS = (
    "No budgets are set. Add `[[sms.budgets]]` to the policy file (service, period like "
    "`2026` or `2026-Q4`, amount): see the README, section Budgets and costs."
)


def _mark(found: BudgetStatus) -> str:
    if found.percent >= 100:
        return " :rotating_light:"
    if found.percent >= 80:
        return " :warning:"
    return ""


def status_line(policy: Policy, found: BudgetStatus) -> str:
    budget = found.budget
    remaining = (
        f"{money(policy, found.remaining)} left"
        if found.remaining >= 0
        else f"{money(policy, -found.remaining)} over"
    )
    owner = mention(found.owner, nobody="no owner")
    return (
        f"• *{user_text(found.service)}* {budget.period}: {money(policy, found.actual)} of "
        f"{money(policy, budget.amount)} ({found.shown_percent}){_mark(found)} — {remaining}, "
        f"{owner}"
        + (f"; of which effort {money(policy, found.effort)}" if found.effort_cents else "")
    )


def effort_text(policy: Policy, entry: EffortEntry, cost: Cost | None) -> str:
    """The answer to `/cost effort`: what was logged and what it cost."""
    whole, minutes = divmod(entry.minutes, 60)  # as people write it: 30m, 2h, 1h05m
    hours = (f"{whole}h" if whole else "") + (
        f"{minutes:02d}m" if whole and minutes else f"{minutes}m" if minutes else ""
    )
    if cost is None:
        why = "no hourly rate applies" if not entry.rate_cents else "the record has no service"
        return f"Logged {hours} on {entry.record_key}; no cost booked ({why})."
    return (
        f"Logged {hours} on {entry.record_key}: {money(policy, cost.amount)} booked against "
        f"*{user_text(cost.service)}* as effort."
    )


def budget_blocks(policy: Policy, found: Sequence[BudgetStatus], label: str) -> list[Block]:
    lines = [status_line(policy, f) for f in found] or [f"_No budget covers {user_text(label)}._"]
    return [header(f"Budget against actual — {label}"[:150]), *line_sections(lines)]


def budget_fallback(policy: Policy, found: Sequence[BudgetStatus]) -> str:
    total = sum((f.actual for f in found), Decimal("0"))
    return f"{len(found)} budget(s); {money(policy, total)} spent against them."


def booked_text(policy: Policy, cost: Cost, found: Sequence[BudgetStatus]) -> str:
    kind = "credit" if cost.amount < 0 else "cost"
    note = f": {user_text(cost.note)}" if cost.note else ""
    lines = [
        f"Booked a {kind} of {money(policy, cost.amount)} ({user_text(cost.category)}) against "
        f"*{user_text(cost.service)}* on {rb.short_day(cost.incurred_on)}{note}."
    ]
    lines += [status_line(policy, f) for f in found]
    return "\n".join(lines)


def costs_blocks(policy: Policy, costs: Sequence[Cost], service: str | None) -> list[Block]:
    heading = f"Latest costs of {user_text(service)}" if service else "Latest costs"
    if not costs:
        return line_sections([f"*{heading}*: none."])
    lines = [
        f"• {rb.short_day(c.incurred_on)} *{user_text(c.service)}* {money(policy, c.amount)} "
        f"{user_text(c.category)}" + (f" — {user_text(c.note)}" if c.note else "")
        for c in costs
    ]
    return line_sections([f"*{heading}*", *lines])
