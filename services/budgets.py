"""Budgeting and accounting (ISO/IEC 20000-1 clause 6.4): costs booked against services, each
service's budgets against what was spent, and the owner told once per budget period when the
spending crosses 80 % and 100 %.

Money is Decimal in Python and whole cents in the store (exact on SQLite and PostgreSQL, summed
exactly by the database); amounts people type are read as decimals, never as floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.budget import (
    MAX_AMOUNT,
    THRESHOLDS,
    Budget,
    BudgetAlert,
    Cost,
    cents_to_money,
    money_to_cents,
)
from models.policy import Policy
from services import audit, notifications, rows, service_list
from services.errors import InvalidInput
from services.mrkdwn import user_text
from services.permissions import Actor, require_agent

NOTE_MAX = 300
LIST_LIMIT = 20
# A sign, up to twelve digits, and up to two decimals: nothing a float would have to round.
_AMOUNT = re.compile(r"^(-?)([0-9]{1,12})(?:\.([0-9]{1,2}))?$")
AMOUNT_HELP = "Write amounts like 1200 or 1200.50: a dot for decimals, no thousands separators."


def parse_amount(text: str | None) -> Decimal:
    """A typed amount as Decimal with two places; a minus sign books a credit. Zero, floats'
    spellings (1e3, inf, nan), more than twelve digits or two decimals are refused."""
    cleaned = (text or "").strip()
    found = _AMOUNT.match(cleaned)
    if not found:
        raise InvalidInput(f"'{user_text(cleaned[:30])}' is not an amount. {AMOUNT_HELP}")
    try:
        amount = Decimal(cleaned).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidInput(f"'{user_text(cleaned[:30])}' is not an amount. {AMOUNT_HELP}") from None
    if amount == 0:
        raise InvalidInput("An amount of zero books nothing.")
    if abs(amount) > MAX_AMOUNT:
        raise InvalidInput("That amount is larger than any budget; check it.")
    return amount


def percent_text(part_cents: int, whole_cents: int) -> str:
    """ "79.9 %": rounded down, so a budget shows 80.0 % only once 80 % is really reached."""
    value = (Decimal(part_cents) * 100 / whole_cents).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return f"{value} %"


def money(policy: Policy, amount: Decimal) -> str:
    """`EUR 12,345.60`: the currency from `[sms] currency`, grouped thousands, two places."""
    return f"{user_text(policy.sms.currency)} {amount:,.2f}"


@dataclass(frozen=True)
class Checked:
    """A cost's fields, checked against the policy: ready to be stored."""

    service: str
    amount_cents: int
    category: str
    note: str
    incurred_on: date


def check_cost(
    policy: Policy,
    *,
    service: str | None,
    amount: str | Decimal | None,
    category: str | None,
    note: str | None,
    incurred_on: date,
    today: date,
    session: Session | None = None,
) -> Checked:
    """The cost's fields, or InvalidInput saying which one is wrong and what is allowed. With a
    session the service is looked up on the service list (services a change added count)."""
    if session is None:
        known, listed = policy.service(service), policy.services
    else:
        known = service_list.find(session, policy=policy, name=service)
        listed = service_list.offered(session, policy=policy)
    if known is None:
        names = ", ".join(s.name for s in listed) or "none configured"
        raise InvalidInput(
            f"'{user_text((service or '')[:60])}' is not a service. Services: {user_text(names)}."
        )
    value = amount if isinstance(amount, Decimal) else parse_amount(amount)
    categories = policy.sms.cost_categories
    chosen = next((c for c in categories if c.lower() == (category or "").strip().lower()), None)
    if chosen is None:
        raise InvalidInput(
            f"'{user_text((category or '')[:60])}' is not a cost category. Categories: "
            f"{user_text(', '.join(categories))}."
        )
    text = " ".join((note or "").split())
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_MAX} characters.")
    if incurred_on > today:
        raise InvalidInput("A cost cannot be incurred in the future.")
    return Checked(known.name, money_to_cents(value), chosen, text, incurred_on)


def record_cost(
    session: Session,
    *,
    service: str | None,
    amount: str | Decimal | None,
    category: str | None,
    note: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
    incurred_on: date | None = None,
) -> tuple[Cost, list[BudgetAlert]]:
    """Book a cost against a service (agents only), then tell the budget owners whose budget it
    pushed over 80 % or 100 %. Returns the cost and the alerts it raised."""
    require_agent(actor, doing="record costs")
    checked = check_cost(
        policy,
        session=session,
        service=service,
        amount=amount,
        category=category,
        note=note,
        incurred_on=incurred_on or now.date(),
        today=now.date(),
    )
    cost = Cost(
        service=checked.service,
        amount_cents=checked.amount_cents,
        category=checked.category,
        note=checked.note,
        incurred_on=checked.incurred_on,
        source="slack",
        recorded_by=actor.user_id,
        recorded_at=now,
    )
    session.add(cost)
    session.flush()
    audit.record(
        session,
        key=f"COST-{cost.id}",
        actor=actor.user_id,
        at=now,
        action="cost recorded",
        after=f"{cost.amount} {checked.category}",
        note=f"{checked.service}" + (f": {checked.note}" if checked.note else ""),
    )
    return cost, check_thresholds(
        session, policy=policy, touched={(checked.service, checked.incurred_on)}, now=now
    )


