"""Everything a person reads about internal audits in Slack: the channel message, the
completion form and the list. Names and scopes come from the policy file, conclusions from
people: all escaped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.audits.ids import Action, Field, View
from models.carried import RecordRef
from models.improvement import TEXT_MAX, InternalAudit, Nonconformity

BUTTONS = [
    rb.Button("start", "Start", Action.START, style="primary"),
    rb.Button("finding", "Record a finding", Action.FINDING),
    rb.Button("complete", "Complete", Action.COMPLETE, style="primary"),
    rb.Button("cancel", "Cancel", Action.CANCEL),
]


def title_line(record: InternalAudit) -> str:
    return rb.title_line(":clipboard:", record.key, f"internal audit {b.user_text(record.name)}")


def fallback_text(record: InternalAudit) -> str:
    name = f"internal audit {b.user_text(record.name)}"
    return rb.fallback_text(
        record.key, name, record.state.label, f"due {rb.short_day(record.planned_on)}"
    )


def message_blocks(record: InternalAudit, found: Sequence[Nonconformity]) -> list[b.Block]:
    findings = [f"• {n.key} {b.user_text(n.title)}" for n in found]
    return rb.record_message(
        record,
        title_line(record),
        [
            ("Status", record.state.label),
            ("Auditor", b.user(record.auditor)),
            ("Due", rb.day(record.planned_on)),
            ("Nonconformities", str(len(found))),
        ],
        more=[
            b.section(f"*Scope*\n{b.user_text(record.scope)}"),
            *(b.line_sections(["*Findings*", *findings]) if found else []),
        ],
        texts=[("Conclusion", record.conclusion)],
    )


def step_texts(record: InternalAudit, who: str) -> dict[str, str]:
    return {
        "created": f"{record.key}: the internal audit {b.user_text(record.name)} is planned "
        f"for {rb.day(record.planned_on)}, auditor {b.user(record.auditor)}.",
        "start": f"{who} started {record.key}. Record each finding with *Record a finding*.",
        "complete": f"{who} completed {record.key}: {b.user_text(record.conclusion)}",
        "cancel": f"{who} cancelled {record.key}; the next one will be planned.",
    }


def list_line(r: InternalAudit) -> str:
    due = f"due {rb.short_day(r.planned_on)}"
    return rb.list_line(r.key, b.user_text(r.name), r.state.label, due, b.user(r.auditor))


def complete_modal(record: InternalAudit, ref: RecordRef) -> dict[str, Any]:
    inputs = [
        rb.text_block(
            Field.NOTE,
            "Conclusion",
            max_length=TEXT_MAX,
            hint="Record each nonconformity with Record a finding first.",
        )
    ]
    title = f"Complete {record.key}"
    return rb.record_form(
        View.COMPLETE, title, title_line(record), inputs, submit="Complete", ref=ref
    )
