"""Slack listeners for problems: parse, call services.problems, render. No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import view_values
from handlers.common import ack_then, actor_of, later, replace_clicked, run_or_tell, tell
from handlers.kind import (
    Call,
    Form,
    KindHandlers,
    Listing,
    NewForm,
    Show,
    Step,
    SubCommand,
    post_in_record_thread,
)
from handlers.problems import render
from handlers.problems.ids import Action, Field, View
from models.carried import RecordRef
from models.problem import Problem
from services import incidents, problems
from services.errors import FieldError, InvalidInput, ServiceDeskError
from services.permissions import Actor


class ProblemHandlers(KindHandlers):
    command = "/problem"
    kind = problems.KIND
    renderer = render
    table = (
        NewForm(render.new_problem_modal, "raise a problem (a form opens)"),
        Listing("open problems, newest first", problems.list_problems),
        Show("one problem, its linked incidents and its audit trail"),
        SubCommand(
            "known-errors",
            "on_known_errors",
            "known errors and their workarounds",
            args="[search]",
            aliases=("known_errors", "kedb"),
        ),
    )
    first_step_by = "created_by"
    refresh_when_announced = True  # later steps update the message in place
    steps = {
        Action.INVESTIGATE: Step("investigate"),
        Action.CLOSE: Step("close", problems.close),
    }
    forms = {
        Action.KNOWN_ERROR: Form("known_error", render.known_error_modal),
        Action.RESOLVE: Form("resolve", render.resolve_modal),
        Action.LINK: Form("link", render.link_modal),
    }

    def register_more(self, app: App) -> None:
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.KNOWN_ERROR.value)(self.on_known_error_submitted)
        app.view(View.RESOLVE.value)(self.on_resolve_submitted)
        app.view(View.LINK.value)(self.on_link_submitted)
        app.action(Action.RAISE_PROPOSAL.value)(ack_then(self.ctx, self._raise_proposal))

    @property
    def channel(self) -> str:
        return self.ctx.policy.channels.problems or self.ctx.policy.channels.incidents

    def parts(self, session: Any, record: Problem) -> tuple[Any, ...]:
        return (problems.linked_incidents(session, key=record.key),)

    # ---- the slash command ------------------------------------------------------------------

    def on_known_errors(self, call: Call) -> None:
        search = " ".join(call.args) or None
        self.answer_list(
            call,
            "Known errors",
            lambda session: render.known_error_blocks(
                problems.known_errors(session, search=search), search
            ),
        )

    # ---- raising a problem -----------------------------------------------------------------

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = RecordRef.load(view.get("private_metadata"))
        from_incident = ref.key if ref is not None and ref.key != "new" else None
        try:
            raw_priority = int(view_values(view).get(Field.PRIORITY) or 3)
        except ValueError:
            raw_priority = 0

        def create(session: Any, actor: Actor, values: dict[str, Any]) -> Problem:
            # The chosen service or item is read in the same transaction as the problem is
            # stored; a choice that is neither is shown by its own field.
            try:
                service, item = problems.target_of(
                    session, chosen=values.get(Field.TARGET), policy=self.ctx.policy
                )
            except ServiceDeskError as error:
                raise FieldError(Field.TARGET, str(error)) from None
            return problems.raise_problem(
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

        self.create_form(
            ack,
            body,
            view,
            create,
            lambda error: Field.PRIORITY if "Priority" in str(error) else Field.TITLE,
        )

    def announce(self, key: str) -> Any:
        """Post the problem's one channel message and its first step in the thread, and tell
        the incidents it was raised from."""
        posted = super().announce(key)
        if posted is None:
            return None  # a second delivery of the same form: already announced
        with self.ctx.db.session() as session:
            problem = problems.get(session, key=key)
            linked = problems.linked_incidents(session, key=key)
        for incident in linked:
            self._tell_incident(incident, f"<@{problem.created_by}> linked this incident to {key}.")
        return posted

    def _raise_proposal(self, body: dict[str, Any], respond: Respond) -> None:
        raw = body["actions"][0].get("value") or ""
        if not raw.isdigit():
            return
        actor = actor_of(self.ctx, body)

        def raise_problem(session: Any) -> tuple[str, bool]:
            problem, created = problems.raise_from_proposal(
                session, proposal_id=int(raw), actor=actor, now=self.ctx.clock.now()
            )
            return problem.key, created

        raised = run_or_tell(self.ctx, respond, raise_problem)
        if raised is None:
            return
        key, created = raised
        if not created:
            tell(respond, f"{key} was already raised for these incidents.")
            return
        replace_clicked(respond, f"<@{actor.user_id}> raised {key} for these incidents.")
        self.announce(key)

    # ---- modal submissions --------------------------------------------------------------------

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

        done = self.submit(ack, body, view, apply, Field.WORKAROUND)
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

        done = self.submit(ack, body, view, apply, Field.NOTE)
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

        done = self.submit(ack, body, view, apply, Field.INCIDENT)
        if done:
            ref, actor, (changed, incident) = done
            if changed:
                later(self.ctx, self._after_link, ref, actor, incident)

    def _after_link(self, ref: RecordRef, actor: Actor, incident: str) -> None:
        self.refresh(ref.key, step=f"<@{actor.user_id}> linked {incident} to {ref.key}.")
        self._tell_incident(incident, f"<@{actor.user_id}> linked this incident to {ref.key}.")

    def _after(
        self, ref: RecordRef, action: str, problem: Problem, actor: Actor, open_incidents: list[str]
    ) -> None:
        self.refresh(ref.key, step=self.step_text(action, problem, actor.user_id))
        text = render.incident_thread_text(action, problem)
        for incident in open_incidents:
            self._tell_incident(incident, text)

    def _tell_incident(self, key: str, text: str) -> None:
        """Post in the incident's thread (it has one once its message was posted)."""
        post_in_record_thread(self.ctx, incidents.KIND, key, text)
