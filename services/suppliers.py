"""Suppliers: which supplier a record on hold awaiting supplier waits on, that wait measured
against the supplier's contracted targets, contract-end reminders and supplier performance.

The waits are the SLA clock's pauses (sla_pause rows with reason "supplier"); `supplier_wait`
names the supplier and their ticket for a record. A wait longer than the supplier's
resolution target notifies the supplier's owner once per hold (outbox).
"""

from __future__ import annotations

import hashlib
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from models.incident import HoldReason, Incident, IncidentStatus, SlaPause
from models.policy import Policy
from models.relationship import SupplierWait
from models.relationship_policy import Supplier
from services import audit, notifications, reminders
from services.errors import InvalidInput, NotFound
from services.mrkdwn import user_text
from services.permissions import SYSTEM, Actor, require_agent

KIND = "supplier"
REMIND_AT = time(9, 0)
TICKET_MAX = 120


def find(policy: Policy, name: str | None) -> Supplier | None:
    """The supplier called `name` (any letter case)."""
    lowered = (name or "").strip().lower()
    return next((s for s in policy.suppliers if s.name.lower() == lowered), None)


def named(policy: Policy, name: str) -> Supplier:
    found = find(policy, name)
    if found is None:
        names = ", ".join(s.name for s in policy.suppliers) or "none configured"
        raise NotFound(
            f"'{user_text(name[:60])}' is not a supplier. Suppliers: {user_text(names)}."
        )
    return found


def supplier_key(name: str) -> str:
    """The outbox's record key for a supplier's reminders (names may be longer than keys)."""
    return "SUP-" + hashlib.blake2b(name.lower().encode(), digest_size=6).hexdigest()


def for_service(policy: Policy, service: str | None) -> Supplier | None:
    """The supplier supporting a service, when exactly one does."""
    if not service:
        return None
    found = [s for s in policy.suppliers if service.lower() in (n.lower() for n in s.services)]
    return found[0] if len(found) == 1 else None


def _record(session: Session, key: str) -> tuple[str, str | None]:
    """(key, service) of the incident, problem or change that names a supplier."""
    from services import changes, incidents, problems

    prefix = key.strip().upper().partition("-")[0]
    kinds = {"INC": incidents.KIND, "PRB": problems.KIND, "CHG": changes.KIND}
    kind = kinds.get(prefix)
    if kind is None:
        raise InvalidInput(
            f"'{user_text(key.strip()[:40])}' is not an incident, problem or change key; "
            "they look like INC-4, PRB-2 or CHG-7."
        )
    record: Any = kind.get(session, key=key)
    return record.key, getattr(record, "service", None)


