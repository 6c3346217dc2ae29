"""Slack listeners for incidents: parse, call services.incidents, render. No rules here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import view_values
from bot.context import AppContext
from bot.metadata import RecordRef
from handlers.common import actor_of, field_errors, later, tell, user_id
from handlers.incidents import render
from handlers.incidents.ids import Action, Field, More, View
from handlers.problems import render as problem_render
from models.cmdb import CIType
from models.incident import EscalationKind, HoldReason, Incident, IncidentInput
from services import audit, cmdb, incident_sla, incidents, links, paging, priority, problems
from services.errors import InvalidInput, NotFound, ServiceDeskError

log = logging.getLogger(__name__)

SUBCOMMANDS = {"list", "show", "help"}


class IncidentHandlers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.command("/incident")(self.on_command)
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.RESOLVE.value)(self.on_resolve_submitted)
        app.view(View.HOLD.value)(self.on_hold_submitted)
        app.view(View.ESCALATE.value)(self.on_escalate_submitted)
        app.view(View.PRIORITY.value)(self.on_priority_submitted)
        app.view(View.CANCEL.value)(self.on_cancel_submitted)
        app.action(Action.ACKNOWLEDGE.value)(self.on_acknowledge)
        app.action(paging.ACK_ACTION_ID)(self.on_page_acknowledge)
        app.action(Action.ESCALATION_ACK.value)(self.on_escalation_acknowledge)
        app.action(Action.ASSIGN.value)(self.on_assign)
        app.action(Action.RESUME.value)(self.on_resume)
        app.action(Action.REOPEN.value)(self.on_reopen)
        app.action(Action.CLOSE.value)(self.on_close)
        app.action(Action.RESOLVE.value)(self.on_open_resolve)
        app.action(Action.HOLD.value)(self.on_open_hold)
        app.action(Action.ESCALATE.value)(self.on_open_escalate)
        app.action(Action.MORE.value)(self.on_more)
        app.action("incident_log_titled")(self.on_log_titled)

    # ---- the slash command ------------------------------------------------------------------

    def on_command(
        self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        later(self.ctx, self._command, body, client, respond)

    def _command(self, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = (body.get("text") or "").strip()
        words = text.split()
        head = words[0].lower() if words else ""
        if not words:
            self._open_new(client, body, title="")
        elif head == "help":
            respond(text=render.USAGE, response_type="ephemeral")
        elif head == "list":
            self._list(body, words[1:], respond)
        elif head == "show":
            self._show(words[1:], respond)
        elif len(words) == 1:
            respond(
                text=f"`{text}` is not an incident sub-command.\n\n{render.USAGE}",
                blocks=render.unknown_blocks(text),
                response_type="ephemeral",
            )
        else:
            self._open_new(client, body, title=text)

    def _open_new(self, client: WebClient, body: dict[str, Any], *, title: str) -> None:
        view = render.new_incident_modal(
            self.ctx.policy, title=title, channel=body.get("channel_id")
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def on_log_titled(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        title = body["actions"][0].get("value", "")
        later(self.ctx, self._open_new, client, body, title=title)

    def _list(self, body: dict[str, Any], filters: list[str], respond: Respond) -> None:
        assignee = priority_is = service = None
        described = []
        for word in filters:
            lowered = word.lower()
            if lowered == "mine":
                assignee = user_id(body)
                described.append("assigned to you")
            elif lowered.removeprefix("p").isdigit():
                try:
                    priority_is = priority.parse(word)
                except ValueError as error:
                    tell(respond, str(error))
                    return
                described.append(f"P{priority_is}")
            else:
                found = self.ctx.policy.service(word)
                if found is None:
                    names = ", ".join(s.name for s in self.ctx.policy.services) or "none configured"
                    tell(
                        respond,
                        f"`{word}` is not a filter or a service. Services: {names}.\n"
                        f"Use `/incident list [mine] [P1…P5] [service]`.",
                    )
                    return
                service = found.name
                described.append(service)
        with self.ctx.db.session() as session:
            found_incidents = incidents.list_open(
                session, assignee=assignee, priority_is=priority_is, service=service
            )
        heading = "Open incidents" + (f" ({', '.join(described)})" if described else "")
        respond(
            text=heading,
            blocks=render.list_blocks(found_incidents, heading),
            response_type="ephemeral",
        )

    def _show(self, args: list[str], respond: Respond) -> None:
        if not args:
            tell(respond, "Which incident? For example `/incident show INC-7`.")
            return
        try:
            with self.ctx.db.session() as session:
                incident = incidents.get(session, key=args[0])
                sla = incident_sla.evaluate(
                    session, incident=incident, policy=self.ctx.policy, now=self.ctx.clock.now()
                )
                trail = audit.trail(session, key=incident.key)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        respond(
            text=render.fallback_text(incident),
            blocks=render.show_blocks(incident, sla, trail),
            response_type="ephemeral",
        )

    # ---- logging an incident ---------------------------------------------------------------

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        try:
            with self.ctx.db.session() as session:
                service, item_key = self._service_or_item(session, values.get(Field.SERVICE))
        except ServiceDeskError as error:
            ack(response_action="errors", errors={Field.SERVICE: str(error)})
            return
        try:
            data = IncidentInput(
                title=values.get(Field.TITLE) or "",
                description=values.get(Field.DESCRIPTION) or "",
                impact=values.get(Field.IMPACT),
                urgency=values.get(Field.URGENCY),
                service=service,
                category=values.get(Field.CATEGORY),
            )
        except ValidationError as error:
            ack(response_action="errors", errors=field_errors(error, fallback=Field.TITLE))
            return
        try:
            # The record is written before the ack: once Slack closes the modal, nothing is lost.
            with self.ctx.db.session() as session:
                incident, created = incidents.create(
                    session,
                    data=data,
                    reporter=user_id(body),
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                    submission_id=view["id"],
                )
                key = incident.key
                if created and item_key:
                    links.link(
                        session,
                        a=key,
                        b=item_key,
                        kind=cmdb.ITEM_LINK,
                        actor=incident.reporter,
                        now=incident.created_at,
                    )
        except InvalidInput as error:
            ack(response_action="errors", errors={Field.TITLE: str(error)})
            return
        ack()
        if created:
            later(self.ctx, self.announce, key)

    def _service_or_item(self, session: Any, chosen: str | None) -> tuple[str | None, str | None]:
        """The type-ahead's choice (an item key or a name) → (the incident's service, the item to
        link). A service item is the service itself; any other item is linked and the incident
        goes to the first service it affects that the policy knows."""
        if not chosen:
            return None, None
        known = self.ctx.policy.service(chosen)
        try:
            item = cmdb.resolve(session, ref=chosen)
        except NotFound:
            if known is not None:
                return known.name, None
            raise
        if item.type == CIType.SERVICE.value and self.ctx.policy.service(item.name):
            return self.ctx.policy.service(item.name).name, None  # type: ignore[union-attr]
        affected = [
            s.name
            for s in cmdb.affected_services(session, key=item.key)
            if self.ctx.policy.service(s.name) is not None
        ]
        return (affected[0] if affected else None), item.key

    def _extras(self, session: Any, incident: Incident) -> dict[str, list[str]]:
        """What the message adds beyond the incident itself: the services its items affect and
        a known error's workaround."""
        items = links.linked(session, key=incident.key, kind=cmdb.ITEM_LINK)
        affects: list[str] = []
        for item in items:
            for service in cmdb.affected_services(session, key=item):
                if service.name not in affects:
                    affects.append(service.name)
        known = problems.known_error_for(session, service=incident.service)
        for item in items:
            known = known or problems.known_error_for(session, item=item)
        notes = [problem_render.known_error_note(known)] if known else []
        return {"affects": affects, "notes": notes}

    def announce(self, key: str) -> None:
        """Post the incident's one channel message, page on-call for P1, tell the reporter."""
        client = self.ctx.client
        channel = self.ctx.policy.channels.incidents
        with self.ctx.db.session() as session:
            if not incidents.claim_announcement(session, key=key, channel_id=channel):
                return
            incident = incidents.get(session, key=key)
            sla = self._sla(session, incident)
            extras = self._extras(session, incident)
        try:
            posted = client.chat_postMessage(
                channel=channel,
                text=render.fallback_text(incident),
                blocks=render.message_blocks(incident, sla, **extras),
            )
        except SlackApiError:
            with self.ctx.db.session() as session:
                incidents.release_announcement(session, key=key)
            raise
        with self.ctx.db.session() as session:
            incidents.record_message(
                session, key=key, channel_id=posted["channel"], ts=posted["ts"]
            )
        client.chat_postMessage(
            channel=posted["channel"], thread_ts=posted["ts"], text=render.created_text(incident)
        )
        permalink = self._permalink(posted["channel"], posted["ts"])
        if incident.priority in self.ctx.policy.incidents.page_priorities and incident.team:
            # Paging goes through the outbox, so the ladder's later rungs follow if nobody
            # acknowledges; send now rather than waiting for the next sweep.
            with self.ctx.db.session() as session:
                paging.start(
                    session,
                    record_key=incident.key,
                    team=incident.team,
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
            self.ctx.notifier.send_due()
        client.chat_postMessage(
            channel=incident.reporter,
            text=f"You logged {incident.key}: {incident.title}."
            + (f" <{permalink}|See it in the incidents channel.>" if permalink else ""),
        )
        self._propose_problem(key)

    def _propose_problem(self, key: str) -> None:
        """Repeated incidents on one service or item: offer to raise a problem, once."""
        with self.ctx.db.session() as session:
            finding = problems.detect_trend(
                session, incident_key=key, now=self.ctx.clock.now(), policy=self.ctx.policy
            )
        if finding is None:
            return
        self.ctx.client.chat_postMessage(
            channel=self.ctx.policy.channels.incidents,
            text=problem_render.proposal_text(finding),
            blocks=problem_render.proposal_blocks(finding),
        )

    # ---- buttons that act at once ------------------------------------------------------------

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
            return incidents.acknowledge_page(
                s, key=key, actor=actor, now=now, policy=self.ctx.policy
            )

        later(self.ctx, self._step, body, respond, "acknowledge", apply)

    def on_escalation_acknowledge(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """Acknowledge from an escalation message: recorded once per person and escalation."""
        ack()
        later(self.ctx, self._escalation_acknowledge, body, respond)

    def _escalation_acknowledge(self, body: dict[str, Any], respond: Respond) -> None:
        key = self._key_from(body)
        if key is None:
            return
        actor = actor_of(self.ctx, body)
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.session() as session:
                incident = incidents.acknowledge_escalation(session, key=key, actor=actor, now=now)
                if incident.status == "new":
                    incident = incidents.acknowledge(
                        session, key=key, actor=actor, now=now, policy=self.ctx.policy
                    )
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        self.refresh(key, step=f"<@{actor.user_id}> acknowledged the escalation of {key}.")
        try:
            respond(text=f"You acknowledged the escalation of {key}.", replace_original=True)
        except Exception:
            log.warning("could not update the escalation message")

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
                [incident.assignee],
                f"<@{actor.user_id}> assigned *{incident.key}* to you: "
                f"{incident.title} ({priority.name(incident.priority)}).",
                incident,
                None,
            )
        if body.get("channel", {}).get("id", "").startswith("D") and action == "acknowledge":
            # Acknowledged from a page: replace the DM's button with who acknowledged.
            try:
                respond(
                    text=f"{incident.key} acknowledged by <@{actor.user_id}>.",
                    replace_original=True,
                )
            except Exception:
                log.warning("could not update the page message")

    # ---- buttons that open a modal first --------------------------------------------------------

    def on_open_resolve(
        self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        later(
            self.ctx,
            self._open_step_modal,
            body,
            client,
            respond,
            "resolve",
            lambda incident, ref: render.resolve_modal(incident, self.ctx.policy, ref),
        )

    def on_open_hold(
        self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        later(
            self.ctx,
            self._open_step_modal,
            body,
            client,
            respond,
            "hold",
            lambda incident, ref: render.hold_modal(incident, ref),
        )

    def on_open_escalate(
        self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        later(
            self.ctx,
            self._open_step_modal,
            body,
            client,
            respond,
            "escalate",
            lambda incident, ref: render.escalate_modal(incident, self.ctx.policy, ref),
        )

    def on_more(self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        choice, _, key = body["actions"][0]["selected_option"]["value"].partition("|")
        if choice == More.PRIORITY:
            later(
                self.ctx,
                self._open_step_modal,
                body,
                client,
                respond,
                "reprioritise",
                render.priority_modal,
                key=key,
            )
        elif choice == More.PROBLEM:
            later(self.ctx, self._open_problem, body, client, respond, key)
        elif choice == More.CANCEL:
            later(
                self.ctx,
                self._open_step_modal,
                body,
                client,
                respond,
                "cancel",
                render.cancel_modal,
                key=key,
            )

    def _open_problem(
        self, body: dict[str, Any], client: WebClient, respond: Respond, key: str
    ) -> None:
        try:
            with self.ctx.db.session() as session:
                incident = incidents.get(session, key=key)
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
        client: WebClient,
        respond: Respond,
        action: str,
        build: Callable[[Incident, RecordRef], dict[str, Any]],
        key: str | None = None,
    ) -> None:
        key = key or self._key_from(body)
        if key is None:
            return
        try:
            with self.ctx.db.session() as session:
                incident = incidents.get(session, key=key)
                incidents.LIFECYCLE.check(action, incident.status, key=incident.key)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        ref = RecordRef(key=incident.key)
        client.views_open(trigger_id=body["trigger_id"], view=build(incident, ref))

    # ---- modal submissions that act --------------------------------------------------------------

    def _submit_step(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        action: str,
        apply: Callable[[Any, str, Any, Any, dict[str, Any]], Incident],
        error_field: str = Field.NOTE,
    ) -> tuple[Incident, str, dict[str, Any]] | None:
        ref = RecordRef.load(view.get("private_metadata"))
        if ref is None:
            ack(response_action="errors", errors={error_field: "This form is out of date."})
            return None
        values = view_values(view)
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                incident = apply(session, ref.key, actor, self.ctx.clock.now(), values)
        except ServiceDeskError as error:
            ack(response_action="errors", errors={error_field: str(error)})
            return None
        ack()
        return incident, actor.user_id, values

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

        done = self._submit_step(ack, body, view, "resolve", apply)
        if done:
            incident, actor, values = done
            later(
                self.ctx,
                self.refresh,
                incident.key,
                step=render.step_text("resolve", incident, actor, values.get(Field.NOTE)),
            )

    def on_hold_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            raw = values.get(Field.HOLD_REASON)
            if raw not in {r.value for r in HoldReason}:
                raise InvalidInput("Choose what the incident is waiting for.")
            return incidents.hold(
                s,
                key=key,
                reason=HoldReason(raw),
                note=values.get(Field.NOTE),
                policy=self.ctx.policy,
                actor=actor,
                now=now,
            )

        done = self._submit_step(ack, body, view, "hold", apply, error_field=Field.HOLD_REASON)
        if done:
            incident, actor, values = done
            later(
                self.ctx,
                self.refresh,
                incident.key,
                step=render.step_text("hold", incident, actor, values.get(Field.NOTE)),
            )

    def on_priority_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            raw = values.get(Field.PRIORITY) or ""
            try:
                new_priority = priority.parse(raw)
            except ValueError as error:
                raise InvalidInput(str(error)) from None
            return incidents.set_priority(
                s,
                key=key,
                new_priority=new_priority,
                reason=values.get(Field.NOTE) or "",
                policy=self.ctx.policy,
                actor=actor,
                now=now,
            )

        done = self._submit_step(ack, body, view, "priority", apply)
        if done:
            incident, actor, values = done
            later(
                self.ctx,
                self.refresh,
                incident.key,
                step=render.step_text("priority", incident, actor, values.get(Field.NOTE)),
            )

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

        done = self._submit_step(ack, body, view, "cancel", apply)
        if done:
            incident, actor, values = done
            later(
                self.ctx,
                self.refresh,
                incident.key,
                step=render.step_text("cancel", incident, actor, values.get(Field.NOTE)),
            )

    def on_escalate_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        result: dict[str, Any] = {}

        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Incident:
            raw = values.get(Field.KIND)
            if raw not in {k.value for k in EscalationKind}:
                raise InvalidInput("Choose functional or hierarchical.")
            escalation = incidents.escalate(
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

        done = self._submit_step(ack, body, view, "escalate", apply)
        if done:
            incident, actor, values = done
            later(
                self.ctx,
                self._after_escalation,
                result["escalation"],
                actor,
                values.get(Field.NOTE) or "",
            )

    def _after_escalation(self, escalation: incidents.Escalation, actor: str, note: str) -> None:
        incident = escalation.incident
        text = render.escalation_text(incident, escalation.kind.value, actor, note)
        channel, ts = self.refresh(incident.key, step=text)
        permalink = self._permalink(channel, ts) if channel and ts else None
        paged = None
        if escalation.kind is EscalationKind.FUNCTIONAL and incident.team:
            # The new team is paged through its own escalation ladder, which climbs if
            # nobody acknowledges; the page carries the Acknowledge button.
            with self.ctx.db.session() as session:
                paged = paging.start(
                    session,
                    record_key=incident.key,
                    team=incident.team,
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
            self.ctx.notifier.send_due()
        if paged is None:
            self._dm(self.ctx.directory.expand(escalation.notify), text, incident, permalink)
        if escalation.channel:
            self.ctx.client.chat_postMessage(
                channel=escalation.channel,
                text=text + (f"\n<{permalink}|Open the incident>" if permalink else ""),
            )

    # ---- rendering helpers ------------------------------------------------------------------------

    def _sla(self, session: Any, incident: Incident) -> incident_sla.IncidentSla:
        return incident_sla.evaluate(
            session, incident=incident, policy=self.ctx.policy, now=self.ctx.clock.now()
        )

    def refresh(self, key: str, *, step: str | None = None) -> tuple[str | None, str | None]:
        """Update the incident's channel message in place and post the step in its thread."""
        with self.ctx.db.session() as session:
            incident = incidents.get(session, key=key)
            sla = self._sla(session, incident)
            extras = self._extras(session, incident)
        if not incident.channel_id or not incident.message_ts:
            return None, None
        self.ctx.client.chat_update(
            channel=incident.channel_id,
            ts=incident.message_ts,
            text=render.fallback_text(incident),
            blocks=render.message_blocks(incident, sla, **extras),
        )
        if step:
            self.ctx.client.chat_postMessage(
                channel=incident.channel_id, thread_ts=incident.message_ts, text=step
            )
        return incident.channel_id, incident.message_ts

    def _dm(self, users: list[str], text: str, incident: Incident, permalink: str | None) -> None:
        for user in users:
            try:
                self.ctx.client.chat_postMessage(
                    channel=user,
                    text=text,
                    blocks=render.dm_blocks(text, incident, permalink=permalink),
                )
            except SlackApiError as error:
                log.error("could not message %s: %s", user, error.response.get("error"))

    def _permalink(self, channel: str, ts: str) -> str | None:
        try:
            return self.ctx.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        except SlackApiError:
            return None
