"""Logging an incident from the New incident form: which service it is on when a CMDB item was
chosen, and creating it with that item linked, in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.cmdb import CIStatus, CIType
from models.incident import Incident, IncidentInput
from models.policy import Policy
from services import cmdb, incidents, links, service_list
from services.errors import InvalidInput
from services.mrkdwn import user_text


def service_or_item(
    session: Session, *, chosen: str | None, policy: Policy
) -> tuple[str | None, str | None]:
    """The type-ahead's choice (an item key or a name) → (the incident's service, the item to
    link). A service item is the service itself; any other item is linked and the incident goes
    to the first service it affects that the policy knows. NotFound for a choice that is
    neither an item nor a known service; a retired item (a service a change removed) is
    refused too: forms no longer offer it."""
    service_name, item = cmdb.chosen(session, ref=chosen, policy=policy)
    if item is None:
        return service_name, None
    if item.status == CIStatus.RETIRED.value:
        raise InvalidInput(
            f"'{user_text(item.name)}' is retired; choose a service or item that is live."
        )
    service = service_list.entry(policy, item)
    if item.type == CIType.SERVICE.value and service is not None:
        return service.name, None
    affected = [
        listed.name
        for s in cmdb.affected_services(session, key=item.key)
        if (listed := service_list.entry(policy, s)) is not None
    ]
    return (affected[0] if affected else None), item.key


def log(
    session: Session,
    *,
    data: IncidentInput,
    item: str | None,
    reporter: str,
    now: datetime,
    policy: Policy,
    submission_id: str | None = None,
) -> tuple[Incident, bool]:
    """Create the incident (once per `submission_id`, as incidents.create) and link the chosen
    configuration item to it, in the caller's transaction: both or neither."""
    incident, created = incidents.create(
        session,
        data=data,
        reporter=reporter,
        now=now,
        policy=policy,
        submission_id=submission_id,
    )
    if created and item:
        links.link(
            session,
            a=incident.key,
            b=item,
            kind=cmdb.ITEM_LINK,
            actor=incident.reporter,
            now=incident.created_at,
        )
    return incident, created
