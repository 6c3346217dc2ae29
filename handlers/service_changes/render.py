"""Everything a person reads about a service change: the form that proposes one, its part of the
change's message and card, and the acceptance test form. What people typed (service names,
requirements, criteria, notes) goes through `b.user_text` wherever it is put into mrkdwn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.changes.fields import backout_input, implementer_input, window_inputs
from handlers.changes.ids import Field, View, criterion_field, note_field
from handlers.kind import record_form, text_block
from models.carried import RecordRef
from models.change import Change, Risk
from models.policy import Service, Team
from models.service_change import (
    CRITERIA_MAX,
    SERVICE_NAME_MAX,
    TEXT_MAX,
    ServiceAction,
    ServiceChange,
)
from services.service_changes import NOTE_MAX, Criterion

ACTIONS = [(a.label, a.value) for a in ServiceAction]
RISKS = [(r.value.capitalize(), r.value) for r in Risk]
RESULTS = [("Passed", "passed"), ("Failed", "failed")]


def _mark(criterion: Criterion) -> str:
    if criterion.passed is None:
        return ":white_circle:"
    return ":white_check_mark:" if criterion.passed else ":x:"


def criteria_lines(accepted: Sequence[Criterion]) -> list[str]:
    """Each criterion with its latest acceptance result and note."""
    return [
        f"{_mark(c)} {c.number}. {b.user_text(c.text)}"
        + (f" — {b.user_text(c.note)}" if c.note else "")
        for c in accepted
    ]


def summary_text(detail: ServiceChange, accepted: Sequence[Criterion]) -> str:
    """The service change's line on the change's message."""
    passed = sum(1 for c in accepted if c.passed)
    text = (
        f"*{detail.service_action.label}:* {b.user_text(detail.service)}"
        + (f" (team {b.user_text(detail.team)})" if detail.team else "")
        + f" · acceptance test: {passed} of {len(accepted)} criteria passed"
    )
    if detail.applied_at is not None:
        done = {"new": "added to", "changed": "updated in", "removed": "retired from"}
        text += f" · {done[detail.action]} the service list" + (
            f" ({b.user_text(detail.item_key)})" if detail.item_key else ""
        )
    return text


def detail_blocks(detail: ServiceChange, accepted: Sequence[Criterion]) -> list[b.Block]:
    """The service change on `/change show`: what it proposes and the acceptance results."""
    out: list[b.Block] = [b.section(summary_text(detail, accepted))]
    out += rb.text_sections(
        [
            ("Requirements", detail.requirements),
            ("Design", detail.design),
            ("Agreement it needs", detail.agreement),
            ("Capacity it needs", detail.capacity),
            ("Budget it needs", detail.budget),
        ]
    )
    out.append(b.section("*Acceptance criteria*"))
    out += b.line_sections(criteria_lines(accepted))
    return out


def acceptance_text(change: Change, accepted: Sequence[Criterion], actor: str) -> str:
    """The thread post of a recorded acceptance test."""
    passed = sum(1 for c in accepted if c.passed)
    lines = [
        f"{b.user(actor)} recorded an acceptance test of {change.key}: {passed} of "
        f"{len(accepted)} criteria passed.",
        *criteria_lines(accepted),
    ]
    return "\n".join(lines)[: b.SECTION_LIMIT]


def service_modal(services: Sequence[Service], teams: Sequence[Team]) -> dict[str, Any]:
    """Propose a new, changed or removed service (`/change service`)."""
    existing = [(s.name, s.name) for s in services]
    fields: list[b.Block] = [
        rb.select_block(Field.SERVICE_ACTION, "What", ACTIONS),
        rb.text_block(
            Field.SERVICE_NAME,
            "New service's name",
            max_length=SERVICE_NAME_MAX,
            multiline=False,
            optional=True,
            hint="For a new service.",
        ),
    ]
    if existing:
        fields.append(
            rb.select_block(
                Field.SERVICE,
                "Existing service",
                existing,
                optional=True,
                hint="For a changed or removed service.",
            )
        )
    if teams:
        fields.append(
            rb.select_block(
                Field.TEAM,
                "Team that runs it",
                [(t.name, t.name) for t in teams],
                optional=True,
                hint="Required for a new service; for a changed one, only if it moves.",
            )
        )
    fields += [
        text_block(Field.REQUIREMENTS, "Requirements", max_length=TEXT_MAX),
        text_block(Field.DESIGN, "Design", max_length=TEXT_MAX),
        text_block(
            Field.CRITERIA,
            "Acceptance criteria (one per line)",
            max_length=TEXT_MAX,
            hint=f"At most {CRITERIA_MAX}; each is tested before the change is implemented.",
        ),
        text_block(Field.AGREEMENT, "Agreement it needs", max_length=TEXT_MAX, optional=True),
        text_block(Field.CAPACITY, "Capacity it needs", max_length=TEXT_MAX, optional=True),
        text_block(Field.BUDGET, "Budget it needs", max_length=TEXT_MAX, optional=True),
        rb.select_block(Field.RISK, "Risk", RISKS),
        *window_inputs(),
        backout_input(),
        implementer_input(),
    ]
    return rb.new_record_form(View.SERVICE, "Service change", fields, submit="Propose")


def acceptance_modal(
    change: Change, accepted: Sequence[Criterion], ref: RecordRef
) -> dict[str, Any]:
    """Record an acceptance test: passed or failed, with a note, for every criterion."""
    inputs: list[b.Block] = []
    for criterion in accepted:
        inputs += [
            b.input_block(
                criterion_field(criterion.number),
                f"{criterion.number}. {criterion.text}"[:150],
                {
                    "type": "radio_buttons",
                    "action_id": criterion_field(criterion.number),
                    "options": [b.option(text, value) for text, value in RESULTS],
                },
            ),
            text_block(
                note_field(criterion.number),
                f"Note on {criterion.number}",
                max_length=NOTE_MAX,
                optional=True,
            ),
        ]
    return record_form(
        View.ACCEPT,
        f"Accept {change.key}",
        f":large_purple_square: *{change.key}* · {b.user_text(change.title)}",
        inputs,
        submit="Record",
        ref=ref,
    )
