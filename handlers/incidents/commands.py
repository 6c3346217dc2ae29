"""`/incident` and the New incident form."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.blocks import view_values
from bot.payloads import clicked
from handlers.common import field_errors, later, tell, user_id
from handlers.incidents import render
from handlers.incidents.ids import Field
from handlers.incidents.messages import IncidentMessages
from models.incident import TITLE_MAX, IncidentInput
from services import audit, incident_intake, incident_sla, incidents, notifications, priority
from services.errors import InvalidInput, ServiceDeskError
from services.mrkdwn import user_text

log = logging.getLogger(__name__)

SUBCOMMANDS = {"list", "show", "help"}


class IncidentCommands(IncidentMessages):
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
                text=f"`{user_text(text)}` is not an incident sub-command.\n\n{render.USAGE}",
                blocks=render.unknown_blocks(text),
                response_type="ephemeral",
            )
        elif len(text) > TITLE_MAX:
            # Slack would refuse to open a form whose title is longer than its field allows.
            tell(
                respond,
                f"A title is at most {TITLE_MAX} characters; that was {len(text):,}. "
                "Use a shorter one, or `/incident` alone and put the rest in the description.",
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
        title = (clicked(body).value or "")[:TITLE_MAX]
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
                        f"`{user_text(word)}` is not a filter or a service. "
                        f"Services: {user_text(names)}.\n"
                        f"Use `/incident list [mine] [P1…P5] [service]`.",
                    )
                    return
                service = found.name
                described.append(service)
        with self.ctx.db.session() as session:
            found_incidents = incidents.list_open(
                session, assignee=assignee, priority_is=priority_is, service=service
            )
        heading = "Open incidents" + (f" ({user_text(', '.join(described))})" if described else "")
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
                sent = notifications.for_record(session, record_key=incident.key)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        respond(
            text=render.fallback_text(incident),
            blocks=render.show_blocks(incident, sla, trail, sent),
            response_type="ephemeral",
        )

    # ---- logging an incident ---------------------------------------------------------------

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        try:
            with self.ctx.db.session() as session:
                service, item_key = incident_intake.service_or_item(
                    session, chosen=values.get(Field.SERVICE), policy=self.ctx.policy
                )
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
                incident, created = incident_intake.log(
                    session,
                    data=data,
                    item=item_key,
                    reporter=user_id(body),
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                    submission_id=view["id"],
                )
                key = incident.key
        except InvalidInput as error:
            ack(response_action="errors", errors={Field.TITLE: str(error)})
            return
        ack()
        if created:
            later(self.ctx, self.announce, key)
