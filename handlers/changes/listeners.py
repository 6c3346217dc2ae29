"""Slack listeners for changes: parse, call services.changes, render. No rules here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot.blocks import ticked, view_values
from handlers.changes import render
from handlers.changes.ids import Action, Field, View
from handlers.cmdb.listeners import CmdbHandlers
from handlers.common import ack_then, clicked, later, submitted, tell, user_id
from handlers.kind import Call, Form, KindHandlers, Show, Step, SubCommand, picked_datetime
from handlers.service_changes.listeners import ServiceChangeForms
from models.carried import RecordRef
from models.change import Change, ChangeInput, ChangeStatus, Decision
from services import (
    audit,
    change_approvals,
    change_calendar,
    change_reminders,
    changes,
    cmdb,
    service_changes,
)
from services.errors import AlreadyDone, InvalidInput, ServiceDeskError
from services.mrkdwn import user_text
from services.permissions import Actor

log = logging.getLogger(__name__)

# Which service error goes next to which form field when the service names none.
DEFAULT_FIELD = Field.TITLE
CALENDAR_DAYS = 14


def _targets(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return [part.strip() for part in str(raw or "").split(",") if part.strip()]


class ChangeHandlers(KindHandlers):
    command = "/change"
    kind = changes.KIND
    table = (
        SubCommand("", "on_new", "request a change (a form opens)"),
        SubCommand("list", "on_list", "recent changes, newest first", args="[mine]"),
        Show("one change, its approvals and its audit trail"),
        SubCommand(
            "service", "on_service", "propose a new, changed or removed service (a form opens)"
        ),
        SubCommand(
            "calendar",
            "on_calendar",
            "scheduled changes in the next 14 days (or `days`)",
            args="[days]",
        ),
    )
    forms = {
        Action.REVIEW: Form("review", render.review_modal),
        Action.CANCEL: Form("cancel", render.cancel_modal),
        Action.REJECT: Form("decide", render.reject_modal),
    }

    steps = {
        Action.ASSESS: Step("assess", changes.assess),
        Action.SUBMIT: Step("submit", change_approvals.submit_for_approval, with_policy=True),
        Action.SCHEDULE: Step("schedule", changes.schedule, with_policy=True),
        Action.START: Step("start", changes.start_implementation),
        Action.COMPLETE: Step("complete", changes.complete_implementation),
    }

    def register_more(self, app: App) -> None:
        # The affected services and items are a type-ahead over the CMDB.
        app.options(Field.TARGETS.value)(CmdbHandlers(self.ctx).on_suggest)
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.REVIEW.value)(self.on_review_submitted)
        app.view(View.CANCEL.value)(self.on_cancel_submitted)
        app.view(View.REJECT.value)(self.on_reject_submitted)
        app.action(Action.APPROVE.value)(ack_then(self.ctx, self._approve))
        self.service_forms.register(app)

    @property
    def channel(self) -> str:
        return self.ctx.policy.channels.changes

    @property
    def service_forms(self) -> ServiceChangeForms:
        return ServiceChangeForms(self)

    def message(self, session: Any, record: Change, ref: RecordRef | None) -> tuple[str, list[Any]]:
        targets = changes.targets(session, key=record.key)
        conflicts = self._conflicts(session, record)
        tally = None
        if change_approvals.approval_messages(session, key=record.key):
            tally = change_approvals.current_tally(session, change=record, policy=self.ctx.policy)
        detail = service_changes.of(session, change=record)
        accepted = service_changes.criteria(session, change=record) if detail else []
        blocks = render.message_blocks(record, targets, conflicts, tally, detail, accepted)
        return render.fallback_text(record), blocks

    def also_update(self, session: Any, record: Change) -> list[tuple[str, str, str, list[Any]]]:
        """The approval requests in the approvals channel and DMs follow the change."""
        tally = change_approvals.current_tally(session, change=record, policy=self.ctx.policy)
        if tally is None:
            return []
        targets = changes.targets(session, key=record.key)
        text = f"Approval: {render.fallback_text(record)}"
        blocks = render.approval_blocks(record, targets, tally)
        places = change_approvals.approval_messages(session, key=record.key)
        return [(channel, ts, text, blocks) for channel, ts in places]

    def show(self, session: Any, record: Change) -> tuple[str, list[Any]]:
        blocks = render.show_blocks(
            record,
            changes.targets(session, key=record.key),
            self._conflicts(session, record),
            change_approvals.current_tally(session, change=record, policy=self.ctx.policy),
            changes.approvals(session, key=record.key),
            audit.trail(session, key=record.key),
            service_changes.of(session, change=record),
            service_changes.criteria(session, change=record),
        )
        return render.fallback_text(record), blocks

    def step_text(self, move: str, record: Change, actor: str) -> str:
        return render.step_text(move, record, actor)

    def first_step(self, session: Any, record: Change) -> str:
        return render.created_text(record)

    def before_refresh(self, session: Any, key: str) -> None:
        change_reminders.sync_change(
            session, key=key, policy=self.ctx.policy, now=self.ctx.clock.now()
        )

    def check_step(self, session: Any, record: Change, move: str, actor: Actor) -> None:
        if move != "decide":
            super().check_step(session, record, move, actor)
            return
        change_approvals.may_decide(
            session,
            key=record.key,
            approver=actor.user_id,
            approver_groups=self._groups_of(actor.user_id),
            policy=self.ctx.policy,
        )

    # ---- the slash command ------------------------------------------------------------------

    def on_new(self, call: Call) -> None:
        call.open_form(render.new_change_modal(self.ctx.policy))

    def on_list(self, call: Call) -> None:
        args = call.args
        if args and args[0].lower() != "mine":
            tell(
                call.respond, f"`{user_text(args[0])}` is not a filter. Use `/change list [mine]`."
            )
            return
        mine = call.user if args else None
        self.answer_register(
            call,
            "Your changes" if mine else "Recent changes",
            lambda session: changes.list_changes(session, mine=mine),
            line=render.list_line,
        )

    def on_calendar(self, call: Call) -> None:
        days = CALENDAR_DAYS
        if call.args:
            number = call.args[0]
            # ASCII digits only ("²" is a digit to str.isdigit), and few enough to read cheaply.
            ok = number.isascii() and number.isdigit() and len(number) <= 4
            if not (ok and 1 <= int(number) <= 366):
                tell(call.respond, "Give the number of days, 1 to 366: `/change calendar 30`.")
                return
            days = int(number)
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            found = change_calendar.calendar(session, start=now, end=now + timedelta(days=days))
        call.respond(
            text=f"Change calendar, next {days} days",
            blocks=render.calendar_blocks(found, days),
            response_type="ephemeral",
        )

    def on_service(self, call: Call) -> None:
        self.service_forms.open_new(call)

    # ---- requesting a change ----------------------------------------------------------------

    def _target_names(self, raw: Any) -> list[str]:
        """Chosen items arrive as keys (CI-4); the change records their names. A name that is
        no item is kept as typed."""
        names = []
        with self.ctx.db.session() as session:
            for ref in _targets(raw):
                try:
                    names.append(cmdb.resolve(session, ref=ref).name)
                except ServiceDeskError:
                    names.append(ref)
        return names

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        answers = values.get(Field.RISK_ANSWERS)
        data = ChangeInput(
            title=values.get(Field.TITLE) or "",
            type=values.get(Field.TYPE) or "",  # type: ignore[arg-type]
            description=values.get(Field.DESCRIPTION) or "",
            risk=values.get(Field.RISK),  # type: ignore[arg-type]
            # Unticked questions are answered "no"; they count only when no risk was chosen.
            risk_answers=None if values.get(Field.RISK) else {a: True for a in answers or []},
            targets=self._target_names(values.get(Field.TARGETS)),
            planned_start=picked_datetime(values.get(Field.START)),
            planned_end=picked_datetime(values.get(Field.END)),
            implementation_plan=values.get(Field.IMPLEMENTATION) or "",
            backout_plan=values.get(Field.BACKOUT) or "",
            test_plan=values.get(Field.TEST) or "",
            implementer=values.get(Field.IMPLEMENTER),
            standard_template=values.get(Field.TEMPLATE),
            security="yes" in ticked(values.get(Field.SECURITY)),
        )

        self.store_change(ack, body, view, changes.create, data, DEFAULT_FIELD)

    def store_change(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        create: Callable[..., Any],
        data: Any,
        invalid_field: str,
    ) -> None:
        """A New change form (a change, a service change): `create(session, data=,
        requester=, now=, policy=, submission_id=)` stores it before the ack. An invalid value
        naming no field is shown at `invalid_field`; a freeze or another rule about the window
        by the planned start."""

        def store(session: Any) -> Any:
            return create(
                session,
                data=data,
                requester=user_id(body),
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
                submission_id=view["id"],
            )

        def error_field(error: ServiceDeskError) -> str:
            return invalid_field if isinstance(error, InvalidInput) else Field.START

        self.store_new(ack, view, store, error_field)

    def announce(self, key: str) -> Any:
        """Post the change's one channel message and flag conflicts in its thread."""
        posted = super().announce(key)
        if posted is None:
            return None
        with self.ctx.db.session() as session:
            change = changes.get(session, key=key)
            conflicts = self._conflicts(session, change)
        if conflicts:
            self.ctx.client.chat_postMessage(
                channel=posted["channel"],
                thread_ts=posted["ts"],
                text=render.conflict_text(change, conflicts),
            )
        return posted

    # ---- buttons that act at once ------------------------------------------------------------

    def after_step(self, move: str, record: Any, actor: Actor) -> None:
        """Refresh and post the step; a submitted or scheduled change's conflicts go in its
        thread, and a submitted one asks its approvers."""
        request = record if isinstance(record, change_approvals.ApprovalRequest) else None
        change: Change = request.change if request is not None else record
        super().after_step(move, change, actor)
        if move in ("submit", "schedule"):
            with self.ctx.db.session() as session:
                conflicts = self._conflicts(session, changes.get(session, key=change.key))
            if conflicts:
                self.post_in_thread(change.key, render.conflict_text(change, conflicts))
        if request is not None:
            self._ask_for_approval(change.key, request)

    def _ask_for_approval(self, key: str, request: change_approvals.ApprovalRequest) -> None:
        """Post the approval request in the approvals channel and DM every approver."""
        with self.ctx.db.session() as session:
            change = changes.get(session, key=key)
            targets = changes.targets(session, key=key)
            tally = change_approvals.current_tally(session, change=change, policy=self.ctx.policy)
        if tally is None:
            return
        blocks = render.approval_blocks(change, targets, tally)
        text = f"Approval requested: {render.fallback_text(change)}"
        places = [self.ctx.policy.channels.change_approvals]
        places += [u for u in self.ctx.directory.expand(request.ask) if u != change.requester]
        for place in places:
            try:
                posted = self.ctx.client.chat_postMessage(channel=place, text=text, blocks=blocks)
            except SlackApiError as error:
                log.error("could not ask %s for approval: %s", place, error.response.get("error"))
                continue
            with self.ctx.db.session() as session:
                change_approvals.add_approval_message(
                    session, key=key, channel=posted["channel"], ts=posted["ts"]
                )

    # ---- approvals ---------------------------------------------------------------------------

    def _groups_of(self, user: str) -> set[str]:
        """The configured approver groups (and user ids) the person belongs to."""
        cp = self.ctx.policy.changes
        refs = {
            *cp.approvers.normal,
            *cp.approvers.emergency,
            *cp.cab_chair,
            *cp.emergency_cab,
            *cp.freeze_approvers,
        }
        return {ref for ref in refs if user in self.ctx.directory.members(ref)}

    def _decide(
        self, session: Any, key: str, user: str, decision: Decision, reason: str | None
    ) -> change_approvals.Tally:
        return change_approvals.decide(
            session,
            key=key,
            approver=user,
            approver_groups=self._groups_of(user),
            decision=decision,
            reason=reason,
            now=self.ctx.clock.now(),
            policy=self.ctx.policy,
        )

    def _approve(self, body: dict[str, Any], respond: Respond) -> None:
        def approve(session: Any, ref: RecordRef, actor: Actor) -> Any:
            tally = self._decide(session, ref.key, actor.user_id, Decision.APPROVE, None)
            if not tally.counted:
                raise AlreadyDone(f"Your decision on {tally.change.key} is already recorded.")
            return tally

        done = clicked(self.ctx, body, respond, RecordRef, approve)
        if done:
            _ref, actor, tally = done
            self._after_decision(tally, actor.user_id, Decision.APPROVE, None)

    def on_reject_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def reject(session: Any, ref: RecordRef, actor: Actor, values: dict[str, Any]) -> Any:
            reason = values.get(Field.REASON)
            tally = self._decide(session, ref.key, actor.user_id, Decision.REJECT, reason)
            if not tally.counted:
                raise AlreadyDone(f"Your decision on {ref.key} is already recorded.")
            return tally, reason

        done = submitted(self.ctx, ack, body, view, RecordRef, reject, Field.REASON)
        if done:
            _ref, actor, (tally, reason) = done
            later(self.ctx, self._after_decision, tally, actor.user_id, Decision.REJECT, reason)

    def _after_decision(
        self, tally: change_approvals.Tally, user: str, decision: Decision, reason: str | None
    ) -> None:
        key = tally.change.key
        step = "approve" if decision is Decision.APPROVE else "reject"
        self.refresh(key, step=render.step_text(step, tally.change, user, reason))
        if tally.outcome == "pending":
            return
        verdict = "approved" if tally.outcome == "approved" else "rejected"
        text = f"Your change *{key}* ({user_text(tally.change.title)}) was {verdict}."
        if reason and tally.outcome == "rejected":
            text += f"\n> {user_text(reason)}"
        self._dm(tally.change.requester, text)

    # ---- forms ----------------------------------------------------------------------------------

    def on_review_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            change = changes.review(
                s,
                key=key,
                outcome=values.get(Field.OUTCOME) or "",
                note=values.get(Field.NOTE) or "",
                actor=actor,
                now=self.ctx.clock.now(),
            )
            return change, values.get(Field.NOTE)

        self._after_form("review", self.submit(ack, body, view, apply, Field.NOTE))

    def on_cancel_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Actor, values: dict[str, Any]) -> Any:
            note = values.get(Field.NOTE) or ""
            return changes.cancel(
                s, key=key, actor=actor, now=self.ctx.clock.now(), note=note
            ), note

        self._after_form("cancel", self.submit(ack, body, view, apply, Field.NOTE))

    def _after_form(self, move: str, done: tuple[RecordRef, Actor, Any] | None) -> None:
        if done:
            _ref, actor, (change, note) = done
            step = render.step_text(move, change, actor.user_id, note)
            later(self.ctx, self.refresh, change.key, step=step)

    # ---- rendering helpers ------------------------------------------------------------------------

    def _conflicts(self, session: Any, change: Change) -> list[Change]:
        if change.state not in (
            ChangeStatus.NEW,
            ChangeStatus.ASSESSMENT,
            ChangeStatus.AWAITING_APPROVAL,
            ChangeStatus.APPROVED,
            ChangeStatus.SCHEDULED,
            ChangeStatus.IMPLEMENTING,
        ):
            return []
        return change_calendar.conflicts(
            session,
            change=change,
            related_targets=lambda names: cmdb.related_names(session, names=names),
        )

    def _dm(self, user: str, text: str) -> None:
        try:
            self.ctx.client.chat_postMessage(channel=user, text=text)
        except SlackApiError as error:
            log.error("could not message %s: %s", user, error.response.get("error"))
