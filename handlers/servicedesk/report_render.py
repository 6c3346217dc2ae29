"""How a service report reads in Slack: a Block Kit summary (every figure beside the previous
period's), the breaches, and the wording of the replies. One place for the words."""

from __future__ import annotations

from itertools import groupby

from bot.blocks import Block, context, divider, header, section
from services.mrkdwn import user_text
from services.reports import text
from services.reports.figures import Report
from services.reports.sections import Detail

FIELDS_PER_SECTION = 10  # Slack's limit


def escape(value: str) -> str:
    """Text from records or the policy shown in mrkdwn: &, < and > can no longer form a
    mention, a link or a broadcast (the project's helper, services.mrkdwn)."""
    return user_text(value)


def _field(row: text.Row) -> str:
    previous = f"prev {row.previous}"
    if row.change:
        previous += f", {row.change}"
    return f"*{escape(row.label.strip())}*\n{escape(row.current)}  _({escape(previous)})_"


def summary_blocks(report: Report) -> list[Block]:
    """The report as Block Kit: a header, one section of fields per group, then details."""
    blocks: list[Block] = [
        header(text.title(report)[:150]),
        context(escape(text.subtitle(report))),
    ]
    rows = text.summary_rows(report)
    for group, members in groupby(rows, key=lambda row: row.group):
        fields = [_field(row) for row in members]
        for start in range(0, len(fields), FIELDS_PER_SECTION):
            heading = f"*{escape(group)}*" if start == 0 else " "
            blocks.append(section(heading, fields=fields[start : start + FIELDS_PER_SECTION]))
    blocks.append(divider())
    for detail in text.details(report):
        blocks.append(detail_block(detail))
    blocks.append(
        context(
            "Charts follow in this conversation. For the full record lists run "
            "`servicedesk report --scope … --period …` (PDF, CSV, Markdown)."
        )
    )
    return blocks[:50]


def detail_block(detail: Detail) -> Block:
    """Prose as a context line; a table as a bulleted list of its first rows."""
    if not detail.is_table:
        return context(f"{escape(detail.heading)}: {escape(detail.text)}"[:2900])
    if not detail.rows:
        return section(f"*{escape(detail.heading)}:* {escape(detail.empty)}")
    lines = [f"*{escape(detail.heading)}* ({len(detail.rows)}):"]
    for row in detail.rows[: detail.shown]:
        lines.append("• " + " · ".join(escape(cell[:80]) for cell in row if cell))
    if len(detail.rows) > detail.shown:
        lines.append(f"…and {len(detail.rows) - detail.shown} more (in the CSV export).")
    return section("\n".join(lines)[:2900])


def fallback(report: Report) -> str:
    c = report.current
    return (
        f"{text.title(report)}: {c.incidents} incidents, response met "
        f"{text.percent(c.response.percent)}, resolution met {text.percent(c.resolution.percent)}."
    )


def preparing(report_scope: str, period_label: str) -> str:
    return (
        f"Preparing the service report for {escape(report_scope)}, {period_label}. "
        "I'll send it to you in a direct message."
    )


def failed() -> str:
    return "The report could not be sent to Slack. Try again in a minute."


REPORT_ARGS = "[scope] [period]"
REPORT_HELP = (
    "a service report sent to you by direct message, with charts. Scope: `all` (default), a "
    "service, `agreement:NAME` or `customer:NAME`. Period: `2026-10`, `last month` (default), "
    "`this month`, `last week`, or `2026-10-01..2026-10-15`."
)
