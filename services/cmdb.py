"""The CMDB: configuration items, their relationships, type-ahead search and impact analysis."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from models.change import ACTIVE_STATUSES as CHANGE_ACTIVE
from models.change import Change, ChangeStatus, ChangeTarget
from models.cmdb import KEY_PREFIX, NAME_MAX, CIRelation, CIStatus, CIType, ConfigItem, RelationKind
from models.incident import OPEN_STATUSES as INCIDENT_OPEN
from models.incident import Incident
from models.policy import Policy
from models.problem import OPEN_STATUSES as PROBLEM_OPEN
from models.problem import Problem
from services import audit, links
from services.errors import InvalidInput, NotFound
from services.mrkdwn import user_text
from services.permissions import SYSTEM, Actor, require_cmdb_editor
from services.records import RecordKind

# Link kind for "this record concerns that configuration item" (INC-3 → CI-4).
ITEM_LINK = "item"
# Item fields an import or an edit may change, in the order they are audited.
FIELDS = ("type", "owner", "team", "status", "supplier", "attributes")


KIND = RecordKind(ConfigItem, KEY_PREFIX, "configuration item", "CI-12")


def parse_key(key: str) -> int:
    """'CI-12' → 12; anything else is refused in plain words."""
    return KIND.parse_key(key)


def get(session: Session, *, key: str, for_update: bool = False) -> ConfigItem:
    """The configuration item with this key; with `for_update`, locked until the transaction ends."""
    return KIND.get(session, key=key, for_update=for_update)


def find_by_name(session: Session, *, name: str) -> ConfigItem | None:
    """The item of this name, whatever its case (None for a name no item can have: one with a
    NUL, which PostgreSQL refuses to even compare)."""
    if "\x00" in name:
        return None
    statement = select(ConfigItem).where(ConfigItem.name_lower == normalise_name(name).lower())
    return session.exec(statement).first()


def resolve(session: Session, *, ref: str) -> ConfigItem:
    """An item by key (CI-4) or by name."""
    prefix, _, number = ref.strip().upper().partition("-")
    if prefix == KEY_PREFIX and number.isdigit():
        return get(session, key=ref)
    item = find_by_name(session, name=ref)
    if item is None:
        raise NotFound(f"There is no configuration item called '{user_text(ref.strip())}'.")
    return item


def normalise_name(name: str) -> str:
    return " ".join(name.split())


def attributes_text(attributes: dict[str, Any] | None) -> str:
    """The stored form of free attributes: JSON with sorted keys, so equal means equal text."""
    return json.dumps(attributes or {}, sort_keys=True, ensure_ascii=False)


def attributes_of(item: ConfigItem) -> dict[str, Any]:
    return json.loads(item.attributes or "{}")


def create_item(
    session: Session,
    *,
    name: str,
    type: CIType | str,
    actor: Actor,
    now: datetime,
    owner: str | None = None,
    team: str | None = None,
    status: CIStatus | str = CIStatus.LIVE,
    supplier: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> ConfigItem:
    """Add an item. Names are unique without regard to case."""
    require_cmdb_editor(actor)
    name = normalise_name(name)
    if not name:
        raise InvalidInput("Give the configuration item a name.")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"Keep the name under {NAME_MAX} characters.")
    if find_by_name(session, name=name) is not None:
        raise InvalidInput(f"There is already a configuration item called '{name}'.")
    item = ConfigItem(
        name=name,
        name_lower=name.lower(),
        type=_type(type),
        owner=owner,
        team=team,
        status=_status(status),
        supplier=supplier,
        attributes=attributes_text(attributes),
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(
        session, key=item.key, actor=actor.user_id, at=now, action="created", after=item.name
    )
    return item


def update_item(
    session: Session, *, item: ConfigItem, changes: dict[str, Any], actor: Actor, now: datetime
) -> list[str]:
    """Apply `changes` (field → new value) and audit each field that really changed.
    Returns the names of the changed fields."""
    require_cmdb_editor(actor)
    changed: list[str] = []
    for name in FIELDS:
        if name not in changes:
            continue
        value = changes[name]
        if name == "type":
            value = _type(value)
        elif name == "status":
            value = _status(value)
        elif name == "attributes":
            value = attributes_text(value)
        before = getattr(item, name)
        if before == value:
            continue
        setattr(item, name, value)
        audit.record(
            session,
            key=item.key,
            actor=actor.user_id,
            at=now,
            action="updated",
            field=name,
            before=before,
            after=value,
        )
        changed.append(name)
    if changed:
        item.updated_at = now
    return changed


def _type(value: CIType | str) -> str:
    try:
        return CIType(str(value).strip().lower()).value
    except ValueError:
        raise InvalidInput(
            f"'{value}' is not an item type; use one of {', '.join(t.value for t in CIType)}."
        ) from None


def _status(value: CIStatus | str) -> str:
    try:
        return CIStatus(str(value).strip().lower()).value
    except ValueError:
        raise InvalidInput(
            f"'{value}' is not an item status; use one of {', '.join(s.value for s in CIStatus)}."
        ) from None


def relate(
    session: Session,
    *,
    source: ConfigItem,
    kind: RelationKind,
    target: ConfigItem,
    actor: Actor,
    now: datetime,
) -> bool:
    """Record `source kind target` (app depends_on db). False when it was already there."""
    require_cmdb_editor(actor)
    if source.id == target.id:
        raise InvalidInput(f"{source.name} cannot {kind.value.replace('_', ' ')} itself.")
    existing = session.exec(
        select(CIRelation).where(
            CIRelation.source_id == source.id,
            CIRelation.kind == kind.value,
            CIRelation.target_id == target.id,
        )
    ).first()
    if existing is not None:
        return False
    session.add(CIRelation(source_id=source.id, kind=kind.value, target_id=target.id))
    audit.record(
        session,
        key=source.key,
        actor=actor.user_id,
        at=now,
        action="related",
        field=kind.value,
        after=target.name,
    )
    return True


def unrelate(
    session: Session,
    *,
    source: ConfigItem,
    kind: RelationKind,
    target: ConfigItem,
    actor: Actor,
    now: datetime,
) -> bool:
    """Remove `source kind target`. False when there was no such relationship."""
    require_cmdb_editor(actor)
    result = session.execute(
        delete(CIRelation).where(
            col(CIRelation.source_id) == source.id,
            col(CIRelation.kind) == kind.value,
            col(CIRelation.target_id) == target.id,
        )
    )
    if result.rowcount == 0:
        return False
    audit.record(
        session,
        key=source.key,
        actor=actor.user_id,
        at=now,
        action="unrelated",
        field=kind.value,
        before=target.name,
    )
    return True


def targets(session: Session, *, item: ConfigItem, kind: RelationKind) -> list[ConfigItem]:
    """What `item` depends on / runs on, by name."""
    statement = (
        select(ConfigItem)
        .join(CIRelation, col(CIRelation.target_id) == col(ConfigItem.id))
        .where(CIRelation.source_id == item.id, CIRelation.kind == kind.value)
        .order_by(col(ConfigItem.name_lower))
    )
    return list(session.exec(statement))


def sources(session: Session, *, item: ConfigItem, kind: RelationKind) -> list[ConfigItem]:
    """Who depends on `item` (used by) / runs on it (hosts), by name."""
    statement = (
        select(ConfigItem)
        .join(CIRelation, col(CIRelation.source_id) == col(ConfigItem.id))
        .where(CIRelation.target_id == item.id, CIRelation.kind == kind.value)
        .order_by(col(ConfigItem.name_lower))
    )
    return list(session.exec(statement))


@dataclass(frozen=True)
class ItemView:
    """An item and its relationships both ways, for the item's card."""

    item: ConfigItem
    depends_on: list[ConfigItem]
    runs_on: list[ConfigItem]
    used_by: list[ConfigItem]
    hosts: list[ConfigItem]
    attributes: dict[str, Any] = field(default_factory=dict)


