"""Everything a person reads about changes in Slack: messages, modals, lists.

Every value a person or a file supplied (titles, plans, reasons, notes, item names) goes
through `b.user_text` where it is put into mrkdwn; modal initial values stay as typed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.changes.fields import backout_input, implementer_input, window_inputs
from handlers.changes.ids import Action, Field, View
from handlers.kind import Button, record_form, text_block
from handlers.service_changes.render import detail_blocks, summary_text
from models.audit import AuditEntry
from models.carried import RecordRef
from models.change import (
    TITLE_MAX,
    Change,
    ChangeApproval,
    ChangeStatus,
    ChangeType,
    ReviewOutcome,
    Risk,
)
from models.policy import Policy
from models.service_change import ServiceChange
from services.change_approvals import Tally
from services.changes import LIFECYCLE
from services.service_changes import Criterion

TYPE_EMOJI = {
    ChangeType.STANDARD: ":large_green_square:",
    ChangeType.NORMAL: ":large_blue_square:",
    ChangeType.EMERGENCY: ":large_red_square:",
    ChangeType.SERVICE: ":large_purple_square:",
    ChangeType.AGREEMENT: ":large_orange_square:",
}
TYPES = [("Standard", "standard"), ("Normal", "normal"), ("Emergency", "emergency")]
RISKS = [("Low", Risk.LOW.value), ("Medium", Risk.MEDIUM.value), ("High", Risk.HIGH.value)]


def title_line(change: Change) -> str:
    return rb.title_line(TYPE_EMOJI[change.change_type], change.key, b.user_text(change.title))


def fallback_text(change: Change) -> str:
    kind, risk = f"{change.change_type.value} change", f"{b.user_text(change.risk)} risk"
    return rb.fallback_text(change.key, b.user_text(change.title), kind, risk, change.state.label)


def window_text(change: Change) -> str:
    if change.planned_start is None or change.planned_end is None:
        return "not planned yet"
    return f"{b.slack_time(change.planned_start)} → {b.slack_time(change.planned_end)}"


def conflict_text(change: Change, conflicts: Sequence[Change]) -> str:
    keys = ", ".join(f"{c.key} ({b.user_text(c.title)})" for c in conflicts)
    return f":warning: {change.key} overlaps other changes on the same services: {keys}."


def message_blocks(
    change: Change,
    targets: Sequence[str],
    conflicts: Sequence[Change] = (),
    tally: Tally | None = None,
    detail: ServiceChange | None = None,
    accepted: Sequence[Criterion] = (),
) -> list[b.Block]:
    """The one channel message of a change, with the buttons its state allows (and, for a
    service change, the service and how far its acceptance test got)."""
    template = change.standard_template
    kind = change.change_type.value.capitalize()
    fields = [
        ("Type", kind + (f" ({b.user_text(template)})" if template else "")),
        ("Risk", b.user_text(change.risk.capitalize())),
        ("Status", change.state.label),
        ("Implementer", b.user(change.implementer, nobody="—")),
        ("Services or items", _targets(targets)),
        ("Window", window_text(change)),
    ]
    out = rb.summary_blocks(
        title_line(change),
        fields,
        raised_by=change.requester,
        raised_at=change.created_at,
        raised="Requested",
    )
    if detail is not None:
        out.append(b.context(summary_text(detail, accepted)))
    if conflicts:
        out.append(b.section(conflict_text(change, conflicts)))
    if tally is not None and (tally.approved_by or tally.rejected_by):
        out.append(b.context(tally_text(tally)))
    if change.state is ChangeStatus.CLOSED and change.review_outcome:
        out.append(
            b.context(
                f"Review: {ReviewOutcome(change.review_outcome).label} — "
                f"{b.user_text(change.review_note)}"
            )
        )
    return rb.with_buttons(out, LIFECYCLE, change, BUTTONS)


def _targets(targets: Sequence[str]) -> str:
    """Service and item names (from the CMDB, possibly imported from a file)."""
    return ", ".join(b.user_text(t) for t in targets) or "—"


def _emergency(change: Change) -> bool:
    return change.change_type is ChangeType.EMERGENCY


# The buttons of a change's message, each shown when the lifecycle allows its move (and the
# change's type and state call for it: emergency changes skip assessment).
BUTTONS = [
    Button("assess", "Assess", Action.ASSESS, style="primary", when=lambda c: not _emergency(c)),
    Button(
        "submit",
        "Submit for approval",
        Action.SUBMIT,
        style="primary",
        when=lambda c: _emergency(c) or c.state is ChangeStatus.ASSESSMENT,
    ),
    Button(
        "schedule",
        "Schedule",
        Action.SCHEDULE,
        style="primary",
        when=lambda c: c.state is ChangeStatus.APPROVED,
    ),
    Button(
        "accept",
        "Record acceptance test",
        Action.ACCEPT,
        when=lambda c: c.change_type is ChangeType.SERVICE,
    ),
    Button("start", "Start implementation", Action.START, style="primary"),
    Button("complete", "Complete implementation", Action.COMPLETE),
    Button("review", "Review", Action.REVIEW, style="primary"),
    Button("cancel", "Cancel", Action.CANCEL, style="danger"),
]


# ---- approvals -------------------------------------------------------------------------------


def tally_text(tally: Tally) -> str:
    parts = []
    if tally.approved_by:
        parts.append("Approved by " + ", ".join(b.user(u) for u in tally.approved_by))
    if tally.rejected_by:
        parts.append("Rejected by " + ", ".join(b.user(u) for u in tally.rejected_by))
    if tally.outcome == "approved":
        parts.append(":white_check_mark: *Approved*")
    elif tally.outcome == "rejected":
        parts.append(":x: *Rejected*")
    else:
        more = tally.needed_more
        parts.append(f"{more} more approval{'s' if more != 1 else ''} needed")
    return " · ".join(parts)


def approval_blocks(change: Change, targets: Sequence[str], tally: Tally) -> list[b.Block]:
    """An approval request (channel post or DM): the change, the tally and, while pending,
    Approve and Reject."""
    out: list[b.Block] = [
        b.section(
            f":ballot_box_with_ballot: Approval requested for {title_line(change)}",
            fields=rb.labelled(
                [
                    ("Type", change.change_type.value.capitalize()),
                    ("Risk", b.user_text(change.risk.capitalize())),
                    ("Window", window_text(change)),
                    ("Services or items", _targets(targets)),
                    ("Requested by", b.user(change.requester)),
                    # Cut before escaping, so an entity is never cut in half.
                    ("Backout plan", b.user_text((change.backout_plan or "—")[:500])),
                ]
            ),
        ),
        b.context(tally_text(tally)),
    ]
    if tally.outcome == "pending" and change.state is ChangeStatus.AWAITING_APPROVAL:
        value = RecordRef(key=change.key).dump()
        out.append(
            b.actions(
                f"change_approval|{change.key}",
                [
                    b.button("Approve", Action.APPROVE, value, style="primary"),
                    b.button("Reject", Action.REJECT, value, style="danger"),
                ],
            )
        )
    return [block for block in out if block]


# ---- steps posted in the thread -------------------------------------------------------------

STEPS = {
    "assess": "assessed {key}; it can be submitted for approval.",
    "submit": "submitted {key} for approval.",
    "schedule": "scheduled {key}.",
    "start": "started implementing {key}.",
    "complete": "completed the implementation of {key}; it awaits its review.",
    "review": "reviewed and closed {key}.",
    "cancel": "cancelled {key}.",
    "approve": "approved {key}.",
    "reject": "rejected {key}.",
}


def step_text(action: str, change: Change, actor: str, note: str | None = None) -> str:
    return rb.step_post(STEPS[action], change.key, actor, note)


def created_text(change: Change) -> str:
    text = f"{b.user(change.requester)} requested {change.key}: {b.user_text(change.title)}"
    if change.state is ChangeStatus.SCHEDULED:
        text += f" (standard change, pre-approved; scheduled {window_text(change)})"
    return text


# ---- ephemeral answers ----------------------------------------------------------------------


def list_line(c: Change) -> str:
    risk, window = f"{b.user_text(c.risk)} risk", f"window {window_text(c)}"
    emoji = TYPE_EMOJI[c.change_type]
    return rb.list_line(c.key, b.user_text(c.title), c.state.label, risk, window, emoji=emoji)


def calendar_blocks(found: Sequence[Change], days: int) -> list[b.Block]:
    heading = f"Change calendar, next {days} day{'s' if days != 1 else ''}"
    if not found:
        return [b.section(f"{heading}: nothing scheduled.")]
    lines = [
        f"{b.slack_time(c.planned_start)} → {b.slack_time(c.planned_end)} "
        f"*{c.key}* {b.user_text(c.title)} ({c.state.label}, {b.user_text(c.risk)} risk)"
        for c in found
    ]
    return [b.section(f"*{heading}* ({len(found)})"), *b.line_sections(lines)]


def show_blocks(
    change: Change,
    targets: Sequence[str],
    conflicts: Sequence[Change],
    tally: Tally | None,
    decisions: Sequence[ChangeApproval],
    trail: Sequence[AuditEntry],
    detail: ServiceChange | None = None,
    accepted: Sequence[Criterion] = (),
) -> list[b.Block]:
    out = [
        block
        for block in message_blocks(change, targets, conflicts, tally)
        if block.get("type") != "actions"
    ]
    if detail is not None:
        out += detail_blocks(detail, accepted)
    out += rb.text_sections(
        [
            ("Description", change.description),
            ("Implementation plan", change.implementation_plan),
            ("Backout plan", change.backout_plan),
            ("Test plan", change.test_plan),
        ]
    )
    if decisions:
        lines = [
            f"{b.user(d.approver)} *{b.user_text(d.decision)}d*"
            + (f" as {b.user_text(d.roles.replace(',', ' and '))}" if d.roles else "")
            + f" `{d.decided_at:%Y-%m-%d %H:%M}Z`"
            + (f" — {b.user_text(d.reason)}" if d.reason else "")
            for d in decisions
        ]
        out.append(b.section("*Approvals*\n" + "\n".join(lines)))
    return out + b.audit_trail(trail, room=50 - len(out))


# ---- modals ---------------------------------------------------------------------------------


def new_change_modal(policy: Policy) -> dict:
    cp = policy.changes
    fields: list[b.Block] = [
        rb.title_block(Field.TITLE, max_length=TITLE_MAX, placeholder="What will change?"),
        rb.text_block(Field.DESCRIPTION, "Description", max_length=3000, optional=True),
        rb.select_block(Field.TYPE, "Type", TYPES),
    ]
    if cp.standard_changes:
        fields.append(
            rb.select_block(
                Field.TEMPLATE,
                "Standard change (for standard changes)",
                [(s.name, s.name) for s in cp.standard_changes],
                optional=True,
            )
        )
    fields.append(
        rb.select_block(
            Field.RISK,
            "Risk",
            RISKS,
            optional=True,
            hint="Leave empty to have the risk worked out from the questions below.",
        )
    )
    if cp.risk_questions:
        fields.append(
            b.input_block(
                Field.RISK_ANSWERS,
                "Risk questions (tick every yes)",
                {
                    "type": "checkboxes",
                    "action_id": Field.RISK_ANSWERS.value,
                    "options": [b.option(q.text, q.id) for q in cp.risk_questions[:10]],
                },
                optional=True,
            )
        )
    targets_element: dict[str, Any] = {
        "type": "multi_external_select",
        "action_id": Field.TARGETS.value,
        "placeholder": b.plain("Services or items"),
        "min_query_length": 0,
    }
    fields += [
        b.input_block(Field.TARGETS, "Services or items affected", targets_element, optional=True),
        *window_inputs(),
        rb.text_block(Field.IMPLEMENTATION, "Implementation plan", max_length=3000, optional=True),
        backout_input(optional=True, hint="Required for normal and emergency changes."),
        rb.text_block(Field.TEST, "Test plan", max_length=3000, optional=True),
        implementer_input(),
    ]
    if cp.security_approvers:
        touches = {
            "type": "checkboxes",
            "action_id": Field.SECURITY.value,
            "options": [b.option("It touches information security", "yes")],
        }
        fields.append(
            b.input_block(
                Field.SECURITY,
                "Security",
                touches,
                optional=True,
                hint="A security approver must then approve it too.",
            )
        )
    return rb.new_record_form(View.NEW, "Request a change", fields, submit="Request change")


def review_modal(change: Change, ref: RecordRef) -> dict:
    outcomes = [(o.label, o.value) for o in ReviewOutcome]
    outcome = rb.select_block(Field.OUTCOME, "Outcome", outcomes)
    inputs = [outcome, text_block(Field.NOTE, "Note", max_length=3000)]
    return record_form(
        View.REVIEW,
        f"Review {change.key}",
        title_line(change),
        inputs,
        submit="Close change",
        ref=ref,
    )


def cancel_modal(change: Change, ref: RecordRef) -> dict:
    inputs = [text_block(Field.NOTE, "Reason")]
    return record_form(
        View.CANCEL,
        f"Cancel {change.key}",
        title_line(change),
        inputs,
        submit="Cancel change",
        ref=ref,
    )


def reject_modal(change: Change, ref: RecordRef) -> dict:
    # Optional here and checked by the service, so the refusal reads in plain words.
    inputs = [text_block(Field.REASON, "Why do you reject it?", optional=True)]
    return record_form(
        View.REJECT, f"Reject {change.key}", title_line(change), inputs, submit="Reject", ref=ref
    )
