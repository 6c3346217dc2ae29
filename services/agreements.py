"""Which service level agreement applies to a record, and the targets it brings.

An incident or request on a service an agreement covers runs on that agreement's targets
instead of the global `[sla.targets]` / catalog ones. When several agreements cover the service
each target takes the strictest of them, compared on the time its clock has to count (on a
tie the 24x7 clock wins, being the stricter of two equal amounts); the record names the
agreement that supplied its resolution (fulfilment) target, the one the customer feels, or
when none sets targets for it, the first covering agreement (its terms for that priority are
the global ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from models.agreement_policy import Agreement
from models.policy import Policy
from services.sla_calendars import clock_name

Which = Literal["response", "resolution"]


@dataclass(frozen=True)
class ClockTarget:
    """One target as the SLA clock runs it: the time to count, and on which clock."""

    counted: timedelta
    # "24x7", "business", or "business:NAME" (agreement NAME's service hours).
    calendar: str


@dataclass(frozen=True)
class IncidentTargets:
    response: ClockTarget
    resolution: ClockTarget

    def of(self, which: Which) -> ClockTarget:
        return self.response if which == "response" else self.resolution


def agreements_covering(policy: Policy, service: str | None) -> list[Agreement]:
    """Every agreement that covers `service` (any letter case), in policy-file order."""
    return [agreement for agreement in policy.agreements if agreement.covers(service)]


def _global_target(policy: Policy, priority: int, which: Which) -> ClockTarget:
    target = policy.sla.target_for(priority)
    return ClockTarget(policy.sla.clock_target(priority, which), target.calendar)


def _agreement_target(
    policy: Policy, agreement: Agreement, priority: int, which: Which
) -> ClockTarget | None:
    key = f"P{priority}"
    target = agreement.incident_targets.get(key)
    if target is None:
        return None
    kind = target.calendar or agreement.calendar or policy.sla.targets[key].calendar
    resolved = target.model_copy(update={"calendar": kind})
    # A business day is the agreement's working day when it has its own service hours.
    hours = agreement.service_hours or policy.sla.calendar
    return ClockTarget(resolved.counted(which, hours), clock_name(agreement, kind))


def _stricter(candidate: ClockTarget, best: ClockTarget) -> bool:
    if candidate.counted != best.counted:
        return candidate.counted < best.counted
    return candidate.calendar == "24x7" and best.calendar != "24x7"


def effective_incident_targets(
    policy: Policy, service: str | None, priority: int
) -> tuple[IncidentTargets, str | None]:
    """The response and resolution targets for an incident of `priority` on `service`, and the
    name of the agreement the incident falls under: the one that supplied its resolution (else
    response) target, else the first covering one; None when no agreement covers the service.
    A priority no covering agreement sets targets for keeps the global targets."""
    chosen: dict[Which, tuple[ClockTarget, str]] = {}
    for agreement in agreements_covering(policy, service):
        for which in ("response", "resolution"):
            found = _agreement_target(policy, agreement, priority, which)
            if found is None:
                continue
            best = chosen.get(which)
            if best is None or _stricter(found, best[0]):
                chosen[which] = (found, agreement.name)
    response, resolution = (
        chosen[which][0] if which in chosen else _global_target(policy, priority, which)
        for which in ("response", "resolution")
    )
    targets = IncidentTargets(response=response, resolution=resolution)
    applied = chosen.get("resolution") or chosen.get("response")
    if applied is not None:
        return targets, applied[1]
    covering = agreement_for_service(policy, service)
    return targets, covering.name if covering is not None else None


def agreement_for_service(policy: Policy, service: str | None) -> Agreement | None:
    """The agreement a record on `service` is reported under: the first covering one in the
    policy file (None when no agreement covers it)."""
    covering = agreements_covering(policy, service)
    return covering[0] if covering else None


@dataclass(frozen=True)
class RequestTargets:
    response: timedelta
    fulfilment: timedelta
    agreement: str | None


def effective_request_targets(
    policy: Policy, service: str | None, *, response: timedelta, fulfilment: timedelta
) -> RequestTargets:
    """A service request's targets: the catalog item's (`response`, `fulfilment`), replaced by
    the strictest of the covering agreements' request targets where they set one. The request
    falls under the agreement that supplied the fulfilment (else response) target, else the
    first covering one."""
    best: dict[str, tuple[timedelta, str]] = {}
    for agreement in agreements_covering(policy, service):
        for which in ("response", "fulfilment"):
            value = getattr(agreement.request_targets, which)
            if value is not None and (which not in best or value < best[which][0]):
                best[which] = (value, agreement.name)
    applied = best.get("fulfilment") or best.get("response")
    covering = agreement_for_service(policy, service)
    return RequestTargets(
        response=best["response"][0] if "response" in best else response,
        fulfilment=best["fulfilment"][0] if "fulfilment" in best else fulfilment,
        agreement=applied[1] if applied else covering.name if covering else None,
    )


def request_clock(policy: Policy, agreement_name: str | None) -> str:
    """The clock a service request's targets count on: the service hours of the agreement it
    falls under when that agreement has its own, else the install's business hours."""
    agreement = policy.agreement(agreement_name) if agreement_name else None
    return clock_name(agreement, "business")
