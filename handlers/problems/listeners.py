"""Slack listeners for problems: parse, call services.problems, render. No rules here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import view_values
from bot.context import AppContext
from handlers.common import (
    actor_of,
    claim_owner,
    later,
    message_lock,
    open_checked_form,
    post_claimed_message,
    rendered,
    replace_clicked,
    tell,
)
from handlers.problems import render
from handlers.problems.ids import Action, Field, View
from models.carried import RecordRef
from models.cmdb import CIType
from models.problem import Problem
from services import audit, cmdb, incidents, problems
from services.errors import InvalidInput, NotFound, ServiceDeskError
from services.mrkdwn import user_text
from services.permissions import Actor

log = logging.getLogger(__name__)


class ProblemHandlers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.command("/problem")(self.on_command)
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.KNOWN_ERROR.value)(self.on_known_error_submitted)
        app.view(View.RESOLVE.value)(self.on_resolve_submitted)
        app.view(View.LINK.value)(self.on_link_submitted)
        app.action(Action.INVESTIGATE.value)(self.on_investigate)
        app.action(Action.CLOSE.value)(self.on_close)
        app.action(Action.KNOWN_ERROR.value)(self.on_open_known_error)
        app.action(Action.RESOLVE.value)(self.on_open_resolve)
        app.action(Action.LINK.value)(self.on_open_link)
        app.action(Action.RAISE_PROPOSAL.value)(self.on_raise_proposal)

    @property
    def channel(self) -> str:
        return self.ctx.policy.channels.problems or self.ctx.policy.channels.incidents

    # ---- the slash command ------------------------------------------------------------------

    def on_command(
        self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        later(self.ctx, self._command, body, client, respond)

    def _command(self, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        words = (body.get("text") or "").split()
        head = words[0].lower() if words else ""
        if not words:
            client.views_open(trigger_id=body["trigger_id"], view=render.new_problem_modal())
        elif head == "help":
            respond(text=render.USAGE, response_type="ephemeral")
        elif head == "list":
            with self.ctx.db.session() as session:
                found = problems.list_problems(session)
            respond(
                text="Open problems",
                blocks=render.list_blocks(found, "Open problems"),
                response_type="ephemeral",
            )
        elif head == "show":
            self._show(words[1:], respond)
        elif head in ("known-errors", "known_errors", "kedb"):
            search = " ".join(words[1:]) or None
            with self.ctx.db.session() as session:
                found = problems.known_errors(session, search=search)
            respond(
                text="Known errors",
                blocks=render.known_error_blocks(found, search),
                response_type="ephemeral",
            )
        else:
            respond(
                text=f"`{user_text(words[0])}` is not a problem sub-command.\n\n{render.USAGE}",
                response_type="ephemeral",
            )

    def _show(self, args: list[str], respond: Respond) -> None:
        if not args:
            tell(respond, "Which problem? For example `/problem show PRB-2`.")
            return
        try:
            with self.ctx.db.session() as session:
                problem = problems.get(session, key=args[0])
                linked = problems.linked_incidents(session, key=problem.key)
                trail = audit.trail(session, key=problem.key)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        respond(
            text=render.fallback_text(problem),
            blocks=render.show_blocks(problem, linked, trail),
            response_type="ephemeral",
        )

    # ---- raising a problem -----------------------------------------------------------------

    def _target(self, session: Any, chosen: str | None) -> tuple[str | None, str | None]:
        """(service, item key) from the type-ahead's choice."""
        if not chosen:
            return None, None
        known = self.ctx.policy.service(chosen)
        try:
            item = cmdb.resolve(session, ref=chosen)
        except NotFound:
            if known is not None:
                return known.name, None
            raise
        if item.type == CIType.SERVICE.value:
            return item.name, None
        return None, item.key

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = RecordRef.load(view.get("private_metadata"))
        from_incident = ref.key if ref is not None and ref.key != "new" else None
        values = view_values(view)
        actor = actor_of(self.ctx, body)
        try:
            raw_priority = int(values.get(Field.PRIORITY) or 3)
        except ValueError:
            raw_priority = 0
        try:
            with self.ctx.db.session() as session:
                service, item = self._target(session, values.get(Field.TARGET))
        except ServiceDeskError as error:
            ack(response_action="errors", errors={Field.TARGET: str(error)})
            return
        try:
            with self.ctx.db.session() as session:
                problem = problems.raise_problem(
                    session,
                    title=values.get(Field.TITLE) or "",
                    description=values.get(Field.DESCRIPTION) or "",
                    service=service,
                    item=item,
                    priority=raw_priority,
                    actor=actor,
                    now=self.ctx.clock.now(),
                    from_incident=from_incident,
                    submission_id=view["id"],
                )
                key = problem.key
        except ServiceDeskError as error:
            field = Field.PRIORITY if "Priority" in str(error) else Field.TITLE
            ack(response_action="errors", errors={field: str(error)})
            return
        ack()
        later(self.ctx, self.announce, key, actor.user_id)

    def announce(self, key: str, actor: str | None = None) -> None:
        """Post the problem's one channel message and its first step in the thread."""
        with self.ctx.db.session() as session:
            claim = problems.claim_announcement(
                session,
                key=key,
                channel_id=self.channel,
                now=self.ctx.clock.now(),
                owner=claim_owner(),
            )
            if claim is None:
                return  # a second delivery of the same form: already announced
            problem = problems.get(session, key=key)
            version = problem.message_version
            linked = problems.linked_incidents(session, key=key)
        posted = post_claimed_message(
            self.ctx,
            problems,
            key=key,
            channel=self.channel,
            text=render.fallback_text(problem),
            blocks=render.message_blocks(problem, linked),
            claim=claim,
            version=version,
        )
        actor = actor or problem.created_by
        # The buttons carry where the message lives, so later steps can update it in place.
        self.refresh(key)
        self.ctx.client.chat_postMessage(
            channel=posted["channel"],
            thread_ts=posted["ts"],
            text=render.step_text("created", problem, actor),
        )
        for incident in linked:
            self._tell_incident(incident, f"<@{actor}> linked this incident to {key}.")

    def on_raise_proposal(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._raise_proposal, body, respond)

    def _raise_proposal(self, body: dict[str, Any], respond: Respond) -> None:
        raw = body["actions"][0].get("value") or ""
        if not raw.isdigit():
            return
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                problem, created = problems.raise_from_proposal(
                    session, proposal_id=int(raw), actor=actor, now=self.ctx.clock.now()
                )
                key = problem.key
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        if not created:
            tell(respond, f"{key} was already raised for these incidents.")
            return
        replace_clicked(respond, f"<@{actor.user_id}> raised {key} for these incidents.")
        self.announce(key, actor.user_id)

    # ---- buttons --------------------------------------------------------------------------------

    def _ref(self, body: dict[str, Any]) -> RecordRef | None:
        ref = RecordRef.load(body["actions"][0].get("value"))
        if ref is None:
            return None
        channel = ref.channel or (body.get("channel") or {}).get("id")
        ts = ref.ts or (body.get("message") or {}).get("ts")
        return RecordRef(key=ref.key, channel=channel, ts=ts)

    def on_investigate(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._step, body, respond, "investigate", problems.investigate)

    def on_close(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._step, body, respond, "close", problems.close)

    def _step(
        self,
        body: dict[str, Any],
        respond: Respond,
        action: str,
        apply: Callable[..., Problem],
    ) -> None:
        ref = self._ref(body)
        if ref is None:
            tell(respond, "That button is from an old message; use `/problem show` instead.")
            return
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                problem = apply(session, key=ref.key, actor=actor, now=self.ctx.clock.now())
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        self.refresh(ref, step=render.step_text(action, problem, actor.user_id))

    def on_open_known_error(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(
            self.ctx,
            self._open_modal,
            body,
            respond,
            "known_error",
            render.known_error_modal,
        )

    def on_open_resolve(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._open_modal, body, respond, "resolve", render.resolve_modal)

    def on_open_link(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._open_modal, body, respond, "link", render.link_modal)

    def _open_modal(
        self,
        body: dict[str, Any],
        respond: Respond,
        action: str,
        build: Callable[[Problem, RecordRef], dict[str, Any]],
    ) -> None:
        ref = self._ref(body)
        if ref is None:
            return

        def load(session: Any) -> Problem:
            problem = problems.get(session, key=ref.key)
            problems.check_step(problem, action, actor_of(self.ctx, body))
            return problem

        open_checked_form(self.ctx, body, respond, load, lambda problem: build(problem, ref))

    # ---- modal submissions --------------------------------------------------------------------

    def _submit(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        apply: Callable[[Any, str, Actor, dict[str, Any]], Any],
        error_field: str,
    ) -> tuple[RecordRef, Actor, Any] | None:
        ref = RecordRef.load(view.get("private_metadata"))
        if ref is None:
            ack(response_action="errors", errors={error_field: "This form is out of date."})
            return None
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                result = apply(session, ref.key, actor, view_values(view))
        except ServiceDeskError as error:
            ack(response_action="errors", errors={error_field: str(error)})
            return None
        ack()
        return ref, actor, result

    def on_known_error_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return problems.record_known_error(
                s,
                key=key,
                root_cause=values.get(Field.ROOT_CAUSE) or "",
                workaround=values.get(Field.WORKAROUND) or "",
                actor=actor,
                now=self.ctx.clock.now(),
            )

        done = self._submit(ack, body, view, apply, Field.WORKAROUND)
        if done:
            ref, actor, (problem, open_incidents) = done
            later(self.ctx, self._after, ref, "known_error", problem, actor, open_incidents)

    def on_resolve_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            return problems.resolve(
                s,
                key=key,
                change=(values.get(Field.CHANGE) or "").strip() or None,
                note=values.get(Field.NOTE),
                actor=actor,
                now=self.ctx.clock.now(),
            )

        done = self._submit(ack, body, view, apply, Field.NOTE)
        if done:
            ref, actor, (problem, open_incidents) = done
            later(self.ctx, self._after, ref, "resolve", problem, actor, open_incidents)

    def on_link_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            incident = (values.get(Field.INCIDENT) or "").strip()
            if not incident:
                raise InvalidInput("Which incident? For example INC-12.")
            return problems.link_incident(
                s, key=key, incident=incident, actor=actor, now=self.ctx.clock.now()
            ), incidents.get(s, key=incident).key

        done = self._submit(ack, body, view, apply, Field.INCIDENT)
        if done:
            ref, actor, (changed, incident) = done
            if changed:
                later(self.ctx, self._after_link, ref, actor, incident)

    def _after_link(self, ref: RecordRef, actor: Actor, incident: str) -> None:
        self.refresh(ref, step=f"<@{actor.user_id}> linked {incident} to {ref.key}.")
        self._tell_incident(incident, f"<@{actor.user_id}> linked this incident to {ref.key}.")

    def _after(
        self, ref: RecordRef, action: str, problem: Problem, actor: Actor, open_incidents: list[str]
    ) -> None:
        self.refresh(ref, step=render.step_text(action, problem, actor.user_id))
        text = render.incident_thread_text(action, problem)
        for incident in open_incidents:
            self._tell_incident(incident, text)

    # ---- rendering helpers ----------------------------------------------------------------------

    def _tell_incident(self, key: str, text: str) -> None:
        """Post in the incident's thread (it has one once its message was posted)."""
        with self.ctx.db.session() as session:
            incident = incidents.get(session, key=key)
        if not incident.channel_id or not incident.message_ts:
            return
        try:
            self.ctx.client.chat_postMessage(
                channel=incident.channel_id, thread_ts=incident.message_ts, text=text
            )
        except SlackApiError as error:
            log.error("could not post in %s's thread: %s", key, error.response.get("error"))

    def refresh(self, ref: RecordRef | str, *, step: str | None = None) -> None:
        """Update the problem's channel message in place and post the step in its thread."""
        key = ref if isinstance(ref, str) else ref.key
        with message_lock(self.ctx, problems.KIND, key):
            with self.ctx.db.session() as session:
                problem = problems.get(session, key=key)
                version = problem.message_version
                linked = problems.linked_incidents(session, key=key)
            if not problem.channel_id or not problem.message_ts:
                return  # stale until its message is posted; brought up to date then
            where = RecordRef(key=key, channel=problem.channel_id, ts=problem.message_ts)
            self.ctx.client.chat_update(
                channel=where.channel,
                ts=where.ts,
                text=render.fallback_text(problem),
                blocks=render.message_blocks(problem, linked, ref=where),
            )
            rendered(self.ctx, problems.KIND, key=key, version=version)
        if step:
            self.ctx.client.chat_postMessage(channel=where.channel, thread_ts=where.ts, text=step)
