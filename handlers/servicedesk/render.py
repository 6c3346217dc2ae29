"""What /servicedesk and the availability buttons show people: one place for the wording.

Service and test names come from the policy file and notes from people: they go through
`user_text` in mrkdwn (the header is plain_text and shows them as they are)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.blocks import (
    Block,
    context,
    header,
    input_block,
    modal,
    section,
    slack_time,
    text_input,
    user,
    user_text,
)
from handlers.servicedesk.ids import Field, View
from models.availability import TestRun, TestRunRef
from services.availability import ServiceAvailability
from services.service_tests import NOTE_MAX


def hours(span: timedelta | None) -> str:
    """A duration in hours, as availability reports give them ("717h", "2.5h")."""
    if span is None:
        return "—"
    value = f"{span.total_seconds() / 3600:.2f}".rstrip("0").rstrip(".")
    return f"{value}h"


def period_label(period: timedelta) -> str:
    days = period.total_seconds() / 86400
    return f"last {days:g} days" if days >= 1 else f"last {hours(period)}"


def run_line(run: TestRun) -> str:
    outcome = run.state.label
    if run.recorded_by:
        outcome += f" by {user(run.recorded_by)}"
    if run.incident_key:
        outcome += f" → {user_text(run.incident_key)}"
    late = " (late)" if run.late else ""
    return (
        f"• {run.key} *{user_text(run.test_name)}* ({user_text(run.kind)}), "
        f"due {slack_time(run.due_at)}{late}: {outcome}"
    )


def report_text(found: ServiceAvailability, period: timedelta) -> str:
    return (
        f"*{user_text(found.service)}* — {period_label(period)}\n"
        f"Availability *{found.availability_percent:.3f} %* · outages {len(found.outages)} · "
        f"MTBF {hours(found.mtbf)} · MTRS {hours(found.mtrs)} · downtime {hours(found.downtime)}"
    )


def report_blocks(
    reports: list[ServiceAvailability], period: timedelta, *, late: int | None = None
) -> list[Block]:
    blocks: list[Block] = [header(f"Availability, {period_label(period)}")]
    if late is not None:
        # The bot's own delivery: what it owed people and sent late in the period.
        blocks.append(context(late_line(late)))
    for found in reports:
        blocks.append(section(report_text(found, period)))
        if found.runs:
            blocks.append(section("Tests:\n" + "\n".join(run_line(r) for r in found.runs[-15:])))
        else:
            blocks.append(context("No availability or continuity tests fell due in the period."))
    blocks.append(
        context(
            "Agreed service time is 24×7. Downtime: high-impact incidents on the service and "
            "failing URL checks, overlaps merged. MTBF = uptime / outages; "
            "MTRS = downtime / outages."
        )
    )
    return blocks[:50]


def late_line(late: int) -> str:
    if late == 0:
        return "No notification was sent late in the period."
    noun = "notification was" if late == 1 else "notifications were"
    return f"{late} {noun} sent late in the period (the bot or Slack was unavailable)."


def report_fallback(reports: list[ServiceAvailability], period: timedelta) -> str:
    return "\n\n".join(report_text(found, period) for found in reports)


def failed_modal(
    run: TestRun, *, channel: str | None = None, ts: str | None = None
) -> dict[str, Any]:
    return modal(
        View.TEST_FAILED.value,
        "Test failed",
        [
            section(
                f"*{user_text(run.test_name)}* on *{user_text(run.service)}* ({run.key}). "
                "An incident will be opened "
                "on the service with your note."
            ),
            input_block(
                Field.NOTE.value,
                "What failed?",
                text_input(Field.NOTE.value, multiline=True, max_length=NOTE_MAX),
            ),
        ],
        submit="Record failure",
        private_metadata=TestRunRef(run=run.id or 0, channel=channel, ts=ts).dump(),
    )


def recorded_text(run: TestRun) -> str:
    text = (
        f"{run.key} *{user_text(run.test_name)}* on *{user_text(run.service)}*: "
        f"{run.state.label.lower()}"
    )
    text += f", recorded by {user(run.recorded_by)}." if run.recorded_by else "."
    if run.incident_key:
        text += f" {user_text(run.incident_key)} was opened."
    return text
