"""The service list: the `[[services]]` of the policy file, less those a service change retired,
plus those a service change added at run time (services.service_changes).

The policy file is read once at start-up and stays the source for the services it names; the
CMDB records what changed since. A service added by a change is a live CMDB item of type
service marked with the change that added it (`added_by`); a retired service's item has status
retired. Forms offer `offered()`; a record naming a service finds it with `find()`.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.cmdb import CIStatus, CIType, ConfigItem
from models.policy import Policy, Service
from services import cmdb

ADDED_BY = "added_by"


def entry(policy: Policy, item: ConfigItem) -> Service | None:
    """The service list's entry for a CMDB item: the policy's service of that name, or the
    service a change added; None for a retired item or one that is no service."""
    if item.status == CIStatus.RETIRED.value:
        return None
    known = policy.service(item.name)
    if known is not None:
        return known
    if item.type != CIType.SERVICE.value:
        return None
    attributes = cmdb.attributes_of(item)
    if not attributes.get(ADDED_BY) or not item.team:
        return None
    return Service(
        name=item.name,
        team=item.team,
        on_call=item.owner,
        description=str(attributes.get("description") or ""),
    )


def added(session: Session, *, policy: Policy, name: str | None) -> Service | None:
    """A service a change added at run time (None for the policy's own and unknown names)."""
    if not name or policy.service(name) is not None:
        return None
    item = cmdb.find_by_name(session, name=name)
    return entry(policy, item) if item is not None else None


def find(session: Session, *, policy: Policy, name: str | None) -> Service | None:
    """A service on the list now, by name in any letter case."""
    if not name:
        return None
    item = cmdb.find_by_name(session, name=name)
    if item is None:
        return policy.service(name)
    return entry(policy, item)


def offered(session: Session, *, policy: Policy) -> list[Service]:
    """Every service a form may offer now, by name: one query over the service items."""
    items = {
        item.name.lower(): item
        for item in session.exec(
            select(ConfigItem).where(col(ConfigItem.type) == CIType.SERVICE.value)
        )
    }
    found: dict[str, Service] = {}
    for service in policy.services:
        item = items.get(service.name.lower())
        if item is None or item.status != CIStatus.RETIRED.value:
            found[service.name.lower()] = service
    for lowered, item in items.items():
        if lowered not in found:
            listed = entry(policy, item)
            if listed is not None:
                found[lowered] = listed
    return sorted(found.values(), key=lambda s: s.name.lower())
