"""Everything a person reads about improvements in Slack: the channel message, the forms and
the register. Titles, descriptions and notes are escaped wherever they are put into mrkdwn."""

from __future__ import annotations

from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.improvements.ids import Action, Field, View
from models.carried import RecordRef
from models.improvement import TEXT_MAX, TITLE_MAX, Improvement
from models.sms_policy import PROCESSES
from services.improvements import process_label
from services.mrkdwn import ref_mention

BUTTONS = [
    rb.Button("approve", "Approve", Action.APPROVE, style="primary"),
    rb.Button("reject", "Reject", Action.REJECT),
    rb.Button("done", "Done", Action.DONE, style="primary"),
]


def title_line(record: Improvement) -> str:
    return rb.title_line(":seedling:", record.key, b.user_text(record.title))


def fallback_text(record: Improvement) -> str:
    return rb.fallback_text(record.key, b.user_text(record.title), record.state.label)


def message_blocks(record: Improvement) -> list[b.Block]:
    due = rb.day(record.due_on)
    return rb.record_message(
        record,
        title_line(record),
        [
            ("Process", b.user_text(process_label(record.process))),
            ("Status", record.state.label),
            ("Evaluated by", ref_mention(record.evaluator) if record.evaluator else "an admin"),
            ("Owner", b.user(record.owner, nobody="—")),
            ("Due", due),
        ],
        texts=[
            ("Description", record.description),
            ("Decision", record.decision_note),
            ("Outcome", record.outcome),
        ],
        raised=True,
    )


def step_texts(record: Improvement, who: str) -> dict[str, str]:
    return {
        "created": f"{who} raised {record.key}: {b.user_text(record.title)}",
        "approve": f"{who} approved {record.key}: {b.user(record.owner)} carries it out"
        + (f" by {rb.day(record.due_on)}." if record.due_on else "."),
        "reject": f"{who} rejected {record.key}: {b.user_text(record.decision_note)}",
        "done": f"{who} recorded {record.key} as done: {b.user_text(record.outcome)}",
    }


def list_line(r: Improvement) -> str:
    owner = f"{b.user(r.owner)} by {rb.short_day(r.due_on)}" if r.owner and r.due_on else None
    process = b.user_text(process_label(r.process))
    return rb.list_line(r.key, b.user_text(r.title), r.state.label, process, owner)


def new_modal() -> dict[str, Any]:
    options = [(label, key) for key, label in PROCESSES.items()]
    blocks = [
        b.input_block(Field.TITLE, "Title", b.text_input(Field.TITLE, max_length=TITLE_MAX)),
        rb.text_block(
            Field.DESCRIPTION, "What could be better, and how", max_length=TEXT_MAX, optional=True
        ),
        rb.select_block(
            Field.PROCESS,
            "Process it improves",
            options,
            placeholder="Choose a process",
            hint="The process's owner evaluates it.",
        ),
    ]
    return rb.new_record_form(View.NEW, "Suggest improvement", blocks, submit="Raise")


def approve_modal(record: Improvement, ref: RecordRef) -> dict[str, Any]:
    inputs = [
        b.input_block(
            Field.OWNER, "Who carries it out", {"type": "users_select", "action_id": Field.OWNER}
        ),
        b.input_block(
            Field.DUE_ON,
            "Due",
            {"type": "datepicker", "action_id": Field.DUE_ON},
        ),
        rb.text_block(Field.NOTE, "Note", max_length=TEXT_MAX, optional=True),
    ]
    title = f"Approve {record.key}"
    return rb.record_form(
        View.APPROVE, title, title_line(record), inputs, submit="Approve", ref=ref
    )


def reject_modal(record: Improvement, ref: RecordRef) -> dict[str, Any]:
    inputs = [rb.text_block(Field.NOTE, "Why not", max_length=TEXT_MAX)]
    title = f"Reject {record.key}"
    return rb.record_form(View.REJECT, title, title_line(record), inputs, submit="Reject", ref=ref)


def done_modal(record: Improvement, ref: RecordRef) -> dict[str, Any]:
    inputs = [rb.text_block(Field.NOTE, "What came of it", max_length=TEXT_MAX)]
    title = f"Done: {record.key}"
    return rb.record_form(View.DONE, title, title_line(record), inputs, submit="Record", ref=ref)
