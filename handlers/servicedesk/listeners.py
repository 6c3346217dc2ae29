"""Slack listeners for /servicedesk and the availability test buttons: parse, call services,
render. No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers.capacity.command import CapacityCommand
from handlers.common import ack_then, clicked, clicked_from, later, replace_clicked, submitted, tell
from handlers.feedback.csat import CSAT_ARGS, CSAT_HELP, CsatCommand
from handlers.incidents.listeners import IncidentHandlers
from handlers.kind import Call, CommandHandlers, SubCommand
from handlers.management_reviews import ManagementReviewHandlers
from handlers.periods import split_period_or_tell
from handlers.servicedesk import render
from handlers.servicedesk.agreements import AgreementHandlers
from handlers.servicedesk.budget import BudgetCommand
from handlers.servicedesk.ids import Action, Field, View
from handlers.servicedesk.report_render import REPORT_ARGS, REPORT_HELP
from handlers.servicedesk.reports import ReportCommand
from handlers.servicedesk.sms import SmsHandlers
from models.availability import TestRunRef
from services import availability, notifications, service_tests
from services.mrkdwn import user_text
from services.permissions import Actor

OLD_BUTTON = "That button is from an old message; the test run it was about is unknown."


class ServiceDeskHandlers(CommandHandlers):
    command = "/servicedesk"
    heading = "*/servicedesk* commands:"

    def subcommands(self) -> list[SubCommand]:
        return [
            SubCommand(
                "availability",
                lambda call: self._availability(call.args, call.respond),
                "availability %, outages, MTBF and MTRS per service, with the availability and "
                "continuity tests run in the period. The period is like `7d`, `30d` (the "
                "default) or `90d`; both words are optional, in any order.",
                args="[service] [period]",
            ),
            SubCommand(
                "report",
                lambda call: ReportCommand(self.ctx).run(call.args, call.body, call.respond),
                REPORT_HELP,
                args=REPORT_ARGS,
            ),
            SubCommand(
                "sla",
                lambda call: AgreementHandlers(self.ctx).command(call.args, call.respond),
                "the service level agreements; with a name, its terms, version history, reviews "
                "and attainment this month.",
                args="[agreement]",
            ),
            SubCommand(
                "csat",
                lambda call: CsatCommand(self.ctx).run(call.args, call.respond),
                CSAT_HELP,
                args=CSAT_ARGS,
            ),
            SubCommand(
                "sms",
                lambda call: SmsHandlers(self.ctx).command(call.args, call.body, call.respond),
                "the service management system: policy, objectives with their value this "
                "quarter, process owners, controlled documents and their next review.",
            ),
            SubCommand(
                "budget",
                lambda call: BudgetCommand(self.ctx).run(call.args, call.respond),
                "budget against actual per service (a period like `2026-Q4`; default: the "
                "budgets covering today). Costs: `/cost`.",
                args="[period]",
            ),
            SubCommand(
                "capacity",
                lambda call: CapacityCommand(self.ctx).run(call.args, call.respond),
                "capacity requirements with their latest value, level and forecast, and the "
                "capacity plans' next review.",
                args="[item]",
            ),
            SubCommand(
                "review",
                self._review,
                "management reviews: the next one, the inputs the bot prepares for it now, open "
                "actions and past reviews.",
                args="[show MR-2]",
            ),
        ]

    def register_more(self, app: App) -> None:
        app.action(Action.TEST_PASSED.value)(ack_then(self.ctx, self._passed))
        app.action(Action.TEST_FAILED.value)(
            ack_then(self.ctx, self._open_failed, with_client=True)
        )
        app.view(View.TEST_FAILED.value)(self.on_failed_submitted)
        AgreementHandlers(self.ctx).register(app)
        SmsHandlers(self.ctx).register(app)

    # ---- /servicedesk ----------------------------------------------------------------------

    def _review(self, call: Call) -> None:
        rest = {**call.body, "text": " ".join(call.args)}
        ManagementReviewHandlers(self.ctx).route(rest, call.client, call.respond)

    def _availability(self, args: list[str], respond: Respond) -> None:
        policy = self.ctx.policy
        chosen: list[str] = []
        typed = split_period_or_tell(respond, args, what="Reports", examples="`7d`, `30d` or `90d`")
        if typed is None:
            return
        period, rest = typed
        for word in rest:
            found = policy.service(word)
            if found is None:
                names = ", ".join(s.name for s in policy.services) or "none configured"
                tell(
                    respond,
                    f"`{user_text(word)}` is not a service or a period. "
                    f"Services: {user_text(names)}. "
                    "Periods look like `7d`, `30d` or `90d`.",
                )
                return
            chosen.append(found.name)
        names = chosen or [s.name for s in policy.services]
        if not names:
            tell(respond, "No services are configured in the policy file.")
            return
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            reports = [
                availability.report(session, service=name, period=period, now=now, policy=policy)
                for name in names
            ]
            late = notifications.count_late(session, since=now - period, until=now)
        respond(
            text=render.report_fallback(reports, period),
            blocks=render.report_blocks(reports, period, late=late),
            response_type="ephemeral",
            replace_original=False,
        )

    # ---- Passed / Failed ----------------------------------------------------------------------

    def _passed(self, body: dict[str, Any], respond: Respond) -> None:
        def passed(session: Any, ref: TestRunRef, actor: Actor) -> Any:
            return service_tests.record_passed(
                session,
                run_id=ref.run,
                actor=actor,
                members_of=self.ctx.directory.members,
                now=self.ctx.clock.now(),
            )

        done = clicked(self.ctx, body, respond, TestRunRef, passed, old_button=OLD_BUTTON)
        if done:
            replace_clicked(respond, render.recorded_text(done[2]))

    def _open_failed(self, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        def check(session: Any, ref: TestRunRef, actor: Actor) -> Any:
            return service_tests.check_recorder(
                session, run_id=ref.run, actor=actor, members_of=self.ctx.directory.members
            )

        done = clicked(self.ctx, body, respond, TestRunRef, check, old_button=OLD_BUTTON)
        if done:
            # The form remembers the reminder it came from, to replace its buttons once recorded.
            channel, ts = clicked_from(body)
            view = render.failed_modal(done[2], channel=channel, ts=ts)
            client.views_open(trigger_id=body["trigger_id"], view=view)

    def on_failed_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def failed(session: Any, ref: TestRunRef, actor: Actor, values: dict[str, Any]) -> Any:
            note = values.get(Field.NOTE)
            service_tests.clean_note(note)
            run = service_tests.record_failed(
                session,
                run_id=ref.run,
                actor=actor,
                members_of=self.ctx.directory.members,
                note=note or "",
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )
            return run, run.incident_key

        done = submitted(
            self.ctx, ack, body, view, TestRunRef, failed, Field.NOTE, repeat_is_done=True
        )
        if done is None:
            return
        ref, _actor, (run, incident_key) = done
        if ref.channel and ref.ts:
            later(
                self.ctx,
                self.ctx.client.chat_update,
                channel=ref.channel,
                ts=ref.ts,
                text=render.recorded_text(run),
                blocks=[],
            )
        if incident_key:
            later(self.ctx, IncidentHandlers(self.ctx).announce, incident_key)
