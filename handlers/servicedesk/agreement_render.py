"""What `/servicedesk sla` and the agreement review form show: one place for the wording.
Everything taken from the policy file (names, customers, services) is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.blocks import (
    Block,
    actions,
    button,
    context,
    header,
    input_block,
    line_sections,
    modal,
    section,
    static_select,
    text_input,
)
from handlers import record_blocks as rb
from models.agreement import AgreementRecord, AgreementReview, AgreementVersion, ReviewRef
from models.agreement_policy import Agreement
from models.audit import AuditEntry
from models.sla_policy import PRIORITIES, format_duration
from services.agreement_attainment import Attainment, TargetAttainment
from services.agreement_reviews import NOTE_MAX, RECORD_REVIEW_ACTION_ID, ReviewOutcome
from services.mrkdwn import group_mention, mention, user_text

REVIEW_VIEW = "agreement_review_view"
DATE_FIELD = "reviewed_on"
OUTCOME_FIELD = "outcome"
NOTE_FIELD = "note"


def _percent(found: TargetAttainment) -> str:
    if found.percent is None:
        return "— (none settled yet)"
    return f"{found.percent:.1f} % ({found.met} of {found.settled} met)"


def list_text(agreements: Sequence[Agreement]) -> str:
    if not agreements:
        return (
            "No service level agreements are defined. Add `[[agreements]]` to the policy file "
            "(see the README, section Agreements)."
        )
    lines = ["*Service level agreements* — `/servicedesk sla NAME` for one of them:"]
    for agreement in agreements:
        services = ", ".join(user_text(s) for s in agreement.services)
        lines.append(
            f"• *{user_text(agreement.name)}* with {user_text(agreement.customer)}: {services}"
        )
    return "\n".join(lines)


def unknown_text(name: str, agreements: Sequence[Agreement]) -> str:
    known = ", ".join(user_text(a.name) for a in agreements) or "none defined"
    return f"There is no agreement called `{user_text(name)}`. Agreements: {known}."


def _terms(agreement: Agreement) -> list[str]:
    lines = [
        f"Customer: {user_text(agreement.customer)} · owner {mention(agreement.owner)}",
        "Services: " + ", ".join(user_text(s) for s in agreement.services),
    ]
    if agreement.availability_target is not None:
        lines.append(f"Availability target: {agreement.availability_target:g} %")
    for key in PRIORITIES:
        target = agreement.incident_targets.get(key)
        if target is not None:
            clock = target.calendar or agreement.calendar or "as the global target"
            lines.append(
                f"{key}: response {target.written('response')}, resolution "
                f"{target.written('resolution')} ({clock})"
            )
    requests = agreement.request_targets
    if requests.response or requests.fulfilment:
        parts = [
            f"{which} {format_duration(value)}"
            for which, value in (
                ("response", requests.response),
                ("fulfilment", requests.fulfilment),
            )
            if value is not None
        ]
        lines.append("Requests: " + ", ".join(parts))
    hours = agreement.service_hours
    if hours is not None:
        closed = f", closed {len(hours.closed_dates)} extra day(s)" if hours.closed_dates else ""
        holidays = f", {user_text(hours.country)} public holidays" if hours.country else ""
        lines.append(
            f"Service hours: {', '.join(hours.working_days)} {hours.start:%H:%M}–"
            f"{hours.end:%H:%M} {user_text(hours.timezone)}{holidays}{closed}"
        )
    if agreement.escalate_to is not None:
        who = agreement.escalate_to
        shown = group_mention(who) if who.startswith("S") else mention(who)
        lines.append(f"An overdue review is escalated to {shown}")
    return lines


def _attainment(found: Attainment) -> list[str]:
    lines = [
        f"*This month so far* (since {rb.short_day(found.start)}): {found.incidents} incident(s)",
        f"Response met: {_percent(found.response)}",
        f"Resolution met: {_percent(found.resolution)}",
    ]
    target = found.agreement.availability_target
    for service in found.services:
        verdict = found.availability_met(service)
        mark = "" if verdict is None else (" :white_check_mark:" if verdict else " :x:")
        against = f" against {target:g} %" if target is not None else ""
        lines.append(
            f"Availability of {user_text(service.service)}: "
            f"{service.availability_percent:.3f} %{against}{mark}"
        )
    return lines


def _history(versions: Sequence[AgreementVersion], trail: Sequence[AuditEntry]) -> list[str]:
    changes: dict[str, list[AuditEntry]] = {}
    for entry in trail:
        if entry.action == "agreement changed" and entry.note:
            changes.setdefault(entry.note, []).append(entry)
    lines = ["*Versions*"]
    for version in versions[::-1][:10]:
        lines.append(
            f"• version {version.version}, recorded {version.recorded_at:%Y-%m-%d %H:%M} UTC"
        )
        for entry in changes.get(f"version {version.version}", []):
            lines.append(
                f"    {user_text(entry.field)}: {user_text(entry.from_value) or '—'} → "
                f"{user_text(entry.to_value) or '—'}"
            )
    if len(versions) > 10:
        lines.append(f"_…and {len(versions) - 10} older version(s)_")
    return lines


def _reviews(record: AgreementRecord, reviews: Sequence[AgreementReview], today: date) -> list[str]:
    due = "none planned"
    if record.next_review is not None:
        due = rb.day(record.next_review)
        if record.next_review < today:
            due += " (overdue)"
    lines = [f"*Reviews* — next: {due}"]
    for review in reviews[:5]:
        note = f": {user_text(review.note)}" if review.note else ""
        lines.append(
            f"• {review.reviewed_on:%Y-%m-%d} {review.outcome} ({mention(review.recorded_by)}){note}"
        )
    return lines


def agreement_blocks(
    found: Attainment,
    record: AgreementRecord,
    versions: Sequence[AgreementVersion],
    trail: Sequence[AuditEntry],
    reviews: Sequence[AgreementReview],
    today: date,
) -> list[Block]:
    agreement = found.agreement
    blocks: list[Block] = [header(f"Agreement {agreement.name}"[:150])]
    blocks += line_sections(_terms(agreement))
    blocks += line_sections(_attainment(found))
    blocks += line_sections(_history(versions, trail))
    blocks += line_sections(_reviews(record, reviews, today))
    review = actions(
        "agreement_review",
        [
            button(
                "Record review",
                RECORD_REVIEW_ACTION_ID,
                ReviewRef(agreement=agreement.name).dump(),
            )
        ],
    )
    if review is not None:
        blocks.append(review)
    blocks.append(
        context(
            "Response and resolution: targets met of those settled (met or breached) for "
            "incidents logged this month on the agreement's services. Availability: agreed "
            "service time 24×7, as `/servicedesk availability` computes it."
        )
    )
    return blocks[:50]


def agreement_fallback(found: Attainment) -> str:
    return "\n".join([f"Agreement {user_text(found.agreement.name)}", *_attainment(found)])


def review_modal(agreement: Agreement, ref: ReviewRef, today: date) -> dict[str, Any]:
    outcome = static_select(
        OUTCOME_FIELD,
        [(choice.label, choice.value) for choice in ReviewOutcome],
        placeholder="How did it go?",
    )
    return modal(
        REVIEW_VIEW,
        "Record review",
        [
            section(
                f"Review of *{user_text(agreement.name)}* with {user_text(agreement.customer)}."
            ),
            input_block(
                DATE_FIELD,
                "Date of the review",
                {"type": "datepicker", "action_id": DATE_FIELD, "initial_date": today.isoformat()},
            ),
            input_block(OUTCOME_FIELD, "Outcome", outcome),
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


def recorded_text(agreement: Agreement, review: AgreementReview) -> str:
    following = (
        f" Next review: {rb.day(review.next_review)}."
        if review.next_review
        else " No next review is planned: set `next_review` in the policy file."
    )
    return (
        f"Review of *{user_text(agreement.name)}* on {rb.short_day(review.reviewed_on)} recorded "
        f"by {mention(review.recorded_by)}: {review.outcome}.{following}"
    )
