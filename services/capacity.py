"""Capacity management (ISO/IEC 20000-1 clause 6.5): measurements of the metrics `[[capacity]]`
requires, where each stands against its thresholds, and a linear trend of its last
measurements that forecasts when it reaches its critical threshold.

Everything is evaluated when a measurement arrives (over HTTP or from a file), in the same
transaction, under a lock on the metric's state row: so two replicas receiving measurements at
once count one crossing once. A crossing is a move to a worse level than the state held:
warning tells the owner (through the outbox), critical opens an incident (or, while the
incident of the previous critical crossing is still open, is recorded on it). Going back to a
better level and crossing again is a new crossing. A forecast that reaches critical within the
horizon raises one alert until the forecast moves outside it again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.capacity import AlertKind, CapacityAlert, CapacityMeasurement, CapacityState, Level
from models.capacity_policy import VALUE_LIMIT, CapacityRequirement
from models.cmdb import ConfigItem
from models.incident import TITLE_MAX, IncidentInput
from models.incident import Level as Impact
from models.policy import Policy
from services import audit, incident_intake, incidents, notifications
from services.errors import InvalidInput, NotFound
from services.mrkdwn import user_text
from services.permissions import SYSTEM

# A measurement may be dated a little ahead (clocks drift) and up to ten years back (history).
FUTURE_SLACK = timedelta(minutes=5)
HISTORY = timedelta(days=3660)
MIN_POINTS = 3
TIME_TEXT_MAX = 40
# A plain decimal number, optionally with an exponent: what a CSV cell may hold.
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$")
OUTBOX_KIND = "capacity"


# ---- reading what was sent -------------------------------------------------------------------
# These messages are plain text: the HTTP answer and the command line show them, never Slack.


def requirement(policy: Policy, *, item: str, metric: str) -> CapacityRequirement:
    """The `[[capacity]]` entry for this item and metric, or NotFound naming what is required."""
    found = policy.capacity_requirement(item, metric)
    if found is None:
        raise NotFound(
            f"No capacity requirement for {item[:100]} {metric[:60]}: "
            "add it to [[capacity]] in the policy file."
        )
    return found


def parse_value(raw: object, *, from_text: bool = False) -> float:
    """A measured value: a JSON number (or, `from_text`, a number written in a CSV cell),
    finite and within ±1e12. Booleans, strings in JSON, NaN, infinities and longer numbers are
    refused."""
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput("value must be a number, like 71.5")
    if isinstance(raw, str) and from_text:
        text = raw.strip()
        if len(text) > TIME_TEXT_MAX or not _NUMBER.match(text):
            raise InvalidInput(f"'{text[:30]}' is not a number, like 71.5")
        raw = float(text)
    if not isinstance(raw, int | float):
        raise InvalidInput("value must be a number, like 71.5")
    if isinstance(raw, int) and abs(raw) > VALUE_LIMIT:
        raise InvalidInput(f"value must be between -{VALUE_LIMIT:g} and {VALUE_LIMIT:g}")
    value = float(raw)
    if not math.isfinite(value) or abs(value) > VALUE_LIMIT:
        raise InvalidInput(f"value must be between -{VALUE_LIMIT:g} and {VALUE_LIMIT:g}")
    return value


def parse_at(raw: object, *, now: datetime) -> datetime:
    """When it was measured: ISO 8601 (`2026-11-27T10:00:00Z`; without an offset it is UTC),
    not more than five minutes ahead of the bot's clock nor more than ten years back."""
    if not isinstance(raw, str):
        raise InvalidInput('at must be an ISO 8601 time in a string, like "2026-11-27T10:00:00Z"')
    text = raw.strip()
    try:
        if len(text) > TIME_TEXT_MAX:
            raise ValueError
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"'{text[:TIME_TEXT_MAX]}' is not an ISO 8601 time, like 2026-11-27T10:00:00Z"
        ) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when > now + FUTURE_SLACK:
        raise InvalidInput(f"{when:%Y-%m-%d %H:%M} UTC is in the future")
    if when < now - HISTORY:
        raise InvalidInput(f"{when:%Y-%m-%d} is more than ten years ago")
    return when


# ---- storing and evaluating ------------------------------------------------------------------


@dataclass
class Recorded:
    """What one measurement did: stored (False: the same item, metric and time was stored
    before), the metric's level and forecast now, and the alerts it raised."""

    stored: bool
    level: Level
    forecast_at: datetime | None
    alerts: list[CapacityAlert] = field(default_factory=list)


def _insert(session: Session, model: type, unique: list[str]):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing(index_elements=unique)


def store(session: Session, rows: Sequence[dict[str, object]]) -> int:
    """Insert measurements (item lower-cased, metric, at, value, source, recorded_at), those
    stored before skipped; returns how many were new. One statement per 1,000 rows."""
    table = CapacityMeasurement.__table__  # type: ignore[attr-defined]
    statement = _insert(session, CapacityMeasurement, ["item", "metric", "at"]).returning(
        table.c.id
    )
    new = 0
    for start in range(0, len(rows), 1000):
        new += len(session.execute(statement, list(rows[start : start + 1000])).all())
    return new


