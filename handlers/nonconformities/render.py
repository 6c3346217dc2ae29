"""Everything a person reads about nonconformities in Slack: the channel message, the forms
and the list. What people typed is escaped wherever it is put into mrkdwn."""

from __future__ import annotations

from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.nonconformities.ids import Action, Field, View
from models.carried import RecordRef
from models.improvement import TEXT_MAX, TITLE_MAX, Nonconformity
from services.nonconformities import SOURCE_MAX

BUTTONS = [
    rb.Button(
        "plan",
        lambda r: "Plan corrective action" if r.corrective_action is None else "Change the plan",
        Action.PLAN,
        style="primary",
    ),
    rb.Button("action_done", "Action done", Action.ACTION_DONE, style="primary"),
    rb.Button("close", "Effective: close", Action.CLOSE, style="primary"),
    rb.Button("not_effective", "Not effective", Action.NOT_EFFECTIVE),
]


def title_line(record: Nonconformity) -> str:
    return rb.title_line(":triangular_flag_on_post:", record.key, b.user_text(record.title))


def fallback_text(record: Nonconformity) -> str:
    return rb.fallback_text(record.key, b.user_text(record.title), record.state.label)


def message_blocks(record: Nonconformity) -> list[b.Block]:
    return rb.record_message(
        record,
        title_line(record),
        [
            ("Status", record.state.label),
            ("Owner", b.user(record.owner)),
            ("Found by", b.user_text(record.source) or "—"),
            ("Action due", rb.day(record.due_on)),
        ],
        texts=[
            ("Description", record.description),
            ("Correction", record.correction),
            ("Corrective action", record.corrective_action),
            ("Evidence it worked", record.effectiveness),
        ],
        raised=True,
    )


def step_texts(record: Nonconformity, who: str) -> dict[str, str]:
    due = f" by {rb.day(record.due_on)}" if record.due_on else ""
    return {
        "created": f"{who} raised {record.key} for {b.user(record.owner)}: "
        f"{b.user_text(record.title)}",
        "plan": f"{who} planned the corrective action of {record.key}{due}: "
        f"{b.user_text(record.corrective_action)}",
        "action_done": f"{who} says the corrective action of {record.key} is done; "
        f"{b.user(record.created_by)}, did it work?",
        "close": f"{who} closed {record.key}: {b.user_text(record.effectiveness)}",
        "not_effective": f"{who} found the corrective action of {record.key} did not work; "
        f"{b.user(record.owner)}, plan another.",
    }


def list_line(r: Nonconformity) -> str:
    due = f"due {rb.short_day(r.due_on)}" if r.due_on and r.is_open else None
    return rb.list_line(r.key, b.user_text(r.title), r.state.label, b.user(r.owner), due)


def new_modal(source: str = "") -> dict[str, Any]:
    blocks = [
        rb.text_block(Field.TITLE, "Requirement not met", max_length=TITLE_MAX, multiline=False),
        rb.text_block(Field.DESCRIPTION, "What was found", max_length=TEXT_MAX, optional=True),
        b.input_block(Field.OWNER, "Owner", {"type": "users_select", "action_id": Field.OWNER}),
        rb.text_block(
            Field.SOURCE,
            "Found by",
            max_length=SOURCE_MAX,
            multiline=False,
            optional=True,
            hint="The internal audit (AUD-n) or the review it came from.",
            placeholder="AUD-2",
            initial=source,
        ),
    ]
    return rb.new_record_form(View.NEW, "Nonconformity", blocks, submit="Raise")


def plan_modal(record: Nonconformity, ref: RecordRef) -> dict[str, Any]:
    inputs = [
        rb.text_block(Field.CORRECTION, "Correction (what was put right now)", max_length=TEXT_MAX),
        rb.text_block(
            Field.CORRECTIVE_ACTION,
            "Corrective action (what removes the cause)",
            max_length=TEXT_MAX,
        ),
        b.input_block(Field.DUE_ON, "Due", {"type": "datepicker", "action_id": Field.DUE_ON}),
    ]
    title = f"Plan {record.key}"
    return rb.record_form(View.PLAN, title, title_line(record), inputs, submit="Plan", ref=ref)


def close_modal(record: Nonconformity, ref: RecordRef) -> dict[str, Any]:
    inputs = [rb.text_block(Field.NOTE, "Evidence that the action worked", max_length=TEXT_MAX)]
    title = f"Close {record.key}"
    return rb.record_form(View.CLOSE, title, title_line(record), inputs, submit="Close", ref=ref)


def not_effective_modal(record: Nonconformity, ref: RecordRef) -> dict[str, Any]:
    inputs = [rb.text_block(Field.NOTE, "Why it did not work", max_length=TEXT_MAX)]
    title = f"Not effective: {record.key}"
    return rb.record_form(
        View.NOT_EFFECTIVE, title, title_line(record), inputs, submit="Send back", ref=ref
    )