def show(session: Session, *, key: str) -> ItemView:
    """The item with what it depends on and runs on, and what uses it and runs on it."""
    item = get(session, key=key)
    return ItemView(
        item=item,
        depends_on=targets(session, item=item, kind=RelationKind.DEPENDS_ON),
        runs_on=targets(session, item=item, kind=RelationKind.RUNS_ON),
        used_by=sources(session, item=item, kind=RelationKind.DEPENDS_ON),
        hosts=sources(session, item=item, kind=RelationKind.RUNS_ON),
        attributes=attributes_of(item),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    session: Session,
    *,
    text: str,
    types: Iterable[CIType | str] | None = None,
    limit: int = 25,
    live_only: bool = False,
) -> list[ConfigItem]:
    """Type-ahead: items whose name starts with `text` (an index range on the lowered name),
    then, when fewer than `limit`, items whose name contains it elsewhere. Case-insensitive.
    With `live_only`, retired items (a service a change removed) are left out."""
    needle = normalise_name(text).lower()
    type_values = [_type(t) for t in types] if types else None
    prefix = select(ConfigItem)
    if live_only:
        prefix = prefix.where(col(ConfigItem.status) != CIStatus.RETIRED.value)
    if needle:
        if session.get_bind().dialect.name == "postgresql":
            # Served by the text_pattern_ops index whatever the database collation.
            prefix = prefix.where(
                col(ConfigItem.name_lower).like(_escape_like(needle) + "%", escape="\\")
            )
        else:
            # SQLite compares bytes, so this range is exactly "starts with" and walks the
            # unique index on name_lower.
            prefix = prefix.where(
                col(ConfigItem.name_lower) >= needle,
                col(ConfigItem.name_lower) < needle + "\U0010ffff",
            )
    if type_values:
        prefix = prefix.where(col(ConfigItem.type).in_(type_values))
    found = list(session.exec(prefix.order_by(col(ConfigItem.name_lower)).limit(limit)))
    if len(found) >= limit or not needle:
        return found
    inner = (
        select(ConfigItem)
        .where(col(ConfigItem.name_lower).like("%" + _escape_like(needle) + "%", escape="\\"))
        .where(~col(ConfigItem.name_lower).like(_escape_like(needle) + "%", escape="\\"))
    )
    if type_values:
        inner = inner.where(col(ConfigItem.type).in_(type_values))
    if live_only:
        inner = inner.where(col(ConfigItem.status) != CIStatus.RETIRED.value)
    inner = inner.order_by(col(ConfigItem.name_lower)).limit(limit - len(found))
    return found + list(session.exec(inner))


