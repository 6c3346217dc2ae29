"""Everything a person reads about complaints, compliments and satisfaction in Slack.

What people typed (summaries, details, responses, comments, service names) goes through
`b.user_text` wherever it is put into mrkdwn; modal initial values stay as typed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.feedback.ids import Action, Field, View
from models.audit import AuditEntry
from models.carried import RecordRef
from models.relationship import SUMMARY_MAX, TEXT_MAX, Complaint, ComplaintStatus
from services.surveys import COMMENT_MAX, Csat

BUTTONS = [
    rb.Button("investigate", "Investigate", Action.INVESTIGATE, style="primary"),
    rb.Button("respond", "Respond", Action.RESPOND, style="primary"),
    rb.Button("reopen", "Reopen", Action.REOPEN),
    rb.Button("close", "Close", Action.CLOSE),
]
COMPLAINT = "complaint"
COMPLIMENT = "compliment"


def title_line(complaint: Complaint) -> str:
    return rb.title_line(":speech_balloon:", complaint.key, b.user_text(complaint.summary))


def fallback_text(complaint: Complaint) -> str:
    return rb.fallback_text(complaint.key, b.user_text(complaint.summary), complaint.state.label)


def message_blocks(complaint: Complaint) -> list[b.Block]:
    """The complaint's one channel message (its buttons are added to it by handlers.kind)."""
    fields = [
        ("Status", complaint.state.label),
        ("Owner", b.user(complaint.owner)),
        ("Service", b.user_text(complaint.service) or "—"),
        ("Customer", b.user_text(complaint.customer) or "—"),
        ("Respond by", b.slack_time(complaint.response_due_at)),
        ("From", b.user(complaint.complainant)),
    ]
    out = rb.summary_blocks(title_line(complaint), fields)
    if complaint.description:
        out.append(b.section(b.user_text(complaint.description)[:2900]))
    if complaint.from_record:
        out.append(
            b.context(f"Follows up the satisfaction survey of {b.user_text(complaint.from_record)}")
        )
    if complaint.response:
        out.append(b.section(f"*Response*\n{b.user_text(complaint.response)[:2900]}"))
    return out


def step_texts(complaint: Complaint, who: str) -> dict[str, str]:
    return {
        "created": f"{who} raised {complaint.key}; {b.user(complaint.owner)} owns it.",
        "investigate": f"{who} is investigating {complaint.key}.",
        "respond": f"{who} responded to {complaint.key}.",
        "reopen": f"{who} reopened {complaint.key}.",
        "close": f"{who} closed {complaint.key}.",
    }


def show_blocks(complaint: Complaint, trail: Sequence[AuditEntry]) -> list[b.Block]:
    """`/feedback show`: the message without its buttons, then the audit trail."""
    return [*message_blocks(complaint), *b.audit_trail(trail, room=30)]


def list_line(c: Complaint) -> str:
    respond_by = f"respond by {b.slack_time(c.response_due_at)}"
    return rb.list_line(c.key, b.user_text(c.summary), c.state.label, b.user(c.owner), respond_by)


def new_modal(services: Sequence[str]) -> dict[str, object]:
    """`/feedback`: complaint or compliment, about which service, what happened."""
    kind = b.static_select(
        Field.KIND,
        [("A complaint", COMPLAINT), ("A compliment", COMPLIMENT)],
        initial=COMPLAINT,
    )
    inputs = [b.input_block(Field.KIND, "Is this", kind)]
    if services:
        chooser = b.static_select(
            Field.SERVICE, [(name, name) for name in services], placeholder="Which service"
        )
        inputs.append(b.input_block(Field.SERVICE, "About", chooser, optional=True))
    inputs += [
        rb.text_block(Field.SUMMARY, "In a few words", max_length=SUMMARY_MAX, multiline=False),
        rb.text_block(Field.DESCRIPTION, "What happened", max_length=TEXT_MAX, optional=True),
    ]
    return b.modal(View.NEW, "Feedback", inputs, submit="Send")


def respond_modal(complaint: Complaint, ref: RecordRef) -> dict[str, object]:
    return rb.record_form(
        View.RESPOND,
        "Respond",
        title_line(complaint),
        [
            rb.text_block(
                Field.RESPONSE, "The response the complainant receives", max_length=TEXT_MAX
            )
        ],
        submit="Send response",
        ref=ref,
    )


def comment_modal(record_key: str) -> dict[str, object]:
    return b.modal(
        View.COMMENT,
        "Your comment",
        [rb.text_block(Field.COMMENT, "Anything to add?", max_length=COMMENT_MAX)],
        submit="Send",
        private_metadata=RecordRef(key=record_key).dump(),
    )


def thanked_blocks(record_key: str, score: int) -> list[b.Block]:
    """The survey DM once answered: the score and a button for an optional comment."""
    out: list[b.Block] = [
        b.section(f"Thank you: you rated {b.user_text(record_key)} {score}/5."),
    ]
    button = b.actions(
        "survey_comment",
        [b.button("Add a comment", Action.COMMENT, record_key)],
    )
    if button:
        out.append(button)
    return out


def compliment_text(service: str | None) -> str:
    about = f" about {b.user_text(service)}" if service else ""
    return f":tada: Thank you: your compliment{about} was passed to the team."


def csat_blocks(title: str, figures: Csat, since: datetime, until: datetime) -> list[b.Block]:
    """`/servicedesk csat`: response rate, average, distribution, the latest comments."""
    rate = "—" if figures.response_rate is None else f"{figures.response_rate:.0f}%"
    average = "—" if figures.average is None else f"{figures.average:.2f} / 5"
    bars = "\n".join(
        f"`{score}` {'█' * min(count, 40)} {count}"
        for score, count in sorted(figures.distribution.items(), reverse=True)
    )
    out: list[b.Block] = [
        b.section(
            f"*Satisfaction — {b.user_text(title)}*  {rb.short_day(since)} to {rb.short_day(until)}",
            fields=rb.labelled(
                [
                    ("Surveys sent", str(figures.asked)),
                    ("Answered", f"{figures.answered} ({rate})"),
                    ("Average", average),
                ]
            ),
        ),
        b.section(f"*Distribution*\n{bars}"),
    ]
    if figures.comments:
        lines = [
            f"*{b.user_text(key)}* {score}/5 — {b.user_text(comment)[:300]}"
            for key, score, comment in figures.comments
        ]
        out.append(b.section("*Latest comments*"))
        out.extend(b.line_sections(lines))
    return out


def csat_fallback(title: str, figures: Csat) -> str:
    average = "—" if figures.average is None else f"{figures.average:.2f}"
    return f"Satisfaction, {b.user_text(title)}: {figures.answered}/{figures.asked} answered, average {average}"


OPEN_STATES = [s for s in ComplaintStatus if s is not ComplaintStatus.CLOSED]