def record(
    session: Session,
    *,
    policy: Policy,
    item: str,
    metric: str,
    value: object,
    at: object,
    now: datetime,
    source: str = "http",
) -> Recorded:
    """Store one measurement (`at` None: now) and evaluate its metric."""
    required = requirement(policy, item=item, metric=metric)
    measured = parse_value(value)
    when = now if at is None else parse_at(at, now=now)
    stored = store(
        session,
        [
            {
                "item": required.key[0],
                "metric": required.metric,
                "at": when,
                "value": measured,
                "source": source,
                "recorded_at": now,
            }
        ],
    )
    result = evaluate(session, policy=policy, required=required, now=now)
    result.stored = bool(stored)
    return result


def level_of(required: CapacityRequirement, value: float) -> Level:
    if required.worse(value, required.critical):
        return Level.CRITICAL
    if required.worse(value, required.warning):
        return Level.WARNING
    return Level.OK


def forecast(
    required: CapacityRequirement, points: Sequence[tuple[datetime, float]]
) -> datetime | None:
    """When the least-squares line through `points` (time, value) reaches the critical
    threshold: None with fewer than three points at distinct times, or when the line is flat or
    improving. A line already past it forecasts the latest point's time."""
    if len(points) < MIN_POINTS:
        return None
    start = min(at for at, _ in points)
    xs = [(at - start).total_seconds() / 86400 for at, _ in points]
    ys = [value for _, value in points]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    if (slope <= 0) if required.direction == "up" else (slope >= 0):
        return None
    reached = mean_x + (required.critical - mean_y) / slope
    latest = max(xs)
    if reached > latest + HISTORY.days:
        return None  # further out than any horizon
    return start + timedelta(days=max(reached, latest))


