"""`/incident` and the New incident form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from slack_bolt import Ack
from slack_sdk import WebClient

from bot.blocks import ticked, view_values
from bot.payloads import clicked
from handlers.common import actor_of, field_errors, later, tell, user_id
from handlers.incidents import forms, render
from handlers.incidents.ids import Field
from handlers.incidents.messages import IncidentMessages
from handlers.kind import Call, Show, SubCommand
from models.incident import TITLE_MAX, Incident, IncidentInput
from services import (
    audit,
    incident_intake,
    incident_service_change,
    incident_sla,
    incidents,
    notifications,
    priority,
    security,
)
from services.errors import InvalidInput, ServiceDeskError
from services.mrkdwn import user_text
from services.permissions import Actor

T = TypeVar("T")


class IncidentCommands(IncidentMessages):
    # ---- the slash command ------------------------------------------------------------------

    table = (
        SubCommand("", "on_new", "log an incident (a form opens)"),
        SubCommand("<title>", "other", "log one with the title filled in"),
        SubCommand(
            "list", "on_list", "open incidents, newest first", args="[mine] [P1…P5] [service]"
        ),
        Show("one incident, its SLA and its audit trail"),
        SubCommand(
            "service",
            "on_service",
            "move it to another service; the covering agreement's targets follow",
            args="INC-n <service|none> <why>",
        ),
        SubCommand(
            "restrict",
            "on_restrict",
            "make it a security incident (the security team only)",
            args="INC-n <why>",
        ),
        SubCommand(
            "unrestrict",
            "on_restrict",
            "lift the restriction (the security team only)",
            args="INC-n <why>",
        ),
    )

    def on_restrict(self, call: Call) -> None:
        """`/incident restrict|unrestrict INC-n <why>`: the security team moves the incident
        into or out of the restricted state; its messages are redacted or revealed."""
        restrict = call.words[0].lower() == "restrict"
        if len(call.args) < 2:
            tell(call.respond, f"Use `/incident {call.words[0].lower()} INC-12 <why>`.")
            return
        reason = " ".join(call.args[1:])
        moved = self._as_caller(
            call,
            lambda session, actor, now: security.set_restricted(
                session,
                key=call.args[0],
                restricted=restrict,
                reason=reason,
                actor=actor,
                now=now,
                policy=self.ctx.policy,
            ),
        )
        if moved is None:
            return
        text = render.restriction_text(moved.incident.key, call.user, restrict, reason)
        tell(call.respond, text)
        self.move_message(moved, text)

    def _as_caller(self, call: Call, work: Callable[[Any, Actor, datetime], T]) -> T | None:
        """Run a service call as the person who typed the command, in one transaction; a
        refusal or bad value is answered to them (None)."""
        try:
            with self.ctx.db.session() as session:
                return work(session, actor_of(self.ctx, call.body), self.ctx.clock.now())
        except ServiceDeskError as error:
            tell(call.respond, str(error))
            return None

    def check_show(self, record: Incident, actor: Actor) -> None:
        security.require_visible(record, actor)

    def show(self, session: Any, record: Incident) -> tuple[str, list[Any]]:
        sla = incident_sla.evaluate(
            session, incident=record, policy=self.ctx.policy, now=self.ctx.clock.now()
        )
        trail = audit.trail(session, key=record.key)
        sent = notifications.for_record(session, record_key=record.key)
        return render.fallback_text(record), render.show_blocks(record, sla, trail, sent)

    def on_service(self, call: Call) -> None:
        if len(call.args) < 3:
            tell(call.respond, render.SERVICE_USAGE)
            return
        key, service, reason = call.args[0], call.args[1], " ".join(call.args[2:])

        def move(session: Any, actor: Actor, now: datetime) -> tuple[str, str]:
            change = incident_service_change.change_service(
                session,
                key=key,
                service=service,
                reason=reason,
                actor=actor,
                now=now,
                policy=self.ctx.policy,
            )
            text = render.service_changed(
                change.incident, call.user, change.before_service, change.before_agreement
            )
            return change.incident.key, text

        done = self._as_caller(call, move)
        if done is None:
            return
        key, text = done
        tell(call.respond, text)
        later(self.ctx, self.refresh, key, step=text)

    def on_new(self, call: Call) -> None:
        self._open_new(call.client, call.body, title="")

    def other(self, call: Call) -> None:
        """One unknown word is answered with the usage (and a button to log it as a title);
        more words are the title of a new incident."""
        text = (call.body.get("text") or "").strip()
        if len(call.words) == 1:
            call.respond(
                text=f"`{user_text(text)}` is not an incident sub-command.\n\n{self.usage}",
                blocks=render.unknown_blocks(text, self.usage),
                response_type="ephemeral",
            )
        elif len(text) > TITLE_MAX:
            # Slack would refuse to open a form whose title is longer than its field allows.
            tell(
                call.respond,
                f"A title is at most {TITLE_MAX} characters; that was {len(text):,}. "
                "Use a shorter one, or `/incident` alone and put the rest in the description.",
            )
        else:
            self._open_new(call.client, call.body, title=text)

    def _open_new(self, client: WebClient, body: dict[str, Any], *, title: str) -> None:
        view = forms.new_incident_modal(
            self.ctx.policy, title=title, channel=body.get("channel_id")
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def on_log_titled(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        title = (clicked(body).value or "")[:TITLE_MAX]
        later(self.ctx, self._open_new, client, body, title=title)

    def on_list(self, call: Call) -> None:
        body, filters, respond = call.body, call.args, call.respond
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
                        f"`{user_text(word)}` is not a filter or a service. "
                        f"Services: {user_text(names)}.\n"
                        f"Use `/incident list [mine] [P1…P5] [service]`.",
                    )
                    return
                service = found.name
                described.append(service)
        actor = actor_of(self.ctx, body)
        # Only reads: on SQLite it takes no write lock, so no form waits behind it.
        with self.ctx.db.read_session() as session:
            found_incidents = incidents.list_open(
                session, assignee=assignee, priority_is=priority_is, service=service
            )
            seen = security.visible(found_incidents, actor)
            session.expunge_all()  # kept as read: a read session ends in a rollback
        # Restricted incidents this person may not see are listed by key only, and left out
        # of a filtered list altogether (being listed under a service or P1 would say that).
        hidden = {i.key for i, shown in seen if not shown}
        if described:
            found_incidents = [i for i in found_incidents if i.key not in hidden]
        heading = "Open incidents" + (f" ({user_text(', '.join(described))})" if described else "")
        respond(
            text=heading,
            blocks=render.list_blocks(found_incidents, heading, hidden=sorted(hidden)),
            response_type="ephemeral",
        )

    # ---- logging an incident ---------------------------------------------------------------

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            # The record is written before the ack: once Slack closes the modal, nothing is lost.
            # The chosen item is read in the same transaction (a transaction of its own for
            # that read was a third of a submission's round trips on PostgreSQL).
            with self.ctx.db.session() as session:
                refused, key, created = self._log(session, body, view)
        except InvalidInput as error:
            refused, key, created = {Field.TITLE: str(error)}, "", False
        if refused:
            ack(response_action="errors", errors=refused)
            return
        ack()
        if created:
            later(self.ctx, self.announce, key)

    def _log(
        self, session: Any, body: dict[str, Any], view: dict[str, Any]
    ) -> tuple[dict[str, str] | None, str, bool]:
        """(the form's errors, or None; the incident's key; whether this submission logged
        it) for a New incident form. Nothing is written when there are errors."""
        values = view_values(view)
        try:
            service, item_key = incident_intake.service_or_item(
                session, chosen=values.get(Field.SERVICE), policy=self.ctx.policy
            )
        except ServiceDeskError as error:
            return {Field.SERVICE: str(error)}, "", False
        try:
            data = IncidentInput(
                title=values.get(Field.TITLE) or "",
                description=values.get(Field.DESCRIPTION) or "",
                impact=values.get(Field.IMPACT),
                urgency=values.get(Field.URGENCY),
                service=service,
                category=values.get(Field.CATEGORY),
                security="yes" in ticked(values.get(Field.SECURITY)),
            )
        except ValidationError as error:
            return field_errors(error, fallback=Field.TITLE), "", False
        incident, created = incident_intake.log(
            session,
            data=data,
            item=item_key,
            reporter=user_id(body),
            now=self.ctx.clock.now(),
            policy=self.ctx.policy,
            submission_id=view["id"],
        )
        return None, incident.key, created