def spent(
    session: Session, *, service: str, starts: date, ends: date, category: str | None = None
) -> int:
    """Cents booked against `service` on days in [starts, ends) (one indexed SUM), of one
    `category` only when given."""
    statement = select(func.coalesce(func.sum(Cost.amount_cents), 0)).where(
        Cost.service == service, col(Cost.incurred_on) >= starts, col(Cost.incurred_on) < ends
    )
    if category is not None:
        statement = statement.where(Cost.category == category)
    return int(session.exec(statement).one())


def service_of(policy: Policy, budget: Budget) -> str:
    """The service's name as the policy spells it (costs are stored under that spelling)."""
    found = policy.service(budget.service)
    return found.name if found else budget.service


def owner_of(policy: Policy, budget: Budget) -> str | None:
    """Who is told about a budget: its `owner`, else the lead of the service's team."""
    if budget.owner:
        return budget.owner
    service = policy.service(budget.service)
    team = policy.team(service.team) if service else None
    return team.lead if team else None


def alert_text(policy: Policy, budget: Budget, threshold: int, actual: int) -> str:
    name = user_text(service_of(policy, budget))
    head = (
        f":rotating_light: *{name}* is over its {budget.period} budget"
        if threshold >= 100
        else f":moneybag: *{name}* has used {threshold} % of its {budget.period} budget"
    )
    return (
        f"{head}: {money(policy, cents_to_money(actual))} of {money(policy, budget.amount)} "
        f"({percent_text(actual, money_to_cents(budget.amount))}). `/servicedesk budget` shows "
        "every service."
    )


def check_thresholds(
    session: Session, *, policy: Policy, touched: set[tuple[str, date]], now: datetime
) -> list[BudgetAlert]:
    """For each budget a booked (service, day) falls in, record each threshold its spending
    has reached, once per (service, period, threshold) (the unique key), and queue the owner's
    notice. One SUM per budget touched, however many costs were booked."""
    days: dict[str, set[date]] = {}
    for service, day in touched:
        days.setdefault(service.lower(), set()).add(day)
    alerts = []
    for budget in policy.sms.budgets:
        booked = days.get(budget.service.lower(), set())
        if not any(budget.starts <= day < budget.ends for day in booked):
            continue
        actual = spent(
            session, service=service_of(policy, budget), starts=budget.starts, ends=budget.ends
        )
        limit = money_to_cents(budget.amount)
        for threshold in THRESHOLDS:
            if actual * 100 < limit * threshold:
                continue
            alert = _record_alert(session, policy, budget, threshold, actual, now)
            if alert is not None:
                alerts.append(alert)
    return alerts


def _record_alert(
    session: Session, policy: Policy, budget: Budget, threshold: int, actual: int, now: datetime
) -> BudgetAlert | None:
    owner = owner_of(policy, budget)
    alert = BudgetAlert(
        service=service_of(policy, budget),
        period=budget.period,
        threshold=threshold,
        budget_cents=money_to_cents(budget.amount),
        actual_cents=actual,
        owner=owner,
        alerted_at=now,
    )
    if not rows.add_once(session, alert):
        return None  # this threshold of this budget period was already reached and told
    text = alert_text(policy, budget, threshold, actual)
    recipient = owner or policy.channels.escalations
    notifications.schedule(
        session,
        record_key=alert.key,
        kind="budget",
        stage=f"{threshold}%",
        recipient=recipient,
        due_at=now,
        text=text,
        now=now,
    )
    audit.record(
        session,
        key=alert.key,
        actor="servicedesk",
        at=now,
        action=f"budget {threshold} % reached",
        after=str(cents_to_money(actual)),
        note=f"{budget.service} {budget.period}: budget {budget.amount}",
    )
    return alert


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    service: str  # as the policy's [[services]] spells it
    actual_cents: int
    owner: str | None
    effort_cents: int = 0  # of actual_cents, booked from effort logged on records

    @property
    def actual(self) -> Decimal:
        return cents_to_money(self.actual_cents)

    @property
    def effort(self) -> Decimal:
        return cents_to_money(self.effort_cents)

    @property
    def percent(self) -> Decimal:
        return Decimal(self.actual_cents) * 100 / money_to_cents(self.budget.amount)

    @property
    def shown_percent(self) -> str:
        return percent_text(self.actual_cents, money_to_cents(self.budget.amount))

    @property
    def remaining(self) -> Decimal:
        return self.budget.amount - self.actual


def status(
    session: Session, *, policy: Policy, on: date | None = None, period: str | None = None
) -> list[BudgetStatus]:
    """Budget against actual for every budget whose period contains `on` (today), or that is
    for `period` ("2026-Q4")."""
    chosen = [
        b
        for b in policy.sms.budgets
        if (
            b.period == period.strip().upper()
            if period
            else b.starts <= (on or date.today()) < b.ends
        )
    ]
    return [
        BudgetStatus(
            b,
            service_of(policy, b),
            spent(session, service=service_of(policy, b), starts=b.starts, ends=b.ends),
            owner_of(policy, b),
            spent(
                session,
                service=service_of(policy, b),
                starts=b.starts,
                ends=b.ends,
                category="effort",
            ),
        )
        for b in chosen
    ]


def recent(session: Session, *, service: str | None = None) -> list[Cost]:
    """The latest costs booked (of one service, or all), newest first."""
    statement = select(Cost).order_by(col(Cost.incurred_on).desc(), col(Cost.id).desc())
    if service:
        statement = statement.where(Cost.service == service)
    return list(session.exec(statement.limit(LIST_LIMIT)))