def _locked_state(session: Session, required: CapacityRequirement, now: datetime) -> CapacityState:
    item, metric = required.key
    session.execute(
        _insert(session, CapacityState, ["item", "metric"]).values(
            item=item,
            metric=metric,
            level=Level.OK.value,
            forecast_raised=False,
            alerts=0,
            updated_at=now,
        )
    )
    return session.exec(
        select(CapacityState)
        .where(CapacityState.item == item, CapacityState.metric == metric)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def evaluate(
    session: Session, *, policy: Policy, required: CapacityRequirement, now: datetime
) -> Recorded:
    """Bring the metric's state in line with its latest `window` measurements: its level, any
    crossing to a worse one, and the forecast. Locks the state row first."""
    state = _locked_state(session, required, now)
    item, metric = required.key
    latest_first = session.exec(
        select(CapacityMeasurement.at, CapacityMeasurement.value)
        .where(CapacityMeasurement.item == item, CapacityMeasurement.metric == metric)
        .order_by(col(CapacityMeasurement.at).desc())
        .limit(required.window)
    ).all()
    result = Recorded(stored=False, level=Level(state.level), forecast_at=state.forecast_at)
    if not latest_first:
        return result
    latest_at, latest_value = latest_first[0]
    level = level_of(required, latest_value)
    before = Level(state.level)
    owner = owners(session, policy, [required])[required.key]
    if level.rank > before.rank:
        kind = AlertKind.CRITICAL if level is Level.CRITICAL else AlertKind.WARNING
        result.alerts.append(
            _raise(session, policy, required, state, kind, latest_value, latest_at, owner, now)
        )
    if level is not before:
        audit.record(
            session,
            key=state.key,
            actor=SYSTEM.user_id,
            at=now,
            action="capacity level changed",
            field="level",
            before=before.value,
            after=level.value,
            note=f"{required.item} {required.metric} {latest_value:g}{required.unit}",
        )
    predicted = forecast(required, [(at, value) for at, value in latest_first])
    inside = (
        predicted is not None
        and level is not Level.CRITICAL
        and predicted <= now + required.horizon
    )
    state.level = level.value
    state.latest_value = latest_value
    state.latest_at = latest_at
    state.forecast_at = predicted
    if inside and not state.forecast_raised:
        result.alerts.append(
            _raise(
                session,
                policy,
                required,
                state,
                AlertKind.FORECAST,
                latest_value,
                latest_at,
                owner,
                now,
                forecast_at=predicted,
            )
        )
    state.forecast_raised = inside
    state.updated_at = now
    session.add(state)
    result.level = level
    result.forecast_at = predicted
    return result


def _raise(
    session: Session,
    policy: Policy,
    required: CapacityRequirement,
    state: CapacityState,
    kind: AlertKind,
    value: float,
    measured_at: datetime,
    owner: str | None,
    now: datetime,
    forecast_at: datetime | None = None,
) -> CapacityAlert:
    state.alerts += 1
    recipient = owner or policy.channels.escalations
    alert = CapacityAlert(
        state_id=state.id or 0,
        number=state.alerts,
        item=state.item,
        metric=state.metric,
        kind=kind.value,
        value=value,
        measured_at=measured_at,
        forecast_at=forecast_at,
        recipient=None if kind is AlertKind.CRITICAL else recipient,
        raised_at=now,
    )
    if kind is AlertKind.CRITICAL:
        alert.incident_key = _incident(session, policy, required, state, alert, now)
    else:
        notifications.schedule(
            session,
            record_key=state.key,
            kind=OUTBOX_KIND,
            stage=f"{alert.number}:{kind.value}",
            recipient=recipient,
            due_at=now,
            text=alert_text(required, alert),
            now=now,
        )
    session.add(alert)
    audit.record(
        session,
        key=state.key,
        actor=SYSTEM.user_id,
        at=now,
        action=f"capacity {kind.value} alert",
        after=alert.incident_key or recipient,
        note=alert_text(required, alert),
    )
    return alert


def _value(required: CapacityRequirement, value: float) -> str:
    return f"{value:g}{' ' if required.unit and required.unit != '%' else ''}{required.unit}"


def alert_text(required: CapacityRequirement, alert: CapacityAlert) -> str:
    """The owner's message (mrkdwn; the item, metric and unit come from the policy file)."""
    name = f"*{user_text(required.item)}* {user_text(required.metric)}"
    value = user_text(_value(required, alert.value))
    if alert.kind == AlertKind.FORECAST.value and alert.forecast_at is not None:
        return (
            f":crystal_ball: {name} is heading for its critical threshold "
            f"({user_text(_value(required, required.critical))}): the trend of its last "
            f"measurements reaches it around {alert.forecast_at:%a %d %b %Y %H:%M} UTC "
            f"(now {value}). `/servicedesk capacity {user_text(required.item)}` shows it."
        )
    if alert.kind == AlertKind.CRITICAL.value:
        return (
            f":rotating_light: {name} is at {value}, past its critical threshold "
            f"({user_text(_value(required, required.critical))})."
        )
    return (
        f":warning: {name} is at {value}, past its warning threshold "
        f"({user_text(_value(required, required.warning))}; critical at "
        f"{user_text(_value(required, required.critical))}). "
        f"`/servicedesk capacity {user_text(required.item)}` shows its trend."
    )


def _incident(
    session: Session,
    policy: Policy,
    required: CapacityRequirement,
    state: CapacityState,
    alert: CapacityAlert,
    now: datetime,
) -> str:
    """Open an incident for a critical crossing, or record it on the one the previous crossing
    opened while that is still open."""
    if state.incident_key:
        try:
            previous = incidents.get(session, key=state.incident_key)
        except NotFound:
            previous = None
        if previous is not None and previous.is_open:
            audit.record(
                session,
                key=previous.key,
                actor=SYSTEM.user_id,
                at=now,
                action="capacity critical again",
                note=f"{required.item} {required.metric} {_value(required, alert.value)}",
            )
            return previous.key
    try:
        service, item_key = incident_intake.service_or_item(
            session, chosen=required.item, policy=policy
        )
    except NotFound:
        service, item_key = None, None
    title = (
        f"Capacity critical: {required.item} {required.metric} at {_value(required, alert.value)}"
    )
    incident, _ = incident_intake.log(
        session,
        data=IncidentInput(
            title=title[:TITLE_MAX],
            description=(
                f"{required.metric} of {required.item} measured {_value(required, alert.value)} "
                f"at {alert.measured_at:%Y-%m-%d %H:%M} UTC; the critical threshold is "
                f"{_value(required, required.critical)} (warning "
                f"{_value(required, required.warning)})."
            ),
            impact=Impact.MEDIUM,
            urgency=Impact.HIGH,
            service=service,
        ),
        item=item_key,
        reporter=SYSTEM.user_id,
        now=now,
        policy=policy,
        submission_id=f"capacity:{state.id}:{alert.number}",
    )
    state.incident_key = incident.key
    return incident.key


# ---- who is told -----------------------------------------------------------------------------


def owners(
    session: Session, policy: Policy, required: Iterable[CapacityRequirement]
) -> dict[tuple[str, str], str | None]:
    """Who hears of each requirement's warnings and forecasts: its `owner`; else, for a
    service, its team's lead; for a configuration item, the item's owner or its team's lead;
    else the capacity process owner (`[sms.process_owners] capacity`). None: nobody (the
    escalations channel is told). One query for the items, however many requirements."""
    wanted = list(required)
    names = {r.key[0] for r in wanted if r.owner is None and policy.service(r.item) is None}
    items = (
        {
            ci.name_lower: ci
            for ci in session.exec(
                select(ConfigItem).where(col(ConfigItem.name_lower).in_(sorted(names)))
            )
        }
        if names
        else {}
    )
    found: dict[tuple[str, str], str | None] = {}
    for entry in wanted:
        who = entry.owner
        service = policy.service(entry.item)
        if who is None and service is not None:
            team = policy.team(service.team)
            who = team.lead if team else None
        ci = items.get(entry.key[0])
        if who is None and ci is not None:
            team = policy.team(ci.team)
            who = ci.owner or (team.lead if team else None)
        found[entry.key] = who or policy.sms.process_owners.capacity
    return found
