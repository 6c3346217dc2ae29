"""Slack listeners for raising an agreement change from a recorded review: the button opens
the form (after the same check the service makes), the submission raises the change and posts
it in the changes channel. Parse, call services.agreement_changes, render."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.context import AppContext
from handlers.agreement_changes import render
from handlers.agreement_changes.render import F
from handlers.changes.listeners import ChangeHandlers
from handlers.common import ack_then, clicked, later, submitted
from handlers.kind import picked_datetime, typed_text
from models.carried import RecordRef
from services import agreement_changes
from services.errors import AlreadyDone
from services.permissions import Actor


class AgreementChangeHandlers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.action(render.RAISE_ACTION)(ack_then(self.ctx, self._open))
        app.view(render.VIEW)(self.on_submitted)

    def _open(self, body: dict[str, Any], respond: Respond) -> None:
        def check(session: Any, ref: RecordRef, actor: Actor) -> Any:
            found = agreement_changes.origin(session, key=ref.key, policy=self.ctx.policy)
            agreement_changes.check_raiser(found, actor)
            already = agreement_changes.raised_from(session, key=found.key)
            if already is not None:
                raise AlreadyDone(f"{already} was already raised from this review.")
            return found

        done = clicked(self.ctx, body, respond, RecordRef, check)
        if done:
            self.ctx.client.views_open(
                trigger_id=body["trigger_id"], view=render.raise_modal(done[2])
            )

    def on_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def raise_change(session: Any, ref: RecordRef, actor: Actor, values: dict[str, Any]) -> str:
            return agreement_changes.raise_change(
                session,
                key=ref.key,
                title=typed_text(values, F.TITLE),
                description=typed_text(values, F.DESCRIPTION),
                agreement=typed_text(values, F.AGREEMENT) or None,
                risk=typed_text(values, F.RISK) or None,
                planned_start=picked_datetime(values.get(F.START)),
                planned_end=picked_datetime(values.get(F.END)),
                backout_plan=typed_text(values, F.BACKOUT),
                implementer=typed_text(values, F.IMPLEMENTER) or None,
                actor=actor,
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
                submission_id=view.get("id"),
            ).key

        done = submitted(self.ctx, ack, body, view, RecordRef, raise_change, F.DESCRIPTION)
        if done:
            later(self.ctx, ChangeHandlers(self.ctx).announce, done[2])
