"""`/servicedesk report` and posting a report (the summary, then its charts as files) to a
person or a channel; the scheduled reports go out through the same `ReportSender`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond

from bot.context import AppContext
from handlers.common import actor_of, tell, user_id
from handlers.servicedesk import report_render as render
from services import reports
from services.errors import ServiceDeskError
from services.reports.figures import Report
from services.reports.period import Period

log = logging.getLogger(__name__)

_PERIOD_PHRASES = ("last month", "this month", "last week", "this week")


def split_arguments(words: list[str]) -> tuple[str, str | None]:
    """(scope text, period text) from what followed `/servicedesk report`, in either order."""
    remaining = " ".join(words)
    period = None
    lowered = remaining.lower()
    for phrase in _PERIOD_PHRASES:
        index = lowered.find(phrase)
        if index >= 0:
            period = phrase
            remaining = (remaining[:index] + remaining[index + len(phrase) :]).strip()
            break
    if period is None:
        kept = []
        for word in remaining.split():
            if period is None and reports.period.looks_like_period(word):
                period = word
            else:
                kept.append(word)
        remaining = " ".join(kept)
    return remaining.strip(), period


class ReportSender:
    """Posts a built report to a Slack conversation: the Block Kit summary, then each chart
    uploaded as a PNG in the summary's thread (files_upload_v2)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def build(self, scope: reports.Scope, period: Period) -> Report:
        with self.ctx.db.read_session() as session:
            return reports.build_report(
                session, self.ctx.policy, scope, period, self.ctx.clock.now()
            )

    def send(self, channel: str, report: Report) -> None:
        """Post `report` to `channel` (a channel id or name, or a user id for a DM)."""
        client = self.ctx.client
        if channel[:1] in ("U", "W"):
            channel = client.conversations_open(users=channel)["channel"]["id"]
        posted = client.chat_postMessage(
            channel=channel,
            text=render.fallback(report),
            blocks=render.summary_blocks(report),
            unfurl_links=False,
        )
        channel_id = posted["channel"]
        # matplotlib is imported on first use, not when the bot starts.
        from services.reports.charts import render_all

        charts = render_all(report)
        client.files_upload_v2(
            channel=channel_id,
            thread_ts=posted["ts"],
            file_uploads=[
                {"content": chart.png, "filename": chart.name, "title": chart.title}
                for chart in charts
            ],
        )


class ReportCommand:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.sender = ReportSender(ctx)

    def run(self, words: list[str], body: dict[str, Any], respond: Respond) -> None:
        """Check the request, say at once that the report is coming, then build and DM it."""
        scope_text, period_text = split_arguments(words)
        try:
            reports.check_requester(actor_of(self.ctx, body))
            with self.ctx.db.read_session() as session:
                scope = reports.resolve(self.ctx.policy, scope_text, session)
            period = reports.parse_period(period_text, now=self.ctx.clock.now())
        except ServiceDeskError as error:
            # The message repeats what was typed: escaped, it cannot mention or link.
            tell(respond, render.escape(str(error)))
            return
        tell(respond, render.preparing(scope.label, period.label))
        report = self.sender.build(scope, period)
        try:
            self.sender.send(user_id(body), report)
        except Exception:
            log.exception("the service report for %s could not be sent", user_id(body))
            tell(respond, render.failed())