def chosen(
    session: Session, *, ref: str | None, policy: Policy
) -> tuple[str | None, ConfigItem | None]:
    """What a form's service-or-item type-ahead chose: (None, the item) for a configuration
    item (by key or name), (the policy's service name, None) for a service the policy knows
    that is no item, (None, None) for nothing chosen; NotFound for anything else."""
    if not ref:
        return None, None
    known = policy.service(ref)
    try:
        return None, resolve(session, ref=ref)
    except NotFound:
        if known is not None:
            return known.name, None
        raise


def affected_services(session: Session, *, key: str) -> list[ConfigItem]:
    """Impact analysis: every service that depends on or runs on this item, at any depth
    (including the item itself when it is a service), sorted by name. Cycles end the walk."""
    start = get(session, key=key)
    seen: set[int] = {start.id}  # type: ignore[arg-type]
    frontier: set[int] = {start.id}  # type: ignore[arg-type]
    while frontier:
        # One query per level of the graph, not per item.
        statement = select(CIRelation.source_id).where(col(CIRelation.target_id).in_(frontier))
        frontier = {row for row in session.exec(statement)} - seen
        seen |= frontier
    statement = (
        select(ConfigItem)
        .where(col(ConfigItem.id).in_(seen), ConfigItem.type == CIType.SERVICE.value)
        .order_by(col(ConfigItem.name_lower))
    )
    return list(session.exec(statement))


