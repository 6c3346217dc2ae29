"""Slack listeners for service changes, part of the change kind (`/change service`, the Record
acceptance test button and form): parse, call services.service_changes, render."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond

from bot.blocks import view_values
from handlers.changes.ids import Action, Field, View, criterion_field, note_field
from handlers.common import ack_then, actor_of, later, open_checked_form
from handlers.kind import Call, picked_datetime, typed_text
from handlers.service_changes import render
from models.service_change import CRITERIA_MAX, ServiceChangeInput
from services import changes, service_changes, service_list
from services.errors import NotAllowed

if TYPE_CHECKING:
    from handlers.changes.listeners import ChangeHandlers


class ServiceChangeForms:
    """The change kind's service-change forms; `kind` is the change handlers (announce,
    refresh, submit)."""

    def __init__(self, kind: ChangeHandlers) -> None:
        self.kind = kind
        self.ctx = kind.ctx

    def register(self, app: App) -> None:
        app.view(View.SERVICE.value)(self.on_submitted)
        app.action(Action.ACCEPT.value)(ack_then(self.ctx, self._open_accept))
        app.view(View.ACCEPT.value)(self.on_accept_submitted)

    # ---- proposing ---------------------------------------------------------------------------

    def open_new(self, call: Call) -> None:
        with self.ctx.db.session() as session:
            offered = service_list.offered(session, policy=self.ctx.policy)
        view = render.service_modal(offered, self.ctx.policy.teams)
        call.open_form(view)

    def on_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        action = typed_text(values, Field.SERVICE_ACTION)
        named = typed_text(values, Field.SERVICE_NAME) if action == "new" else ""
        data = ServiceChangeInput(
            action=action,
            service=named or typed_text(values, Field.SERVICE),
            team=typed_text(values, Field.TEAM) or None,
            requirements=typed_text(values, Field.REQUIREMENTS),
            design=typed_text(values, Field.DESIGN),
            criteria=typed_text(values, Field.CRITERIA),
            agreement=typed_text(values, Field.AGREEMENT),
            capacity=typed_text(values, Field.CAPACITY),
            budget=typed_text(values, Field.BUDGET),
            risk=typed_text(values, Field.RISK) or None,
            planned_start=picked_datetime(values.get(Field.START)),
            planned_end=picked_datetime(values.get(Field.END)),
            backout_plan=typed_text(values, Field.BACKOUT),
            implementer=typed_text(values, Field.IMPLEMENTER) or None,
        )

        self.kind.store_change(ack, body, view, service_changes.propose, data, Field.REQUIREMENTS)

    # ---- the acceptance test ------------------------------------------------------------------

    def _open_accept(self, body: dict[str, Any], respond: Respond) -> None:
        ref = self.kind.clicked_ref(body)
        if ref is None:
            self.kind._old_button(respond)
            return
        actor = actor_of(self.ctx, body)

        def load(session: Any) -> Any:
            change = changes.get(session, key=ref.key)
            changes.KIND.check_step(change, "accept", actor)
            accepted = service_changes.criteria(session, change=change)
            if not accepted:
                raise NotAllowed(f"{change.key} is no service change; it has no criteria.")
            return change, accepted

        open_checked_form(
            self.ctx,
            body,
            respond,
            load,
            lambda found: render.acceptance_modal(found[0], found[1], ref),
        )

    def on_accept_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # The same form delivered twice records once; a forged one without an id is its own.
        submission = str(view.get("id") or "") or secrets.token_hex(8)

        def apply(s: Any, key: str, actor: Any, values: dict[str, Any]) -> Any:
            results = []
            for number in range(1, CRITERIA_MAX + 1):
                if criterion_field(number) not in values:
                    break
                choice = values.get(criterion_field(number))
                passed = {"passed": True, "failed": False}.get(
                    choice if isinstance(choice, str) else ""
                )
                results.append((passed, typed_text(values, note_field(number))))
            accepted = service_changes.record_acceptance(
                s,
                key=key,
                results=results,
                actor=actor,
                now=self.ctx.clock.now(),
                submission_id=submission,
            )
            return changes.get(s, key=key), accepted

        done = self.kind.submit(ack, body, view, apply, criterion_field(1))
        if done:
            _ref, actor, (change, accepted) = done
            step = render.acceptance_text(change, accepted, actor.user_id)
            later(self.ctx, self.kind.refresh, change.key, step=step)
