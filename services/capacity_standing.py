"""Where every capacity requirement stands, and what was measured and raised in a period: the
input of `/capacity`, `/ci show`, the capacity report section and the management review.
Recording measurements and raising alerts is services/capacity.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.capacity import CapacityAlert, CapacityMeasurement, CapacityState, Level
from models.capacity_policy import CapacityRequirement
from models.policy import Policy
from services import capacity


@dataclass(frozen=True)
class CapacityRow:
    """One requirement and where it stands: the management review's, the views' and the
    report's input."""

    requirement: CapacityRequirement
    level: Level | None  # None: nothing measured yet
    latest_value: float | None
    latest_at: datetime | None
    forecast_at: datetime | None
    forecast_inside: bool  # the forecast reaches critical within the horizon
    owner: str | None
    alerts: int = 0

    @property
    def item(self) -> str:
        return self.requirement.item

    @property
    def metric(self) -> str:
        return self.requirement.metric


def capacity_status(
    session: Session, policy: Policy, now: datetime, *, item: str | None = None
) -> list[CapacityRow]:
    """Every `[[capacity]]` requirement (of one item, any letter case, when given) in the
    policy's order, with its latest value, level and forecast. Two queries, however many."""
    wanted = [
        r for r in policy.capacity if item is None or r.key[0] == " ".join(item.split()).lower()
    ]
    if not wanted:
        return []
    states = {
        (s.item, s.metric): s
        for s in session.exec(
            select(CapacityState).where(col(CapacityState.item).in_({r.key[0] for r in wanted}))
        )
    }
    who = capacity.owners(session, policy, wanted)
    rows = []
    for entry in wanted:
        state = states.get(entry.key)
        measured = state is not None and state.latest_at is not None
        forecast_at = state.forecast_at if state else None
        rows.append(
            CapacityRow(
                requirement=entry,
                level=Level(state.level) if state is not None and measured else None,
                latest_value=state.latest_value if state else None,
                latest_at=state.latest_at if state else None,
                forecast_at=forecast_at,
                forecast_inside=bool(
                    forecast_at is not None
                    and state is not None
                    and state.level != Level.CRITICAL.value
                    and forecast_at <= now + entry.horizon
                ),
                owner=who[entry.key],
                alerts=state.alerts if state else 0,
            )
        )
    return rows


def alerts_between(
    session: Session, *, since: datetime, until: datetime, items: set[str] | None = None
) -> dict[tuple[str, str, str], int]:
    """Alerts raised in [since, until) by (item, metric, kind): one grouped count."""
    statement = (
        select(CapacityAlert.item, CapacityAlert.metric, CapacityAlert.kind, func.count())
        .where(col(CapacityAlert.raised_at) >= since, col(CapacityAlert.raised_at) < until)
        .group_by(CapacityAlert.item, CapacityAlert.metric, CapacityAlert.kind)
    )
    if items is not None:
        statement = statement.where(col(CapacityAlert.item).in_(items))
    return {(i, m, k): int(n) for i, m, k, n in session.exec(statement)}


def peaks_between(
    session: Session, *, since: datetime, until: datetime, items: set[str] | None = None
) -> dict[tuple[str, str], tuple[int, float, float]]:
    """Measurements taken in [since, until) by (item, metric): count, lowest, highest (one
    grouped query)."""
    statement = (
        select(
            CapacityMeasurement.item,
            CapacityMeasurement.metric,
            func.count(),
            func.min(CapacityMeasurement.value),
            func.max(CapacityMeasurement.value),
        )
        .where(col(CapacityMeasurement.at) >= since, col(CapacityMeasurement.at) < until)
        .group_by(CapacityMeasurement.item, CapacityMeasurement.metric)
    )
    if items is not None:
        statement = statement.where(col(CapacityMeasurement.item).in_(items))
    return {(i, m): (int(n), float(lo), float(hi)) for i, m, n, lo, hi in session.exec(statement)}
