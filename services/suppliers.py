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

from sqlalchemy import select
from sqlmodel import Session, col

from models.incident import HoldReason, Incident, SlaPause
from models.policy import Policy
from models.relationship import SupplierWait
from models.relationship_policy import Supplier
from services import audit, notifications, reminders
from services.errors import InvalidInput, NotFound
from services.mrkdwn import user_text
from services.permissions import Actor, require_agent

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
    """Name the supplier (and their ticket) an incident waits on; without a name, the one
    supplier of its service. Agents only; a second call updates the row."""
    from services import incidents

    require_agent(actor, doing="name the supplier a record waits on")
    incident = incidents.get(session, key=key)
    chosen = named(policy, supplier) if supplier else for_service(policy, incident.service)
    if chosen is None:
        raise InvalidInput(
            f"Which supplier does {incident.key} wait on? For example "
            f"`/supplier wait {incident.key} NAME TICKET`."
        )
    ticket = " ".join((ticket_ref or "").split())
    if len(ticket) > TICKET_MAX:
        raise InvalidInput(f"Keep the ticket reference under {TICKET_MAX} characters.")
    row = session.scalars(
        select(SupplierWait).where(col(SupplierWait.record_key) == incident.key).with_for_update()
    ).first()
    before = row.supplier if row else None
    if row is None:
        row = SupplierWait(
            record_key=incident.key, supplier=chosen.name, set_by=actor.user_id, set_at=now
        )
    row.supplier, row.ticket_ref, row.set_by, row.set_at = chosen.name, ticket, actor.user_id, now
    session.add(row)
    audit.record(
        session,
        key=incident.key,
        actor=actor.user_id,
        at=now,
        action="supplier",
        field="supplier",
        before=before,
        after=chosen.name,
        note=ticket or None,
    )
    return row


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
    """Contract-end reminders in the outbox, and a note to the owner for each open wait past
    the supplier's resolution target (once per hold). Returns how many rows were queued."""
    added = 0
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
