"""Everything a person reads about suppliers in Slack. Names, contacts, contract references and
ticket references come from the policy file or from people: escaped with `b.user_text`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import blocks as b
from handlers import record_blocks as rb
from models.relationship_policy import Supplier
from models.sla_policy import format_duration
from services.suppliers import Performance, Wait


def _target(value: timedelta | None) -> str:
    return format_duration(value) if value else "—"


def list_line(s: Supplier, waiting: dict[str, int]) -> str:
    """A supplier in `/supplier list`; `waiting` counts the open records waiting on each."""
    return (
        f"*{b.user_text(s.name)}* — contract {b.user_text(s.contract) or '—'}, ends "
        f"{s.contract_end.isoformat() if s.contract_end else '—'}, "
        f"{b.user_text(waiting.get(s.name, 0))} record(s) waiting"
    )


def show_blocks(
    supplier: Supplier,
    open_waits: Sequence[Wait],
    titles: dict[str, str],
    performance: Performance,
    named: Sequence[str],
    *,
    period: timedelta,
    now: datetime,
) -> list[b.Block]:
    fields = rb.labelled(
        [
            ("Contract", b.user_text(supplier.contract) or "—"),
            ("Ends", supplier.contract_end.isoformat() if supplier.contract_end else "—"),
            ("Contact", b.user_text(supplier.contact) or "—"),
            ("Owner", b.user(supplier.owner, nobody="—")),
            ("Response target", _target(supplier.response_target)),
            ("Resolution target", _target(supplier.resolution_target)),
        ]
    )
    supports = ", ".join([*supplier.services, *supplier.items]) or "—"
    out: list[b.Block] = [
        b.section(f":truck: *{b.user_text(supplier.name)}*", fields=fields),
        b.context(f"Supports: {b.user_text(supports)}"),
    ]
    if open_waits:
        lines = [
            f"*{b.user_text(w.record_key)}* {b.user_text(titles.get(w.record_key, ''))} — waiting "
            f"{format_duration(w.length(now))}"
            + (f", their ticket {b.user_text(w.ticket_ref)}" if w.ticket_ref else "")
            for w in open_waits
        ]
        out += [b.section("*Waiting on them now*"), *b.line_sections(lines)]
    else:
        out.append(b.section("*Waiting on them now*\nnothing"))
    if named:
        out.append(b.context(f"Also named by: {b.user_text(', '.join(named))}"))
    median = format_duration(performance.median_wait) if performance.median_wait else "—"
    within = "—" if performance.within is None else f"{performance.within:.0f}%"
    out.append(
        b.section(
            f"*Performance, last {format_duration(period)}*",
            fields=[
                f"*Records*\n{performance.records}",
                f"*Median wait*\n{median}",
                f"*Within contract*\n{within}",
                f"*Breaches*\n{performance.breached}",
            ],
        )
    )
    return out


def wait_text(record_key: str, supplier: str, ticket: str) -> str:
    their = f" (their ticket {b.user_text(ticket)})" if ticket else ""
    return f"{b.user_text(record_key)} now waits on {b.user_text(supplier)}{their}."
