"""Slack listeners for service requests: parse, call services.requests, render. No rules here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.blocks import view_values
from handlers.cmdb.listeners import CmdbHandlers
from handlers.common import (
    OUT_OF_DATE,
    ack_then,
    clicked,
    later,
    replace_clicked,
    submitted,
    tell,
    user_id,
)
from handlers.kind import Call, Form, KindHandlers, Show, SubCommand
from handlers.requests import render
from handlers.requests.ids import Action, Field, View
from models.carried import RecordRef
from models.service_request import ServiceRequest
from services import audit, cmdb, links, notifications, requests, sla_timers
from services.errors import NotAllowed, NotFound, ServiceDeskError
from services.mrkdwn import user_text
from services.permissions import Actor
from services.requests import Notify


class RequestHandlers(KindHandlers):
    command = "/request"
    kind = requests.KIND
    heading = "*Service requests*"
    table = (
        SubCommand("", "on_catalog", "the catalog: choose what you need and fill in its form"),
        SubCommand("<item id>", "other", "open that item's form at once", listed=True),
        SubCommand("list", "on_list", "your open requests (or every open one)", args="[all]"),
        Show(),
    )
    forms = {
        Action.REJECT: Form("decide", render.reject_modal),
        Action.FULFIL: Form("fulfil", render.fulfil_modal),
    }

    def register_more(self, app: App) -> None:
        app.action(Action.CHOOSE.value)(self.on_choose)
        app.view(View.FORM.value)(self.on_form_submitted)
        app.options(render.ABOUT_ITEM)(CmdbHandlers(self.ctx).on_suggest)
        app.action(Action.APPROVE.value)(ack_then(self.ctx, self._approve))
        app.view(View.REJECT.value)(self.on_reject_submitted)
        app.action(Action.START.value)(self.on_start)
        app.view(View.FULFIL.value)(self.on_fulfil_submitted)
        app.action(Action.CLOSE.value)(self.on_close)

    def show(self, session: Any, record: ServiceRequest) -> tuple[str, list[Any]]:
        trail = audit.trail(session, key=record.key)
        sent = notifications.for_record(session, record_key=record.key)
        item = self.ctx.policy.catalog.item(record.item_id)
        sla = sla_timers.request_sla(
            request=record, policy=self.ctx.policy, now=self.ctx.clock.now()
        )
        return render.summary(record), render.show_blocks(record, item, trail, sla, sent)

    def check_step(self, session: Any, record: ServiceRequest, move: str, actor: Actor) -> None:
        """Refuse before a form opens, not after someone has filled it in; the service checks
        again when the form comes back."""
        if move == "decide":
            requests.may_decide(
                session,
                key=record.key,
                approver=actor.user_id,
                members_of=self.ctx.directory.members,
            )
        else:
            requests.check_fulfiller(
                record,
                actor=actor,
                policy=self.ctx.policy,
                members_of=self.ctx.directory.members,
            )
        if not record.is_open:
            raise NotAllowed(f"{record.key} is {record.state.label}; nothing left to do.")

    # ---- the slash command ------------------------------------------------------------------

    def on_catalog(self, call: Call) -> None:
        call.respond(
            text="The request catalog",
            blocks=render.catalog_blocks(self.ctx.policy.catalog.items),
            response_type="ephemeral",
        )

    def on_list(self, call: Call) -> None:
        everyone = bool(call.args) and call.args[0].lower() == "all"
        self.answer_register(
            call,
            "Open requests" if everyone else "Your open requests",
            lambda session: requests.list_requests(
                session, requester=None if everyone else call.user
            ),
            line=render.list_line,
        )

    def other(self, call: Call) -> None:
        """A catalog item's id opens its form; any other word is answered with the usage."""
        item = self.ctx.policy.catalog.item(call.words[0].lower()) if call.words else None
        if item is None:
            call.respond(
                text=f"`{user_text(call.words[0] if call.words else '')}` is not a request "
                f"sub-command or catalog item.\n\n{self.usage}",
                response_type="ephemeral",
            )
            return
        call.open_form(render.form_modal(item))

    def on_choose(
        self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        item = self.ctx.policy.catalog.item(body["actions"][0].get("value") or "")
        if item is None:
            later(self.ctx, tell, respond, "That item is no longer in the catalog.")
            return
        later(
            self.ctx, client.views_open, trigger_id=body["trigger_id"], view=render.form_modal(item)
        )

    # ---- the form ---------------------------------------------------------------------------

    def on_form_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = RecordRef.load(view.get("private_metadata"))
        item = self.ctx.policy.catalog.item(ref.key) if ref else None
        if item is None:
            ack(response_action="errors", errors={"form": OUT_OF_DATE})
            return
        values = view_values(view)
        answers = {f.name: values.get(f.name) for f in item.fields}
        try:
            with self.ctx.db.session() as session:
                notify, created = requests.submit(
                    session,
                    item_id=item.id,
                    answers=answers,
                    requester=user_id(body),
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                    submission_id=view["id"],
                )
                about = values.get(render.ABOUT_ITEM)
                if created and about:
                    chosen = cmdb.resolve(session, ref=about)
                    links.link(
                        session,
                        a=notify.request.key,
                        b=chosen.key,
                        kind=cmdb.ITEM_LINK,
                        actor=user_id(body),
                        now=self.ctx.clock.now(),
                    )
        except NotFound as error:
            ack(response_action="errors", errors={render.ABOUT_ITEM: str(error)})
            return
        except ServiceDeskError as error:
            ack(response_action="errors", errors={self._field_of(item, str(error)): str(error)})
            return
        ack()
        if created:
            later(self.ctx, self.notify, notify, "submitted", None)

    @staticmethod
    def _field_of(item: Any, message: str) -> str:
        """The form field an error is about: the service names it by its label."""
        for form_field in item.fields:
            if message.startswith(form_field.label):
                return form_field.name
        if item.manager_field and "manager" in message:
            return item.manager_field
        return item.fields[0].name if item.fields else "form"

    # ---- telling people -----------------------------------------------------------------------

    def notify(self, notify: Notify, step: str, actor: str | None) -> None:
        """DM the requester, ask the approvers, alert the fulfilment team, as the service says."""
        request = notify.request
        item = self.ctx.policy.catalog.item(request.item_id)
        # Every message goes through the notification outbox: a Slack outage delays it and
        # loses none, and a repeated step cannot send it twice.
        outgoing: list[tuple[str, str, str, list[Any] | None]] = []
        for person in notify.dm:
            outgoing.append(
                (f"{step}:requester", person, render.requester_text(step, request, actor), None)
            )
        approvers = [
            p for p in self.ctx.directory.expand(notify.approvers) if p != request.requester
        ]
        # Slack unreachable (no members read): address the groups; the notifier expands them.
        for person in approvers or list(notify.approvers):
            outgoing.append(
                (
                    "approval",
                    person,
                    f"{request.key} needs your approval",
                    render.approval_blocks(request, item),
                )
            )
        if notify.team:
            refs = requests.fulfilment_team_refs(request, self.ctx.policy)
            people = self.ctx.directory.expand(refs) or refs
            text = f"{request.key} for team {user_text(notify.team)}: {user_text(request.title)}"
            blocks = render.fulfilment_blocks(request, item)
            # With nobody named in the policy, the incidents channel sees it.
            for target in people or [self.ctx.policy.channels.incidents]:
                outgoing.append(("fulfilment", target, text, blocks))
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            for stage, recipient, text, blocks in outgoing:
                notifications.schedule(
                    session,
                    record_key=request.key,
                    kind="request",
                    stage=stage,
                    recipient=recipient,
                    due_at=now,
                    text=text,
                    blocks=blocks,
                    now=now,
                )
        self.ctx.notifier.send_due()

    # ---- approval -------------------------------------------------------------------------------

    def _approve(self, body: dict[str, Any], respond: Respond) -> None:
        def approve(session: Any, ref: RecordRef, actor: Actor) -> Notify:
            return requests.decide(
                session,
                key=ref.key,
                approver=actor.user_id,
                members_of=self.ctx.directory.members,
                approve=True,
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )

        done = clicked(self.ctx, body, respond, RecordRef, approve)
        if done is None:
            return
        ref, actor, notify = done
        replace_clicked(respond, f"You approved {ref.key}.", [])
        self.notify(notify, "approved", actor.user_id)

    def on_reject_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def reject(session: Any, ref: RecordRef, actor: Actor, values: dict[str, Any]) -> Notify:
            return requests.decide(
                session,
                key=ref.key,
                approver=actor.user_id,
                members_of=self.ctx.directory.members,
                approve=False,
                reason=values.get(Field.REASON) or "",
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )

        done = submitted(self.ctx, ack, body, view, RecordRef, reject, Field.REASON)
        if done:
            ref, actor, notify = done
            later(self.ctx, self._after_reject, ref, notify, actor.user_id)

    def _after_reject(self, ref: RecordRef, notify: Notify, person: str) -> None:
        self.notify(notify, "rejected", person)
        if ref.channel and ref.ts:
            self.ctx.client.chat_update(
                channel=ref.channel, ts=ref.ts, text=f"You rejected {ref.key}.", blocks=[]
            )

    # ---- fulfilment -----------------------------------------------------------------------------

    def on_start(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()

        def apply(s: Any, key: str, actor: Actor) -> Notify:
            return requests.start_fulfilment(
                s, key=key, actor=actor, now=self.ctx.clock.now(), **self._fulfilment_checks()
            )

        later(self.ctx, self._step, body, respond, "start", apply)

    def on_close(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()

        def apply(s: Any, key: str, actor: Actor) -> Notify:
            return requests.close(
                s, key=key, actor=actor, now=self.ctx.clock.now(), **self._fulfilment_checks()
            )

        later(self.ctx, self._step, body, respond, "close", apply)

    def _step(
        self,
        body: dict[str, Any],
        respond: Respond,
        step: str,
        apply: Callable[[Any, str, Actor], Notify],
    ) -> None:
        done = clicked(
            self.ctx, body, respond, RecordRef, lambda s, ref, actor: apply(s, ref.key, actor)
        )
        if done is None:
            return
        _ref, actor, notify = done
        self.notify(notify, step, actor.user_id)
        self._show_fulfilment(notify.request, respond=respond)

    def _show_fulfilment(
        self,
        request: ServiceRequest,
        *,
        respond: Respond | None = None,
        ref: RecordRef | None = None,
    ) -> None:
        item = self.ctx.policy.catalog.item(request.item_id)
        blocks = render.fulfilment_blocks(request, item)
        text = render.summary(request)
        if respond is not None:
            replace_clicked(respond, text, blocks or [])
        elif ref is not None and ref.channel and ref.ts:
            self.ctx.client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)

    def on_fulfil_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def fulfil(session: Any, ref: RecordRef, actor: Actor, values: dict[str, Any]) -> Notify:
            return requests.fulfil(
                session,
                key=ref.key,
                note=values.get(Field.NOTE) or "",
                actor=actor,
                now=self.ctx.clock.now(),
                **self._fulfilment_checks(),
            )

        done = submitted(self.ctx, ack, body, view, RecordRef, fulfil, Field.NOTE)
        if done:
            ref, actor, notify = done
            later(self.ctx, self._after_fulfil, ref, notify, actor.user_id)

    def _after_fulfil(self, ref: RecordRef, notify: Notify, person: str) -> None:
        self.notify(notify, "fulfil", person)
        self._show_fulfilment(notify.request, ref=ref)

    # ---- helpers --------------------------------------------------------------------------------

    def _fulfilment_checks(self) -> dict[str, Any]:
        """What the service needs to check the fulfiller itself."""
        return {"policy": self.ctx.policy, "members_of": self.ctx.directory.members}
