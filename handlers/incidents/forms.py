"""The incident forms: New incident, and those its buttons open (resolve, hold, escalate,
priority, cancel). Initial values stay as typed; labels quoting a record escape it."""

from __future__ import annotations

from collections.abc import Sequence

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.cmdb.render import item_select
from handlers.incidents.ids import Field, View
from handlers.incidents.render import LEVELS, title_line
from handlers.kind import record_form, text_block
from models.carried import RecordRef
from models.incident import TITLE_MAX, HoldReason, Incident
from models.policy import Policy
from models.relationship_policy import Supplier
from services import priority
from services.suppliers import TICKET_MAX


def new_incident_modal(policy: Policy, *, title: str = "", channel: str | None = None) -> dict:
    fields: list[b.Block] = [
        rb.title_block(
            Field.TITLE,
            max_length=TITLE_MAX,
            placeholder="What is broken, for whom?",
            initial=title,
        ),
        rb.text_block(Field.DESCRIPTION, "Description", max_length=3000, optional=True),
        rb.select_block(
            Field.IMPACT,
            "Impact",
            LEVELS,
            placeholder="How many are affected?",
            hint="High: a whole service or many people. Low: one person, a workaround exists.",
        ),
        rb.select_block(Field.URGENCY, "Urgency", LEVELS, placeholder="How soon must it be fixed?"),
    ]
    fields.append(
        b.input_block(
            Field.SERVICE,
            "Service or item",
            item_select(placeholder="Affected service or configuration item"),
            optional=True,
            hint="Type a few letters of its name.",
        )
    )
    fields.append(
        rb.select_block(
            Field.CATEGORY,
            "Category",
            [(c.capitalize(), c) for c in policy.incidents.categories],
            optional=True,
        )
    )
    if policy.channels.security:
        checkbox = {
            "type": "checkboxes",
            "action_id": Field.SECURITY.value,
            "options": [
                {
                    **b.option("Security incident", "yes"),
                    "description": b.plain("Only the security team and its people see it."),
                }
            ],
        }
        fields.append(b.input_block(Field.SECURITY, "Security", checkbox, optional=True))
    metadata = RecordRef(key="new", channel=channel).dump()
    return b.modal(
        View.NEW, "New incident", fields, submit="Log incident", private_metadata=metadata
    )


def resolve_modal(incident: Incident, policy: Policy, ref: RecordRef) -> dict:
    codes = [(c.capitalize(), c) for c in policy.incidents.resolution_codes]
    inputs = [
        rb.select_block(Field.CODE, "Resolution code", codes),
        text_block(
            Field.NOTE,
            "Resolution note",
            max_length=3000,
            placeholder="What was wrong and what fixed it",
        ),
    ]
    title = f"Resolve {incident.key}"
    return record_form(View.RESOLVE, title, title_line(incident), inputs, submit="Resolve", ref=ref)


def hold_modal(incident: Incident, ref: RecordRef, suppliers: Sequence[Supplier] = ()) -> dict:
    """Put on hold: what it waits for, and, when it awaits a supplier, which one (those
    supporting its service, or all) and their ticket reference."""
    reasons = [(r.label, r.value) for r in HoldReason]
    inputs = [
        rb.select_block(Field.HOLD_REASON, "Waiting for", reasons),
    ]
    if suppliers:
        inputs += [
            rb.select_block(
                Field.SUPPLIER,
                "Supplier (when waiting for one)",
                [(s.name, s.name) for s in suppliers],
                optional=True,
                hint="Left empty, you are asked by direct message which supplier it is.",
            ),
            text_block(
                Field.TICKET,
                "Their ticket reference",
                max_length=TICKET_MAX,
                multiline=False,
                optional=True,
            ),
        ]
    inputs.append(text_block(Field.NOTE, "Note", optional=True))
    title = f"Hold {incident.key}"
    return record_form(
        View.HOLD, title, title_line(incident), inputs, submit="Put on hold", ref=ref
    )


def escalate_modal(incident: Incident, policy: Policy, ref: RecordRef) -> dict:
    kinds = {
        "type": "radio_buttons",
        "action_id": Field.KIND.value,
        "options": [
            b.option("Functional: hand to another team", "functional"),
            b.option("Hierarchical: tell the team lead", "hierarchical"),
        ],
    }
    inputs: list[b.Block] = [b.input_block(Field.KIND, "Escalation", kinds)]
    teams = [(t.name, t.name) for t in policy.teams if t.name != incident.team]
    if teams:
        team = b.static_select(Field.TEAM, teams)
        inputs.append(b.input_block(Field.TEAM, "Team (functional)", team, optional=True))
    inputs.append(text_block(Field.NOTE, "Why"))
    title = f"Escalate {incident.key}"
    return record_form(
        View.ESCALATE, title, title_line(incident), inputs, submit="Escalate", ref=ref
    )


def priority_modal(incident: Incident, ref: RecordRef) -> dict:
    levels = [(priority.name(p), str(p)) for p in range(1, 6)]
    inputs = [
        rb.select_block(Field.PRIORITY, "New priority", levels, initial=str(incident.priority)),
        text_block(Field.NOTE, "Reason"),
    ]
    heading = title_line(incident) + f"\nComputed: {priority.name(incident.priority)}"
    title = f"Priority {incident.key}"
    return record_form(View.PRIORITY, title, heading, inputs, submit="Change", ref=ref)


def cancel_modal(incident: Incident, ref: RecordRef) -> dict:
    inputs = [text_block(Field.NOTE, "Reason")]
    title = f"Cancel {incident.key}"
    return record_form(
        View.CANCEL, title, title_line(incident), inputs, submit="Cancel incident", ref=ref
    )
