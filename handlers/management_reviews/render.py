"""Everything a person reads about management reviews in Slack: the channel message, the
record form and `/servicedesk review`. Decisions, actions and the prepared inputs (which hold
names from the policy file and records) are escaped wherever they are put into mrkdwn."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.kind import Button, record_form, text_block
from handlers.management_reviews.ids import Action, Field, View, action_field
from models.audit import AuditEntry
from models.carried import RecordRef
from models.improvement import TEXT_MAX
from models.management_review import (
    ACTION_MAX,
    ACTIONS_MAX,
    ManagementReview,
    ManagementReviewAction,
)
from services.reports.period import Period
from services.review_inputs import Prepared

BUTTONS = [
    Button("record", "Record review", Action.RECORD, style="primary"),
    Button("cancel", "Cancel", Action.CANCEL),
]


def title_line(record: ManagementReview) -> str:
    return rb.title_line(":bar_chart:", record.key, "management review")


def fallback_text(record: ManagementReview) -> str:
    due = f"due {rb.short_day(record.planned_on)}"
    return rb.fallback_text(record.key, "management review", record.state.label, due)


def action_line(action: ManagementReviewAction) -> str:
    state = (
        f"done by {b.user(action.done_by)}"
        if action.done_at is not None
        else f"due {rb.day(action.due_on)}"
    )
    return f"*{action.key}* {b.user_text(action.text)} — {b.user(action.owner)}, {state}"


def action_blocks(actions: Sequence[ManagementReviewAction]) -> list[b.Block]:
    """Each action on its line; one not done yet carries a Done button."""
    out: list[b.Block] = []
    for action in actions[:20]:
        block = b.section(action_line(action), block_id=f"mr_action|{action.id}")
        if action.done_at is None:
            block["accessory"] = b.button("Done", Action.ACTION_DONE, str(action.id))
        out.append(block)
    return out


def _attendees(record: ManagementReview) -> str:
    try:
        people = json.loads(record.attendees or "[]")
    except ValueError:
        people = []
    return ", ".join(b.user(p) for p in people if isinstance(p, str)) or "—"


def message_blocks(
    record: ManagementReview, actions: Sequence[ManagementReviewAction]
) -> list[b.Block]:
    fields = [
        ("Status", record.state.label),
        ("Owner", b.user(record.owner)),
        ("Due", rb.day(record.planned_on)),
        ("Held on", rb.day(record.held_on)),
    ]
    out = rb.summary_blocks(title_line(record), fields)
    if record.decisions:
        out.append(b.section(f"*Attendees*\n{_attendees(record)}"))
        out.append(b.section(f"*Decisions*\n{b.user_text(record.decisions)}"))
    if actions:
        out.append(b.section("*Actions*"))
        out += action_blocks(actions)
    return out


def show_blocks(
    record: ManagementReview,
    actions: Sequence[ManagementReviewAction],
    trail: Sequence[AuditEntry],
) -> list[b.Block]:
    out = message_blocks(record, actions)
    if record.inputs:
        out += b.line_sections(
            [
                "*Inputs as prepared when it was recorded*",
                *(b.user_text(line) for line in record.inputs.splitlines()),
            ]
        )[:10]
    return out + b.audit_trail(trail, room=50 - len(out))


def step_texts(record: ManagementReview, who: str) -> dict[str, str]:
    return {
        "created": f"{record.key}: the management review is planned for "
        f"{rb.day(record.planned_on)}, owner {b.user(record.owner)}.",
        "record": f"{who} recorded {record.key}: {b.user_text(record.decisions)}",
        "cancel": f"{who} cancelled {record.key}; the next one will be planned.",
    }


def inputs_lines(prepared: Sequence[Prepared]) -> list[str]:
    lines = []
    for found in prepared:
        lines.append(f"*{b.user_text(found.title)}*")
        lines += [f"• {b.user_text(line)}" for line in found.lines]
    return lines


def overview_blocks(
    upcoming: ManagementReview | None,
    period: Period,
    prepared: Sequence[Prepared],
    held: Sequence[ManagementReview],
    open_actions: Sequence[ManagementReviewAction],
    *,
    configured: bool,
) -> list[b.Block]:
    """`/servicedesk review`: the next review, the inputs as prepared now, the open actions
    and the past reviews."""
    if upcoming is not None:
        head = (
            f"*Next management review*: {upcoming.key} on {rb.day(upcoming.planned_on)}, "
            f"owner {b.user(upcoming.owner)}"
        )
    elif configured:
        head = "*Next management review*: planned at the next sweep."
    else:
        head = "*Management reviews* are not planned: add `[sms.management_review]`."
    out: list[b.Block] = [b.section(head)]
    out += b.line_sections(
        [f"*Inputs prepared now* ({rb.short_day(period.start)} to {rb.short_day(period.end)})"]
        + inputs_lines(prepared)
    )
    if open_actions:
        out.append(b.section(f"*Open actions* ({len(open_actions)})"))
        out += action_blocks(open_actions)
    lines = [
        f"*{r.key}* {r.state.label}, due {rb.short_day(r.planned_on)}"
        + (f", held {rb.short_day(r.held_on)}" if r.held_on else "")
        for r in held
    ]
    out += b.line_sections(["*Past reviews*", *(lines or ["none yet"])])
    return out[:50]


def record_modal(record: ManagementReview, ref: RecordRef) -> dict[str, Any]:
    inputs: list[b.Block] = [
        *rb.meeting_inputs(Field.HELD_ON, Field.ATTENDEES),
        text_block(Field.DECISIONS, "Decisions", max_length=TEXT_MAX),
    ]
    for n in range(1, ACTIONS_MAX + 1):
        inputs += rb.action_inputs(
            n,
            action_field(n),
            action_field(n, "owner"),
            action_field(n, "due"),
            max_length=ACTION_MAX,
        )
    title = f"Record {record.key}"
    return record_form(View.RECORD, title, title_line(record), inputs, submit="Record", ref=ref)
