"""What a report covers: everything, one service, one agreement, or one customer (all the
agreements made with that customer). Agreements come from the policy's `[[agreements]]`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from models.policy import Policy
from models.report_policy import scope_parts
from services import service_list
from services.errors import InvalidInput

SCOPE_HELP = (
    "Scopes are `all` (the default), a service name or `service:NAME`, `agreement:NAME` "
    "and `customer:NAME`."
)


@dataclass(frozen=True)
class Scope:
    """`services` None means every service (and incidents with none); `agreements` names the
    agreements whose records are counted (agreement and customer scopes)."""

    kind: str
    name: str | None = None
    services: tuple[str, ...] | None = None
    agreements: tuple[str, ...] | None = None
    # Availability target (percent) per service, from the agreements in scope.
    targets: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.kind == "all":
            return "all services"
        return f"{self.kind} {self.name}"

    @property
    def slug(self) -> str:
        if self.kind == "all":
            return "all"
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in (self.name or ""))
        return f"{self.kind}-{safe.lower()}"


def agreements_of(policy: Policy) -> list[Any]:
    """The policy's agreements; none on a policy that has no `[[agreements]]` section yet."""
    return list(getattr(policy, "agreements", None) or [])


def _from_agreements(kind: str, name: str, found: list[Any], policy: Policy) -> Scope:
    services: list[str] = []
    targets: dict[str, float] = {}
    for agreement in found:
        for service in agreement.services:
            known = policy.service(service)
            service_name = known.name if known else service
            if service_name not in services:
                services.append(service_name)
            target = getattr(agreement, "availability_target", None)
            if target is not None:
                # Two agreements on one service: the stricter target is the one to meet.
                targets[service_name] = max(target, targets.get(service_name, 0.0))
    return Scope(
        kind=kind,
        name=name,
        services=tuple(services),
        agreements=tuple(a.name for a in found),
        targets=targets,
    )


def resolve(policy: Policy, text: str | None, session: Session | None = None) -> Scope:
    """Read a scope as written ("all", "payments", "service:payments", "agreement:Gold",
    "customer:Acme"); a bare word is a service, else an agreement, else a customer. With a
    session, services a change added at run time count too (services.service_list)."""
    cleaned = (text or "").strip()
    if not cleaned or cleaned.lower() in ("all", "everything"):
        return Scope(kind="all")
    kind, name = scope_parts(cleaned) if ":" in cleaned else ("", cleaned)
    agreements = agreements_of(policy)
    if kind in ("", "service"):
        service = (
            policy.service(name)
            if session is None
            else service_list.find(session, policy=policy, name=name)
        )
        if service is not None:
            return Scope(kind="service", name=service.name, services=(service.name,))
        if kind == "service":
            raise InvalidInput(f"`{name}` is not a service. {_known(policy)}")
    if kind in ("", "agreement"):
        found = [a for a in agreements if a.name.lower() == (name or "").lower()]
        if found:
            return _from_agreements("agreement", found[0].name, found, policy)
        if kind == "agreement":
            raise InvalidInput(f"`{name}` is not an agreement. {_known(policy)}")
    if kind in ("", "customer"):
        found = [a for a in agreements if (a.customer or "").lower() == (name or "").lower()]
        if found:
            return _from_agreements("customer", found[0].customer, found, policy)
        if kind == "customer":
            raise InvalidInput(f"`{name}` is not a customer of any agreement. {_known(policy)}")
    if kind not in ("", "service", "agreement", "customer"):
        raise InvalidInput(f"`{cleaned}` is not a scope. {SCOPE_HELP}")
    raise InvalidInput(f"`{name}` is not a service, agreement or customer. {_known(policy)}")


def _known(policy: Policy) -> str:
    services = ", ".join(s.name for s in policy.services) or "none"
    agreements = agreements_of(policy)
    text = f"Services: {services}."
    if agreements:
        text += f" Agreements: {', '.join(a.name for a in agreements)}."
        customers = sorted({a.customer for a in agreements if getattr(a, "customer", None)})
        if customers:
            text += f" Customers: {', '.join(customers)}."
    return text
