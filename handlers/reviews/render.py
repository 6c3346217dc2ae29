"""Everything a person reads about post-incident reviews in Slack: the channel message, the
forms, lists of reviews and follow-up actions.

What people typed (the review's findings, actions) goes through `b.user_text` in mrkdwn; form
initial values stay as typed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.reviews.ids import Action, Field, View
from models.audit import AuditEntry
from models.carried import RecordRef
from models.major_incident import ACTION_MAX, REVIEW_FIELD_MAX, PostIncidentReview, ReviewAction

BUTTONS = [
    rb.Button("record", "Record review", Action.RECORD, style="primary"),
    rb.Button("add_action", "Add action", Action.ADD_ACTION),
    rb.Button("close", "Close review", Action.CLOSE),
]


def title_line(review: PostIncidentReview) -> str:
    name = f"post-incident review of {b.user_text(review.incident_key)}"
    return rb.title_line(":memo:", review.key, name)


def fallback_text(review: PostIncidentReview) -> str:
    name, owner = f"review of {b.user_text(review.incident_key)}", f"owner {b.user(review.owner)}"
    return rb.fallback_text(review.key, name, review.state.label, owner)


def action_line(action: ReviewAction, review_key: str | None = None) -> str:
    where = f"{b.user_text(review_key)} " if review_key else ""
    done = (
        f" — done by {b.user(action.done_by)} {b.slack_time(action.done_at)}"
        if action.done_at
        else ""
    )
    box = ":white_check_mark:" if action.done_at else ":black_square_button:"
    return (
        f"{box} {where}#{action.id} {b.user_text(action.text)} · {b.user(action.owner)} · "
        f"due {action.due_at:%Y-%m-%d}{done}"
    )


def _findings(review: PostIncidentReview) -> list[b.Block]:
    out: list[b.Block] = []
    for label, value in (
        ("What happened", review.what_happened),
        ("Root cause", review.root_cause),
        ("What went well", review.went_well),
    ):
        if value:
            out.extend(b.line_sections([f"*{label}*", *b.user_text(value).splitlines()]))
    if review.problem_key:
        out.append(b.context(f"Root cause tracked in {b.user_text(review.problem_key)}"))
    return out


def message_blocks(review: PostIncidentReview, actions: Sequence[ReviewAction]) -> list[b.Block]:
    fields = [
        ("Status", review.state.label),
        ("Owner", b.user(review.owner)),
        ("Due", b.slack_time(review.due_at)),
        ("Incident", b.user_text(review.incident_key)),
    ]
    out = rb.summary_blocks(title_line(review), fields)
    out.extend(_findings(review)[:30])
    if actions:
        out.extend(b.line_sections(["*Follow-up actions*", *[action_line(a) for a in actions]]))
    return out


def show_blocks(
    review: PostIncidentReview, actions: Sequence[ReviewAction], trail: Sequence[AuditEntry]
) -> list[b.Block]:
    out = message_blocks(review, actions)
    return [*out[:35], b.divider(), *b.audit_trail(trail, room=12)]


def step_texts(review: PostIncidentReview, who: str) -> dict[str, str]:
    return {
        "record": f"{who} recorded the findings of {review.key}.",
        "close": f"{who} closed {review.key}.",
        "created": f"{review.key} opened for {b.user_text(review.incident_key)}, owned by "
        f"{b.user(review.owner)}, due {b.slack_time(review.due_at)}.",
    }


def action_added_text(review: PostIncidentReview, action: ReviewAction, actor: str) -> str:
    return f"{b.user(actor)} added a follow-up action to {review.key}: {action_line(action)}"


def action_done_text(review: PostIncidentReview, action: ReviewAction, actor: str) -> str:
    return (
        f"{b.user(actor)} completed action #{action.id} of {review.key}: {b.user_text(action.text)}"
    )


def owner_text(review: PostIncidentReview) -> str:
    return (
        f":memo: You own {review.key}, the post-incident review of "
        f"{b.user_text(review.incident_key)}, due "
        f"{b.slack_time(review.due_at)}. It is prefilled with the timeline and SLA figures: "
        f"`/pir show {review.key}`."
    )


def record_modal(review: PostIncidentReview, ref: RecordRef) -> dict[str, Any]:
    def field(name: str, label: str, initial: str | None, optional: bool = True) -> b.Block:
        block = rb.text_block(name, label, max_length=REVIEW_FIELD_MAX, optional=optional)
        if initial:
            block["element"]["initial_value"] = initial
        return block

    raise_box = b.input_block(
        Field.RAISE_PROBLEM,
        "Problem",
        {
            "type": "checkboxes",
            "action_id": Field.RAISE_PROBLEM.value,
            "options": [b.option("Raise a problem from the root cause", "yes")],
        },
        optional=True,
    )
    problem = rb.text_block(
        Field.PROBLEM,
        "Or link an existing problem",
        max_length=20,
        multiline=False,
        optional=True,
        placeholder="PRB-4",
    )
    if review.problem_key:
        problem["element"]["initial_value"] = review.problem_key
    return rb.record_form(
        View.RECORD,
        "Record review",
        f"{title_line(review)}",
        [
            field(Field.WHAT_HAPPENED, "What happened", review.what_happened),
            field(Field.ROOT_CAUSE, "Root cause", review.root_cause),
            field(Field.WENT_WELL, "What went well", review.went_well),
            problem,
            raise_box,
        ],
        submit="Save",
        ref=ref,
    )


def action_modal(review: PostIncidentReview, ref: RecordRef) -> dict[str, Any]:
    return rb.record_form(
        View.ADD_ACTION,
        "Follow-up action",
        title_line(review),
        [
            rb.text_block(Field.ACTION_TEXT, "What is to be done", max_length=ACTION_MAX),
            b.input_block(
                Field.ACTION_OWNER,
                "Owner",
                {"type": "users_select", "action_id": Field.ACTION_OWNER.value},
            ),
            b.input_block(
                Field.ACTION_DUE, "Due", {"type": "datepicker", "action_id": Field.ACTION_DUE.value}
            ),
        ],
        submit="Add",
        ref=ref,
    )


def restricted_line(review: PostIncidentReview) -> str:
    """How a restricted incident's review appears to anyone who may not see it."""
    return f":lock: *{review.key}* · Restricted"


def redacted_message(review: PostIncidentReview) -> tuple[str, list[b.Block]]:
    """A restricted incident's review message outside the security team's channel."""
    return f"{review.key} Restricted", [
        b.section(restricted_line(review)),
        b.context("Its details are kept with the security team."),
    ]


def list_line(r: PostIncidentReview) -> str:
    return (
        f"*{r.key}* · {b.user_text(r.incident_key)} · {b.user(r.owner)} · due "
        f"{b.slack_time(r.due_at)}"
    )


def actions_blocks(
    found: Sequence[tuple[ReviewAction, str]], *, hidden: Sequence[str] = ()
) -> list[b.Block]:
    """Open follow-up actions, each with a Done button; those of reviews in `hidden` (their
    incident is restricted) only as their review's key, without a button."""
    if not found:
        return [b.section("*Open follow-up actions*\nNone: every action is done.")]
    out: list[b.Block] = [b.section("*Open follow-up actions*")]
    for action, key in found[:45]:
        if key in hidden:
            out.append(b.section(f":lock: {b.user_text(key)} · Restricted"))
            continue
        out.append(
            {
                "type": "section",
                "text": b.mrkdwn(action_line(action, key)),
                "accessory": b.button("Done", Action.DONE, str(action.id)),
            }
        )
    return out