def set_wait(
    session: Session,
    *,
    key: str,
    supplier: str | None,
    ticket_ref: str,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> SupplierWait:
    """Name the supplier (and their ticket) an incident waits on, or a problem or change
    involves; without a name, the one supplier of its service. Agents only; a second call
    updates the row."""
    require_agent(actor, doing="name the supplier a record waits on")
    record_key, service = _record(session, key)
    chosen = named(policy, supplier) if supplier else for_service(policy, service)
    if chosen is None:
        raise InvalidInput(
            f"Which supplier? For example `/supplier wait {record_key} NAME TICKET`."
        )
    return _name_wait(session, record_key, chosen, ticket_ref, actor=actor, now=now)


def _ticket(ticket_ref: str | None) -> str:
    ticket = " ".join((ticket_ref or "").split())
    if len(ticket) > TICKET_MAX:
        raise TicketError(f"Keep the ticket reference under {TICKET_MAX} characters.")
    return ticket


class TicketError(InvalidInput):
    """A ticket reference that cannot be kept; forms show it by their ticket field."""

    field = "ticket_ref"


def _name_wait(
    session: Session,
    record_key: str,
    chosen: Supplier,
    ticket_ref: str | None,
    *,
    actor: Actor,
    now: datetime,
) -> SupplierWait:
    """Name `chosen` (and their ticket) as the supplier the record waits on: the record's one
    row, locked and updated, and audited."""
    ticket = _ticket(ticket_ref)
    row = session.scalars(
        select(SupplierWait).where(col(SupplierWait.record_key) == record_key).with_for_update()
    ).first()
    before = row.supplier if row else None
    if row is None:
        row = SupplierWait(
            record_key=record_key, supplier=chosen.name, set_by=actor.user_id, set_at=now
        )
    row.supplier, row.ticket_ref, row.set_by, row.set_at = chosen.name, ticket, actor.user_id, now
    session.add(row)
    audit.record(
        session,
        key=record_key,
        actor=actor.user_id,
        at=now,
        action="supplier",
        field="supplier",
        before=before,
        after=chosen.name,
        note=ticket or None,
    )
    return row


def offered_for(policy: Policy, service: str | None) -> list[Supplier]:
    """The suppliers an On hold form offers for a record on `service`: those supporting it,
    or every supplier when none does."""
    lowered = (service or "").lower()
    supporting = [s for s in policy.suppliers if lowered in (n.lower() for n in s.services)]
    return supporting or list(policy.suppliers)


class SupplierChoiceError(InvalidInput):
    """A supplier the On hold form cannot take; shown by its supplier field."""

    field = "supplier"


def hold_awaiting(
    session: Session,
    *,
    key: str,
    reason: HoldReason,
    note: str | None,
    supplier: str | None,
    ticket_ref: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> Incident:
    """Put an incident on hold from its form (incidents.hold checks who and when). Awaiting
    supplier with a supplier chosen names it and their ticket in the same transaction, so the
    sweep neither names nor asks; without one, the sweep does as before. A supplier or ticket
    given with another reason, or a supplier the form does not offer, is refused."""
    from services import incidents

    ticket = _ticket(ticket_ref)
    chosen: Supplier | None = None
    if supplier:
        if reason is not HoldReason.SUPPLIER:
            raise SupplierChoiceError("Name a supplier only when the incident awaits one.")
        chosen = find(policy, supplier)
    elif ticket:
        raise SupplierChoiceError("Choose the supplier whose ticket this is.")
    incident = incidents.hold(
        session, key=key, reason=reason, note=note, actor=actor, now=now, policy=policy
    )
    if supplier:
        offered = offered_for(policy, incident.service)
        if chosen is None or chosen not in offered:
            names = ", ".join(s.name for s in offered) or "none configured"
            raise SupplierChoiceError(
                f"'{user_text(supplier[:60])}' is not a supplier of this incident's service. "
                f"Choose one of: {user_text(names)}."
            )
        _name_wait(session, incident.key, chosen, ticket, actor=actor, now=now)
    return incident


def named_by(session: Session, *, supplier: str) -> list[SupplierWait]:
    """Every record naming the supplier, newest first (problems and changes among them)."""
    return list(
        session.scalars(
            select(SupplierWait)
            .where(col(SupplierWait.supplier) == supplier)
            .order_by(col(SupplierWait.set_at).desc(), col(SupplierWait.id).desc())
            .limit(20)
        )
    )


def unnamed_holds(session: Session) -> list[tuple[str, str | None, str | None, str | None]]:
    """Incidents on hold awaiting supplier that name no supplier yet: (key, service, team,
    assignee). Read through the status index: incidents on hold are few."""
    key = literal("INC-") + cast(Incident.id, String)
    rows = session.execute(
        select(key, Incident.service, Incident.team, Incident.assignee).where(
            col(Incident.status) == IncidentStatus.ON_HOLD.value,
            col(Incident.hold_reason) == HoldReason.SUPPLIER.value,
            ~exists().where(col(SupplierWait.record_key) == key),
        )
    ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def _name_or_ask(session: Session, *, now: datetime, policy: Policy) -> int:
    """An incident put on hold awaiting supplier: its service's one supplier is named at once;
    otherwise its assignee (or its team lead) is asked which, once. Three statements."""
    named_rows, asks = [], []
    for key, service, team, assignee in unnamed_holds(session):
        supplier = for_service(policy, service)
        if supplier is not None:
            named_rows.append(
                {
                    "record_key": key,
                    "supplier": supplier.name,
                    "ticket_ref": "",
                    "set_by": SYSTEM.user_id,
                    "set_at": now,
                }
            )
            continue
        owning = policy.team(team)
        who = assignee or (owning.lead if owning else None)
        if who:
            asks.append(
                notifications.row(
                    record_key=key,
                    kind=KIND,
                    stage="which",
                    recipient=who,
                    due_at=now,
                    text=(
                        f":truck: {key} is on hold awaiting supplier. Which supplier, and "
                        f"their ticket? `/supplier wait {key} NAME TICKET`"
                    ),
                    now=now,
                )
            )
    if named_rows:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        table: Any = SupplierWait.__table__  # type: ignore[attr-defined]
        session.execute(
            insert(table).on_conflict_do_nothing(index_elements=["record_key"]), named_rows
        )
    return len(named_rows) + notifications.schedule_many(session, asks)


@dataclass(frozen=True)
class Wait:
    record_key: str
    supplier: str
    ticket_ref: str
    started_at: datetime
    ended_at: datetime | None
    pause_id: int

    def length(self, now: datetime) -> timedelta:
        return (self.ended_at or now) - self.started_at


def waits(
    session: Session,
    *,
    supplier: str | None = None,
    since: datetime | None = None,
    open_only: bool = False,
    before: datetime | None = None,
) -> list[Wait]:
    """Holds awaiting supplier of records that name a supplier: one join on indexed keys."""
    statement = (
        select(
            SupplierWait.record_key,
            SupplierWait.supplier,
            SupplierWait.ticket_ref,
            SlaPause.started_at,
            SlaPause.ended_at,
            SlaPause.id,
        )
        .join(SlaPause, col(SlaPause.record_key) == col(SupplierWait.record_key))
        .where(col(SlaPause.reason) == HoldReason.SUPPLIER.value)
    )
    if supplier is not None:
        statement = statement.where(col(SupplierWait.supplier) == supplier)
    if since is not None:
        statement = statement.where(
            (col(SlaPause.ended_at).is_(None)) | (col(SlaPause.ended_at) >= since)
        )
    if open_only:
        statement = statement.where(col(SlaPause.ended_at).is_(None))
    if before is not None:
        statement = statement.where(col(SlaPause.started_at) < before)
    return [Wait(*row) for row in session.execute(statement.order_by(col(SlaPause.started_at)))]


@dataclass(frozen=True)
class Performance:
    records: int
    median_wait: timedelta | None
    within: float | None  # % of records whose wait was within the resolution target
    breached: int


def performance(
    session: Session,
    *,
    supplier: Supplier,
    since: datetime,
    now: datetime,
    until: datetime | None = None,
) -> Performance:
    """Records that waited on the supplier in [since, until) (until now by default): their
    total wait within the period, median and share within the contracted resolution target."""
    end = min(until or now, now)
    total: dict[str, timedelta] = {}
    for wait in waits(session, supplier=supplier.name, since=since, before=end):
        start = max(wait.started_at, since)
        stop = min(wait.ended_at or now, end)
        total[wait.record_key] = total.get(wait.record_key, timedelta()) + (stop - start)
    if not total:
        return Performance(0, None, None, 0)
    lengths = sorted(total.values())
    median = timedelta(seconds=statistics.median(t.total_seconds() for t in lengths))
    target = supplier.resolution_target
    breached = sum(1 for t in lengths if target is not None and t > target)
    within = None if target is None else 100.0 * (len(lengths) - breached) / len(lengths)
    return Performance(len(lengths), median, within, breached)


def contract_plan(supplier: Supplier) -> list[reminders.Planned]:
    if supplier.contract_end is None or not supplier.owner:
        return []
    return [
        reminders.Planned(
            f"contract:{days}d",
            datetime.combine(supplier.contract_end - timedelta(days=days), REMIND_AT, tzinfo=UTC),
            supplier.owner,
        )
        for days in supplier.contract_reminders
    ]


def sweep(session: Session, *, now: datetime, policy: Policy) -> int:
    """The supplier of each incident newly on hold awaiting supplier (named, or asked for),
    contract-end reminders in the outbox, and a note to the owner for each open wait past
    the supplier's resolution target (once per hold). Returns how many rows were queued."""
    added = _name_or_ask(session, now=now, policy=policy)
    for supplier in policy.suppliers:
        end = supplier.contract_end
        added += len(
            reminders.sync(
                session,
                record_key=supplier_key(supplier.name),
                plan=contract_plan(supplier),
                text=lambda _p, s=supplier, e=end: (
                    f":page_facing_up: The contract with {user_text(s.name)} "
                    f"({user_text(s.contract) or 'no reference'}) ends on {e:%a %d %b %Y}. "
                    "Renew, renegotiate or plan the exit."
                ),
                now=now,
            )
        )
    rows = []
    by_name = {s.name: s for s in policy.suppliers}
    for wait in waits(session, open_only=True):
        supplier = by_name.get(wait.supplier)
        target = supplier.resolution_target if supplier else None
        if supplier is None or target is None or not supplier.owner:
            continue
        if wait.length(now) <= target:
            continue
        ticket = f" (their ticket {user_text(wait.ticket_ref)})" if wait.ticket_ref else ""
        rows.append(
            notifications.row(
                record_key=wait.record_key,
                kind=KIND,
                stage=f"breach:{wait.pause_id}",
                recipient=supplier.owner,
                due_at=now,
                text=(
                    f":rotating_light: {wait.record_key} has waited on {user_text(supplier.name)}"
                    f"{ticket} longer than their contracted resolution target."
                ),
                now=now,
            )
        )
    return added + notifications.schedule_many(session, rows)


def open_count(session: Session) -> dict[str, int]:
    """Open records waiting on each supplier."""
    counts: dict[str, int] = {}
    for wait in waits(session, open_only=True):
        counts[wait.supplier] = counts.get(wait.supplier, 0) + 1
    return counts


def titles(session: Session, keys: list[str]) -> dict[str, str]:
    ids = [int(k.partition("-")[2]) for k in keys if k.startswith("INC-")]
    if not ids:
        return {}
    rows = session.execute(select(Incident.id, Incident.title).where(col(Incident.id).in_(ids)))
    return {f"INC-{row[0]}": row[1] for row in rows}
