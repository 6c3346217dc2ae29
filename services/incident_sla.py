"""An incident's SLA standing: response and resolution targets, evaluated on the SLA clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from models.incident import Incident
from models.policy import Policy
from services import incidents, sla_clock
from services.sla_clock import SlaState


@dataclass(frozen=True)
class IncidentSla:
    response: SlaState
    resolution: SlaState

    @property
    def next_deadline(self) -> tuple[str, SlaState] | None:
        """The target that matters next: response until acknowledged, then resolution."""
        for name, state in (("response", self.response), ("resolution", self.resolution)):
            if not state.stopped:
                return name, state
        return None


def calendar_for(policy: Policy, priority: int) -> sla_clock.WorkCalendar:
    target = policy.sla.target_for(priority)
    return sla_clock.calendar_for(
        target.calendar, sla_clock.BusinessCalendar.from_policy(policy.sla.calendar)
    )


def evaluate(session: Session, *, incident: Incident, policy: Policy, now: datetime) -> IncidentSla:
    """Both targets of one incident at `now`, with its On-hold pauses taken off the clock."""
    calendar = calendar_for(policy, incident.priority)
    pauses = incidents.pauses(session, key=incident.key)
    stop_resolution = incident.resolved_at or incident.closed_at
    states = {}
    for which, stopped_at in (
        ("response", incident.acknowledged_at or stop_resolution),
        ("resolution", stop_resolution),
    ):
        states[which] = sla_clock.evaluate(
            start=incident.created_at,
            target=policy.sla.clock_target(incident.priority, which),  # type: ignore[arg-type]
            calendar=calendar,
            pauses=pauses,
            now=now,
            stopped_at=stopped_at,
        )
    return IncidentSla(response=states["response"], resolution=states["resolution"])
