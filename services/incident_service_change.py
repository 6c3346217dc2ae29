"""Moving an incident to another service after it was logged: the covering agreement's
targets follow (deadlines recomputed from the original start), and both moves (service, and
the agreement it falls under) are in the audit trail with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from models.incident import Incident
from models.policy import Policy
from services import audit, service_list
from services.errors import InvalidInput
from services.incidents import KIND, LIFECYCLE, _refresh_sla, authorise, get
from services.mrkdwn import user_text
from services.permissions import Actor

NONE_WORDS = ("none", "-")
REASON_MAX = 500


@dataclass(frozen=True)
class ServiceChange:
    incident: Incident
    before_service: str | None
    before_agreement: str | None


def _chosen(session: Session, policy: Policy, service: str) -> str | None:
    cleaned = service.strip()
    if cleaned.lower() in NONE_WORDS:
        return None
    found = service_list.find(session, policy=policy, name=cleaned)
    if found is None:
        offered = service_list.offered(session, policy=policy)
        names = ", ".join(s.name for s in offered) or "none configured"
        raise InvalidInput(
            f"`{user_text(cleaned[:100])}` is not a service. Services: {user_text(names)}, "
            "or `none`."
        )
    return found.name


def change_service(
    session: Session,
    *,
    key: str,
    service: str,
    reason: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> ServiceChange:
    """Put incident `key` on `service` ("none" for no service). Agents only, while it is open
    (the moves a priority override may make). Returns the incident with the service and the
    agreement it had before."""
    incident = get(session, key=key, for_update=True)
    authorise(incident, "reprioritise", actor)
    LIFECYCLE.check("reprioritise", incident.status, key=incident.key)
    new_service = _chosen(session, policy, service)
    why = " ".join(reason.split())
    if not why:
        raise InvalidInput("Say why the service changes; it goes into the audit trail.")
    if len(why) > REASON_MAX:
        raise InvalidInput(f"Keep the reason under {REASON_MAX} characters.")
    if (new_service or "").lower() == (incident.service or "").lower():
        raise InvalidInput(f"{incident.key} is already on {new_service or 'no service'}.")
    before_service, before_agreement = incident.service, incident.agreement
    KIND.set_field(
        session,
        incident,
        "service",
        new_service,
        actor=actor,
        now=now,
        action="service changed",
        note=why,
    )
    _refresh_sla(session, incident, now, policy)  # sets incident.agreement, moves deadlines
    if incident.agreement != before_agreement:
        audit.record(
            session,
            key=incident.key,
            actor=actor.user_id,
            at=now,
            action="agreement changed",
            field="agreement",
            before=before_agreement,
            after=incident.agreement,
            note=f"service {before_service or 'none'} → {new_service or 'none'}: {why}",
        )
    return ServiceChange(incident, before_service, before_agreement)
