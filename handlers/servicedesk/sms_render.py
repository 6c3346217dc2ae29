"""What `/servicedesk sms` and the SMS review form show: one place for the wording. Everything
taken from the policy file (policy text, names, links, versions) is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bot.blocks import (
    Block,
    actions,
    button,
    header,
    input_block,
    line_sections,
    modal,
    section,
    static_select,
    text_input,
)
from handlers import record_blocks as rb
from models.policy import Policy
from models.sms import SmsItem, SmsItemKind, SmsReview, SmsReviewRef
from models.sms_policy import Reviewed
from services.mrkdwn import link, mention, ref_mention, user_text
from services.sms import Measured, process_owners
from services.sms_reviews import (
    NOTE_MAX,
    RECORD_REVIEW_ACTION_ID,
    VERSION_MAX,
    SmsReviewOutcome,
)

REVIEW_VIEW = "sms_review_view"
DATE_FIELD = "reviewed_on"
OUTCOME_FIELD = "outcome"
VERSION_FIELD = "version"
NOTE_FIELD = "note"
BUTTONS_MAX = 25

EMPTY = (
    "No service management system is described yet. Add `[sms]` to the policy file: the "
    "policy, `[[sms.objectives]]`, `[sms.process_owners]` and `[[sms.documents]]` (see the "
    "README, section The service management system)."
)

Rows = Mapping[tuple[str, str], SmsItem]


def _next(row: SmsItem | None, today: date) -> str:
    if row is None or row.next_review is None:
        return "no review planned"
    overdue = " *(overdue)*" if row.next_review < today else ""
    return f"next review {rb.day(row.next_review)}{overdue}"


def _objective_line(found: Measured, row: SmsItem | None, today: date) -> str:
    objective = found.objective
    target = f" (target ≥ {objective.target:g} %)" if objective.target is not None else ""
    if found.value is None:
        value = user_text(found.basis)
    else:
        mark = {True: " :white_check_mark:", False: " :warning:", None: ""}[found.met]
        value = f"*{found.value:.1f} %* ({user_text(found.basis)}){mark}"
    return (
        f"• *{user_text(objective.name)}*{target}: {value} — {mention(objective.owner)}, "
        f"{_next(row, today)}"
    )


def _document_line(item: Reviewed, row: SmsItem | None, today: date) -> str:
    link_text = getattr(item, "link", "")
    name = link(link_text, item.name) if link_text else user_text(item.name)
    version = row.version if row is not None and row.version else getattr(item, "version", "")
    return f"• *{name}* version {user_text(version)} — {mention(item.owner)}, {_next(row, today)}"


def sms_blocks(
    policy: Policy,
    measured: Sequence[Measured],
    quarter: str,
    rows: Rows,
    latest: Mapping[int, SmsReview],
    today: date,
) -> list[Block]:
    sms = policy.sms
    blocks: list[Block] = [header("Service management system")]
    owner = f" — owned by {mention(sms.policy_owner)}" if sms.policy_owner else ""
    policy_text = user_text(sms.policy) if sms.policy else "_No policy text in `[sms]`._"
    blocks.append(section(f"*Policy*{owner}\n{policy_text}"))
    lines = [f"*Objectives* — measured {quarter} so far"]
    objective = SmsItemKind.OBJECTIVE.value
    lines += [
        _objective_line(found, rows.get((objective, found.objective.name)), today)
        for found in measured
    ] or ["_None in `[[sms.objectives]]`._"]
    blocks += line_sections(lines)
    owners = [
        f"• {label}: {ref_mention(ref) if ref else '_unassigned_'}"
        for label, ref in process_owners(policy)
    ]
    blocks += line_sections(["*Process owners*", *owners])
    document = SmsItemKind.DOCUMENT.value
    docs = []
    for item in sms.documents:
        row = rows.get((document, item.name))
        docs.append(_document_line(item, row, today))
        review = latest.get(row.id) if row is not None and row.id is not None else None
        if review is not None:
            docs.append(
                f"    last reviewed {rb.short_day(review.reviewed_on)} by "
                f"{mention(review.recorded_by)}: {review.outcome}"
            )
    blocks += line_sections(
        ["*Controlled documents*", *(docs or ["_None in `[[sms.documents]]`._"])]
    )
    due = [
        (SmsItemKind(kind), name)
        for (kind, name), row in rows.items()
        if row.next_review is not None and row.next_review <= today
    ]
    buttons = actions(
        "sms_review",
        [
            button(
                f"Record review: {name}"[:75],
                RECORD_REVIEW_ACTION_ID,
                SmsReviewRef(kind=kind, name=name).dump(),
            )
            for kind, name in sorted(due)[:BUTTONS_MAX]
        ],
    )
    if buttons:
        blocks.append(buttons)
    return blocks


def sms_fallback(policy: Policy) -> str:
    sms = policy.sms
    return (
        f"Service management system: {len(sms.objectives)} objective(s), "
        f"{len(sms.documents)} controlled document(s)."
    )


def review_modal(
    kind: SmsItemKind, item: Reviewed, current: str | None, ref: SmsReviewRef, today: date
) -> dict[str, Any]:
    outcome = static_select(
        OUTCOME_FIELD,
        [(choice.label, choice.value) for choice in SmsReviewOutcome],
        placeholder="What did the review decide?",
    )
    now_at = f" (now version {user_text(current)})" if current else ""
    return modal(
        REVIEW_VIEW,
        "Record review",
        [
            section(f"Review of the {kind.label} *{user_text(item.name)}*{now_at}."),
            input_block(
                DATE_FIELD,
                "Date of the review",
                {"type": "datepicker", "action_id": DATE_FIELD, "initial_date": today.isoformat()},
            ),
            input_block(OUTCOME_FIELD, "Outcome", outcome),
            input_block(
                VERSION_FIELD,
                "New version",
                text_input(VERSION_FIELD, max_length=VERSION_MAX),
                optional=True,
                hint="Needed when the outcome is an update.",
            ),
            input_block(
                NOTE_FIELD,
                "Note",
                text_input(NOTE_FIELD, multiline=True, max_length=NOTE_MAX),
                optional=True,
            ),
        ],
        submit="Record",
        private_metadata=ref.dump(),
    )


def recorded_text(kind: SmsItemKind, item: Reviewed, review: SmsReview) -> str:
    following = (
        f" Next review: {rb.day(review.next_review)}."
        if review.next_review
        else " No next review is planned: set `next_review` in the policy file."
    )
    version = f", version {user_text(review.version)}" if review.version else ""
    return (
        f"Review of the {kind.label} *{user_text(item.name)}* on {rb.short_day(review.reviewed_on)} "
        f"recorded by {mention(review.recorded_by)}: {review.outcome}{version}.{following}"
    )