def related_names(session: Session, *, names: Iterable[str]) -> set[str]:
    """For change conflicts: the names of every item connected to the named ones through
    depends-on or runs-on, in either direction and at any depth (a change to a database
    conflicts with one to the service on top of it). Names that are not items add nothing."""
    start: set[int] = set()
    for name in names:
        item = find_by_name(session, name=name)
        if item is not None and item.id is not None:
            start.add(item.id)
    seen, frontier = set(start), set(start)
    while frontier:
        down = select(CIRelation.target_id).where(col(CIRelation.source_id).in_(frontier))
        up = select(CIRelation.source_id).where(col(CIRelation.target_id).in_(frontier))
        frontier = ({row for row in session.exec(down)} | {row for row in session.exec(up)}) - seen
        seen |= frontier
    if not seen:
        return set()
    statement = select(ConfigItem.name).where(col(ConfigItem.id).in_(seen))
    return set(session.exec(statement))


def sync_policy_services(session: Session, *, policy: Policy, now: datetime) -> list[ConfigItem]:
    """Make every service of the policy file an item of type service (owned by its team).
    Creates only the missing ones; returns those it created."""
    created = []
    for service in policy.services:
        if find_by_name(session, name=service.name) is not None:
            continue
        described = {"description": service.description} if service.description else None
        created.append(
            create_item(
                session,
                name=service.name,
                type=CIType.SERVICE,
                team=service.team,
                owner=service.on_call,
                actor=SYSTEM,
                now=now,
                attributes=described,
            )
        )
    return created


@dataclass(frozen=True)
class OpenRecords:
    incidents: list[str]
    problems: list[str]
    other: list[str]
    changes: list[str] = field(default_factory=list)


def open_records_for_item(session: Session, *, key: str) -> OpenRecords:
    """Open incidents on the item (logged against its name as the service, or linked to it),
    open problems on it or linked to it, and every other record key linked to it."""
    item = get(session, key=key)
    linked_keys = links.linked(session, key=item.key)
    linked_incidents = [_id(k) for k in linked_keys if k.startswith("INC-")]
    linked_problems = [_id(k) for k in linked_keys if k.startswith("PRB-")]
    open_incident = col(Incident.status).in_([s.value for s in INCIDENT_OPEN])
    incidents = session.exec(
        select(Incident.id).where(
            open_incident,
            (Incident.service == item.name) | col(Incident.id).in_(linked_incidents),
        )
    )
    open_problem = col(Problem.status).in_([s.value for s in PROBLEM_OPEN])
    problems = session.exec(
        select(Problem.id).where(
            open_problem,
            (Problem.item_key == item.key)
            | (Problem.service == item.name)
            | col(Problem.id).in_(linked_problems),
        )
    )
    changes = session.exec(
        select(Change.id)
        .join(ChangeTarget, col(ChangeTarget.change_id) == col(Change.id))
        .where(
            # Targets are stored with the item's name (or as typed): an indexed IN, not lower().
            col(ChangeTarget.target).in_({item.name, item.name_lower}),
            col(Change.status).in_([*(s.value for s in CHANGE_ACTIVE), ChangeStatus.REVIEW.value]),
        )
        .distinct()
    )
    return OpenRecords(
        incidents=[f"INC-{i}" for i in sorted(incidents)],
        problems=[f"PRB-{i}" for i in sorted(problems)],
        other=[k for k in linked_keys if not k.startswith(("INC-", "PRB-", "CHG-"))],
        changes=[f"CHG-{i}" for i in sorted(changes)],
    )


def _id(key: str) -> int:
    return int(key.partition("-")[2])
