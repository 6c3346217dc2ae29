"""Effort logged on records (`/cost effort INC-4 90m [note]`): minutes worked on an incident,
service request, change or problem, costed at the hourly rate of the record's team (or, for a
record without one, its service's team; `[sms.hourly_rates]`, else `[sms] hourly_rate`) and
booked as a cost of category "effort" against the record's service (a change's: the first
service it targets), so budgets, their 80 % / 100 % alerts and `/servicedesk budget`
count it. Each entry is audited on the record."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session, col, select

from models.budget import BudgetAlert, Cost, money_to_cents
from models.change import Change, ChangeTarget
from models.management_review import EffortEntry
from models.policy import Policy, Service
from services import audit, budgets, changes, incidents, problems, requests, service_list
from services.errors import InvalidInput
from services.mrkdwn import user_text
from services.permissions import Actor, require_agent

CATEGORY = "effort"
MAX_MINUTES = 7 * 24 * 60  # one entry covers at most a week
NOTE_MAX = 500
_DURATION = re.compile(r"^(?:(?P<h>[0-9]{1,3})h)?(?:(?P<m>[0-9]{1,5})m?)?$", re.IGNORECASE)
KINDS = {
    "INC": incidents.KIND,
    "REQ": requests.KIND,
    "CHG": changes.KIND,
    "PRB": problems.KIND,
}


def parse_minutes(text: str) -> int:
    """`90m`, `1h30m`, `2h` or `45` → minutes: from 1 minute to a week, ASCII digits only."""
    cleaned = (text or "").strip().lower()
    matched = _DURATION.match(cleaned) if cleaned else None
    if matched is None or not (matched.group("h") or matched.group("m")):
        raise InvalidInput(
            f"'{user_text(cleaned[:20])}' is not a time spent; write it like `90m`, `1h30m` or `2h`."
        )
    minutes = int(matched.group("h") or 0) * 60 + int(matched.group("m") or 0)
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput("Log between 1 minute and a week (168h) at a time.")
    return minutes


def rate_for(policy: Policy, team: str | None) -> Decimal | None:
    """The hourly rate of `team` (`[sms.hourly_rates]`, any letter case), else the default."""
    lowered = (team or "").lower()
    found = next((r for t, r in policy.sms.hourly_rates.items() if t.lower() == lowered), None)
    return found if found is not None else policy.sms.hourly_rate


def _record(key: str) -> tuple[Any, str]:
    prefix = key.strip().upper().partition("-")[0]
    kind = KINDS.get(prefix)
    if kind is None:
        raise InvalidInput(
            f"'{user_text(key.strip()[:40])}' is not an incident, request, change or problem key "
            "(INC-4, REQ-2, CHG-7, PRB-3)."
        )
    return kind, prefix


def _service_of(session: Session, policy: Policy, record: Any) -> Service | None:
    """The service the effort is booked against: the record's own (a service on the list now,
    run-time additions included), or for a change the first service among its targets."""
    if isinstance(record, Change):
        targets = session.exec(
            select(ChangeTarget.target)
            .where(ChangeTarget.change_id == record.id)
            .order_by(col(ChangeTarget.target))
        ).all()
        found = (service_list.find(session, policy=policy, name=t) for t in targets)
        return next((service for service in found if service is not None), None)
    return service_list.find(session, policy=policy, name=getattr(record, "service", None))


def log(
    session: Session,
    *,
    key: str,
    spent: str,
    note: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> tuple[EffortEntry, Cost | None, list[BudgetAlert]]:
    """Log `spent` on the record `key` (agents only): the entry, the cost it booked (None
    without a rate or a service of the policy's) and the budget alerts that cost raised."""
    require_agent(actor, doing="log effort")
    kind, _prefix = _record(key)
    minutes = parse_minutes(spent)
    text = " ".join((note or "").split())
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_MAX} characters.")
    record = kind.get(session, key=key)
    service = _service_of(session, policy, record)
    team = (
        getattr(record, "team", None)
        or getattr(record, "fulfilment_team", None)
        or (service.team if service is not None else None)
    )
    rate = rate_for(policy, team)
    rate_cents = money_to_cents(rate) if rate is not None else 0
    cost_cents = int((Decimal(rate_cents * minutes) / 60).quantize(Decimal(1), ROUND_HALF_UP))
    cost = None
    if cost_cents and service is not None:
        cost = Cost(
            service=service.name,
            amount_cents=cost_cents,
            category=CATEGORY,
            note=f"{record.key}: {minutes} min" + (f", {text}" if text else ""),
            incurred_on=now.date(),
            source=f"effort on {record.key}",
            recorded_by=actor.user_id,
            recorded_at=now,
        )
        session.add(cost)
        session.flush()
    entry = EffortEntry(
        record_key=record.key,
        minutes=minutes,
        team=team,
        service=service.name if service else None,
        rate_cents=rate_cents,
        cost_id=cost.id if cost else None,
        note=text,
        logged_by=actor.user_id,
        logged_at=now,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        key=record.key,
        actor=actor.user_id,
        at=now,
        action="effort logged",
        field="effort",
        after=f"{minutes} min",
        note=(f"cost {cost.amount} ({service.name if service else ''})" if cost else "no cost")
        + (f": {text}" if text else ""),
    )
    alerts = (
        budgets.check_thresholds(
            session, policy=policy, touched={(cost.service, cost.incurred_on)}, now=now
        )
        if cost is not None
        else []
    )
    return entry, cost, alerts
