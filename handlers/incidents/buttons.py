"""The incident message's buttons, the forms they open, and acknowledgements from pages and
escalation messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.blocks import view_values
from bot.payloads import clicked
from handlers.common import actor_of, later, open_checked_form, replace_clicked, tell
from handlers.incidents import forms, render
from handlers.incidents.ids import Field, More
from handlers.incidents.messages import IncidentMessages
from handlers.problems import render as problem_render
from models.carried import RecordRef
from models.incident import EscalationKind, HoldReason, Incident
from services import (
    cmdb,
    incident_escalation,
    incidents,
    links,
    paging,
    priority,
    problems,
    security,
    suppliers,
)
from services.errors import InvalidInput, ServiceDeskError
from services.mrkdwn import link


class IncidentButtons(IncidentMessages):
    def on_acknowledge(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(
            self.ctx,
            self._step,
            body,
            respond,
            "acknowledge",
            self._with_policy(incidents.acknowledge),
        )

    def on_page_acknowledge(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """Acknowledge from a page: acknowledges the incident if it is still New, and stops the
        escalation ladder either way."""
        ack()

        def apply(s: Any, key: str, actor: Any, now: Any) -> Incident | None:
            return incident_escalation.acknowledge_page(
                s, key=key, actor=actor, now=now, policy=self.ctx.policy
            )

        later(self.ctx, self._step, body, respond, "acknowledge", apply)

    def _escalation_acknowledge(self, body: dict[str, Any], respond: Respond) -> None:
        """Acknowledge from an escalation message: recorded once per person and escalation."""
        key = self._key_from(body)
        if key is None:
            return
        actor = actor_of(self.ctx, body)
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.session() as session:
                incident = incident_escalation.acknowledge_escalation(
                    session, key=key, actor=actor, now=now
                )
                if incident.status == "new":
                    incident = incidents.acknowledge(
                        session, key=key, actor=actor, now=now, policy=self.ctx.policy
                    )
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        self.refresh(key, step=f"<@{actor.user_id}> acknowledged the escalation of {key}.")
        replace_clicked(respond, f"You acknowledged the escalation of {key}.")

    def on_resume(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._step, body, respond, "resume", self._with_policy(incidents.resume))

    def on_reopen(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._step, body, respond, "reopen", self._with_policy(incidents.reopen))

    def on_close(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._step, body, respond, "close", self._plain(incidents.close))

    def on_assign(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        assignee = body["actions"][0].get("selected_user")

        def assign(s: Any, key: str, actor: Any, now: Any) -> Incident | None:
            incident, changed = incidents.assign(
                s, key=key, assignee=assignee, actor=actor, now=now
            )
            return incident if changed else None

        later(self.ctx, self._step, body, respond, "assign", assign)

    def _with_policy(self, step: Callable[..., Incident]) -> Callable[..., Incident]:
        """A service step as `_step` calls it, for steps that also take the policy."""

        def apply(session: Any, key: str, actor: Any, now: Any) -> Incident:
            return step(session, key=key, actor=actor, now=now, policy=self.ctx.policy)

        return apply

    @staticmethod
    def _plain(step: Callable[..., Incident]) -> Callable[..., Incident]:
        def apply(session: Any, key: str, actor: Any, now: Any) -> Incident:
            return step(session, key=key, actor=actor, now=now)

        return apply

    def _key_from(self, body: dict[str, Any]) -> str | None:
        action = body["actions"][0]
        ref = RecordRef.load(action.get("value"))
        if ref is not None:
            return ref.key
        # The people picker carries no value: the key is in the actions block id.
        block_id = action.get("block_id") or ""
        return block_id.split("|", 1)[1] if "|" in block_id else None

    def _step(
        self,
        body: dict[str, Any],
        respond: Respond,
        action: str,
        apply: Callable[[Any, str, Any, Any], Incident | None],
    ) -> None:
        key = self._key_from(body)
        if key is None:
            tell(respond, "That button is from an old message; use `/incident show` instead.")
            return
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                incident = apply(session, key, actor, self.ctx.clock.now())
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        if incident is None:
            return
        self.refresh(incident.key, step=render.step_text(action, incident, actor.user_id))
        if action == "assign" and incident.assignee and incident.assignee != actor.user_id:
            self._dm(
                [incident.assignee], render.assigned_text(incident, actor.user_id), incident, None
            )
        if body.get("channel", {}).get("id", "").startswith("D") and action == "acknowledge":
            # Acknowledged from a page: replace the DM's button with who acknowledged.
            replace_clicked(respond, f"{incident.key} acknowledged by <@{actor.user_id}>.")

    # ---- buttons that open a modal first --------------------------------------------------------

    def on_open_resolve(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(
            self.ctx,
            self._open_step_modal,
            body,
            respond,
            "resolve",
            lambda incident, ref: forms.resolve_modal(incident, self.ctx.policy, ref),
        )

    def on_open_hold(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(
            self.ctx,
            self._open_step_modal,
            body,
            respond,
            "hold",
            lambda incident, ref: forms.hold_modal(
                incident, ref, suppliers.offered_for(self.ctx.policy, incident.service)
            ),
        )

    def on_open_escalate(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(
            self.ctx,
            self._open_step_modal,
            body,
            respond,
            "escalate",
            lambda incident, ref: forms.escalate_modal(incident, self.ctx.policy, ref),
        )

    def on_more(self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        chosen = clicked(body).selected_option
        choice, _, key = (chosen.value if chosen else "").partition("|")
        if choice == More.PRIORITY:
            later(
                self.ctx,
                self._open_step_modal,
                body,
                respond,
                "reprioritise",
                forms.priority_modal,
                key=key,
            )
        elif choice == More.PROBLEM:
            later(self.ctx, self._open_problem, body, client, respond, key)
        elif choice == More.CANCEL:
            later(
                self.ctx,
                self._open_step_modal,
                body,
                respond,
                "cancel",
                forms.cancel_modal,
                key=key,
            )
        else:
            later(self.ctx, tell, respond, "That menu choice is unknown; nothing was done.")

    def _open_problem(
        self, body: dict[str, Any], client: WebClient, respond: Respond, key: str
    ) -> None:
        try:
            actor = actor_of(self.ctx, body)
            problems.may_raise(actor)
            with self.ctx.db.session() as session:
                incident = incidents.get(session, key=key)
                security.require_visible(incident, actor)
                items = links.linked(session, key=incident.key, kind=cmdb.ITEM_LINK)
                item = cmdb.get(session, key=items[0]).name if items else None
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        view = problem_render.new_problem_modal(
            title=incident.title,
            description=incident.description or "",
            target=item or incident.service,
            priority=incident.priority,
            incident=incident.key,
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def _open_step_modal(
        self,
        body: dict[str, Any],
        respond: Respond,
        action: str,
        build: Callable[[Incident, RecordRef], dict[str, Any]],
        key: str | None = None,
    ) -> None:
        key = key or self._key_from(body)
        if key is None:
            return

        def load(session: Any) -> Incident:
            incident = incidents.get(session, key=key)
            incidents.check_step(incident, action, actor_of(self.ctx, body))
            return incident

        open_checked_form(
            self.ctx,
            body,
            respond,
            load,
            lambda incident: build(incident, RecordRef(key=incident.key)),
        )

    # ---- modal submissions that act --------------------------------------------------------------

    def _submit_step(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        apply: Callable[[Any, str, Any, Any, dict[str, Any]], Incident],
        error_field: str = Field.NOTE,
    ) -> tuple[Incident, str, dict[str, Any]] | None:
        def with_now(session: Any, key: str, actor: Any, values: dict[str, Any]) -> Incident:
            return apply(session, key, actor, self.ctx.clock.now(), values)

        done = self.submit(ack, body, view, with_now, error_field)
        if done is None:
            return None
        _ref, actor, incident = done
        return incident, actor.user_id, view_values(view)

    def _refresh_after(
        self, step: str, incident: Incident, actor: str, values: dict[str, Any]
    ) -> None:
        """After a form's step: update the message and post the step with the form's note."""
        text = render.step_text(step, incident, actor, values.get(Field.NOTE))
        later(self.ctx, self.refresh, incident.key, step=text)

    def on_resolve_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            return incidents.resolve(
                s,
                key=key,
                code=values.get(Field.CODE) or "",
                note=values.get(Field.NOTE) or "",
                actor=actor,
                now=now,
                policy=self.ctx.policy,
            )

        done = self._submit_step(ack, body, view, apply)
        if done:
            incident, actor, values = done
            self._refresh_after("resolve", incident, actor, values)
            if incident.is_major:
                later(self.ctx, self.after_major_resolved, incident.key)

    def on_hold_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            raw = values.get(Field.HOLD_REASON)
            if raw not in {r.value for r in HoldReason}:
                raise InvalidInput("Choose what the incident is waiting for.")
            supplier, ticket = values.get(Field.SUPPLIER), values.get(Field.TICKET)
            return suppliers.hold_awaiting(
                s,
                key=key,
                reason=HoldReason(raw),
                note=values.get(Field.NOTE),
                supplier=supplier if isinstance(supplier, str) else None,
                ticket_ref=ticket if isinstance(ticket, str) else None,
                policy=self.ctx.policy,
                actor=actor,
                now=now,
            )

        done = self._submit_step(ack, body, view, apply, error_field=Field.HOLD_REASON)
        if done:
            incident, actor, values = done
            step = render.step_text("hold", incident, actor, values.get(Field.NOTE))
            supplier = values.get(Field.SUPPLIER)
            if supplier and isinstance(supplier, str):
                ticket = values.get(Field.TICKET)
                step += "\n" + render.supplier_text(
                    supplier, ticket if isinstance(ticket, str) else None
                )
            later(self.ctx, self.refresh, incident.key, step=step)

    def on_priority_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            raw = values.get(Field.PRIORITY) or ""
            try:
                new_priority = priority.parse(raw)
            except ValueError as error:
                raise InvalidInput(str(error)) from None
            return incident_escalation.set_priority(
                s,
                key=key,
                new_priority=new_priority,
                reason=values.get(Field.NOTE) or "",
                policy=self.ctx.policy,
                actor=actor,
                now=now,
            )

        done = self._submit_step(ack, body, view, apply)
        if done:
            self._refresh_after("priority", *done)

    def on_cancel_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            return incidents.cancel(
                s,
                key=key,
                actor=actor,
                now=now,
                note=values.get(Field.NOTE) or "",
                policy=self.ctx.policy,
            )

        done = self._submit_step(ack, body, view, apply)
        if done:
            self._refresh_after("cancel", *done)

    def on_escalate_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        result: dict[str, Any] = {}

        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            raw = values.get(Field.KIND)
            if raw not in {k.value for k in EscalationKind}:
                raise InvalidInput("Choose functional or hierarchical.")
            escalation = incident_escalation.escalate(
                s,
                key=key,
                kind=EscalationKind(raw),
                to_team=values.get(Field.TEAM),
                note=values.get(Field.NOTE) or "",
                actor=actor,
                now=now,
                policy=self.ctx.policy,
            )
            result["escalation"] = escalation
            return escalation.incident

        done = self._submit_step(ack, body, view, apply)
        if done:
            incident, actor, values = done
            later(
                self.ctx,
                self._after_escalation,
                result["escalation"],
                actor,
                values.get(Field.NOTE) or "",
            )

    def _after_escalation(
        self, escalation: incident_escalation.Escalation, actor: str, note: str
    ) -> None:
        incident = escalation.incident
        text = render.escalation_text(incident, escalation.kind.value, actor, note)
        channel, ts = self.refresh(incident.key, step=text)
        permalink = self._permalink(channel, ts) if channel and ts else None
        paged = None
        team = security.paging_team(incident)
        if escalation.kind is EscalationKind.FUNCTIONAL and team:
            # The new team is paged through its own escalation ladder, which climbs if
            # nobody acknowledges; the page carries the Acknowledge button. (A restricted
            # incident's page climbs the security team's instead.)
            with self.ctx.db.session() as session:
                paged = paging.start(
                    session,
                    record_key=incident.key,
                    team=team,
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
            self.ctx.notifier.send_due()
        if paged is None:
            self._dm(self.ctx.directory.expand(escalation.notify), text, incident, permalink)
        if escalation.channel:
            self.ctx.client.chat_postMessage(
                channel=escalation.channel,
                text=text + (f"\n{link(permalink, 'Open the incident')}" if permalink else ""),
            )

    # ---- rendering helpers ------------------------------------------------------------------------
