"""Slack listeners for internal audits (`/audit`): parse, call services.audits, render. No
rules here. A finding opens the nonconformity form with the audit filled in."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond

from handlers.audits import render
from handlers.audits.ids import Action, Field, View
from handlers.common import ack_then, actor_of, tell
from handlers.kind import Form, Listing, Show, Step, Submit
from handlers.nonconformities import render as nc_render
from handlers.sms_records import SmsRecordHandlers
from models.improvement import InternalAudit
from services import audits, nonconformities
from services.errors import ServiceDeskError


class AuditHandlers(SmsRecordHandlers):
    command = "/audit"
    kind = audits.KIND
    heading = "*Internal audits* (planned from `[[sms.audits]]`)"
    renderer = render
    table = (
        Listing(
            "audits planned or in progress",
            audits.register,
            heading="Internal audits planned or in progress",
            everything=True,
            aliases=("",),
            none="none. Plan them in `[[sms.audits]]`.",
        ),
        Show("one audit, its findings and its audit trail"),
    )
    steps = {
        Action.START: Step("start", audits.start),
        Action.CANCEL: Step("cancel", audits.cancel),
    }
    forms = {
        Action.COMPLETE: Form(
            "complete",
            render.complete_modal,
            Submit(View.COMPLETE, audits.complete, {"conclusion": Field.NOTE}),
        )
    }

    def register_more(self, app: App) -> None:
        app.action(Action.FINDING.value)(ack_then(self.ctx, self._open_finding))

    def parts(self, session: Any, record: InternalAudit) -> tuple[Any, ...]:
        return (audits.findings(session, key=record.key),)

    def _open_finding(self, body: dict[str, Any], respond: Respond) -> None:
        """The nonconformity form, with this audit as where it was found; only its auditor
        (or an admin), who must also be allowed to record nonconformities."""
        ref = self.clicked_ref(body)
        if ref is None:
            self._old_button(respond)
            return
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                record = self.kind.get(session, key=ref.key)
                audits.check_step(record, "finding", actor)
            nonconformities.may_raise(actor)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        view = nc_render.new_modal(source=ref.key)
        self.ctx.client.views_open(trigger_id=body["trigger_id"], view=view)
