"""An incident's SLA standing, shaped for showing: its response and resolution targets on the
SLA clock, read through services.sla_timers (one place decides what stops and pauses it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from models.incident import Incident
from models.policy import Policy
from services import sla_timers
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


def evaluate(session: Session, *, incident: Incident, policy: Policy, now: datetime) -> IncidentSla:
    """Both targets of one incident at `now`, with its On-hold pauses taken off the clock."""
    response, resolution, _ = sla_timers.incident_sla(
        session, incident=incident, policy=policy, now=now
    )
    return IncidentSla(response=response, resolution=resolution)
