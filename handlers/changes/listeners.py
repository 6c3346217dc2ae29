"""Slack listeners for changes: parse, call services.changes, render. No rules here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import view_values
from bot.context import AppContext
from handlers.changes import render
from handlers.changes.ids import Action, Field, View
from handlers.cmdb.listeners import CmdbHandlers
from handlers.common import (
    actor_of,
    claim_owner,
    later,
    message_lock,
    one_of,
    open_checked_form,
    post_claimed_message,
    rendered,
    tell,
    user_id,
)
from models.carried import RecordRef
from models.change import Change, ChangeInput, ChangeStatus, Decision
from services import audit, change_reminders, changes, cmdb
from services.errors import InvalidInput, ServiceDeskError
from services.mrkdwn import user_text

log = logging.getLogger(__name__)

# Which service error goes next to which form field when the service names none.
DEFAULT_FIELD = Field.TITLE
CALENDAR_DAYS = 14


def _when(raw: Any) -> datetime | None:
    """A datetimepicker's unix seconds as an aware UTC datetime."""
    if raw in (None, ""):
        return None
    return datetime.fromtimestamp(int(raw), UTC)


def _targets(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return [part.strip() for part in str(raw or "").split(",") if part.strip()]


class ChangeHandlers:
    kind = changes.KIND

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.command("/change")(self.on_command)
        # The affected services and items are a type-ahead over the CMDB.
        app.options(Field.TARGETS.value)(CmdbHandlers(self.ctx).on_suggest)
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.REVIEW.value)(self.on_review_submitted)
        app.view(View.CANCEL.value)(self.on_cancel_submitted)
        app.view(View.REJECT.value)(self.on_reject_submitted)
        # One listener for the buttons that move the record at once; which move is in the
        # action id.
        app.action(
            one_of(Action.ASSESS, Action.SUBMIT, Action.SCHEDULE, Action.START, Action.COMPLETE)
        )(self.on_step)
        app.action(Action.REVIEW.value)(self.on_open_review)
        app.action(Action.CANCEL.value)(self.on_open_cancel)
        app.action(Action.APPROVE.value)(self.on_approve)
        app.action(Action.REJECT.value)(self.on_open_reject)

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
            client.views_open(
                trigger_id=body["trigger_id"], view=render.new_change_modal(self.ctx.policy)
            )
        elif head == "help":
            respond(text=render.USAGE, response_type="ephemeral")
        elif head == "list":
            self._list(body, words[1:], respond)
        elif head == "show":
            self._show(words[1:], respond)
        elif head == "calendar":
            self._calendar(words[1:], respond)
        else:
            tell(
                respond,
                f"`{user_text(' '.join(words))}` is not a change sub-command.\n\n{render.USAGE}",
            )

    def _list(self, body: dict[str, Any], args: list[str], respond: Respond) -> None:
        if args and args[0].lower() != "mine":
            tell(respond, f"`{user_text(args[0])}` is not a filter. Use `/change list [mine]`.")
            return
        mine = user_id(body) if args else None
        with self.ctx.db.session() as session:
            found = changes.list_changes(session, mine=mine)
        heading = "Your changes" if mine else "Recent changes"
        respond(text=heading, blocks=render.list_blocks(found, heading), response_type="ephemeral")

    def _calendar(self, args: list[str], respond: Respond) -> None:
        days = CALENDAR_DAYS
        if args:
            number = args[0]
            # ASCII digits only ("²" is a digit to str.isdigit), and few enough to read cheaply.
            ok = number.isascii() and number.isdigit() and len(number) <= 4
            if not (ok and 1 <= int(number) <= 366):
                tell(respond, "Give the number of days, 1 to 366: `/change calendar 30`.")
                return
            days = int(number)
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            found = changes.calendar(session, start=now, end=now + timedelta(days=days))
        respond(
            text=f"Change calendar, next {days} days",
            blocks=render.calendar_blocks(found, days),
            response_type="ephemeral",
        )

    def _show(self, args: list[str], respond: Respond) -> None:
        if not args:
            tell(respond, "Which change? For example `/change show CHG-3`.")
            return
        try:
            with self.ctx.db.session() as session:
                change = changes.get(session, key=args[0])
                blocks = render.show_blocks(
                    change,
                    changes.targets(session, key=change.key),
                    self._conflicts(session, change),
                    changes.current_tally(session, change=change, policy=self.ctx.policy),
                    changes.approvals(session, key=change.key),
                    audit.trail(session, key=change.key),
                )
                text = render.fallback_text(change)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        respond(text=text, blocks=blocks, response_type="ephemeral")

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
            planned_start=_when(values.get(Field.START)),
            planned_end=_when(values.get(Field.END)),
            implementation_plan=values.get(Field.IMPLEMENTATION) or "",
            backout_plan=values.get(Field.BACKOUT) or "",
            test_plan=values.get(Field.TEST) or "",
            implementer=values.get(Field.IMPLEMENTER),
            standard_template=values.get(Field.TEMPLATE),
        )
        present = {
            block.get("block_id") for block in view.get("blocks", []) if block.get("block_id")
        }
        try:
            # Written before the ack: once Slack closes the modal, nothing is lost.
            with self.ctx.db.session() as session:
                change = changes.create(
                    session,
                    data=data,
                    requester=user_id(body),
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                    submission_id=view["id"],
                )
                key = change.key
        except ServiceDeskError as error:
            field = getattr(error, "field", None)
            if field not in present:
                # A freeze or another rule about the window: show it by the planned start.
                field = Field.START if not isinstance(error, InvalidInput) else DEFAULT_FIELD
            ack(response_action="errors", errors={field: str(error)})
            return
        ack()
        later(self.ctx, self.announce, key)

    def announce(self, key: str) -> None:
        """Post the change's one channel message and flag conflicts in its thread."""
        client = self.ctx.client
        channel = self.ctx.policy.channels.changes
        with self.ctx.db.session() as session:
            claim = changes.claim_announcement(
                session, key=key, channel_id=channel, now=self.ctx.clock.now(), owner=claim_owner()
            )
            if claim is None:
                return
            change = changes.get(session, key=key)
            version = change.message_version
            targets = changes.targets(session, key=key)
            conflicts = self._conflicts(session, change)
        posted = post_claimed_message(
            self.ctx,
            changes,
            key=key,
            channel=channel,
            text=render.fallback_text(change),
            blocks=render.message_blocks(change, targets, conflicts),
            claim=claim,
            version=version,
            refresh=lambda: self.refresh(key),
        )
        client.chat_postMessage(
            channel=posted["channel"], thread_ts=posted["ts"], text=render.created_text(change)
        )
        if conflicts:
            client.chat_postMessage(
                channel=posted["channel"],
                thread_ts=posted["ts"],
                text=render.conflict_text(change, conflicts),
            )

    # ---- buttons that act at once ------------------------------------------------------------

    def on_step(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._step, body, respond)

    def _step(self, body: dict[str, Any], respond: Respond) -> None:
        action = body["actions"][0]["action_id"]
        ref = RecordRef.load(body["actions"][0].get("value"))
        if ref is None:
            tell(respond, "That button is from an old message; use `/change show` instead.")
            return
        actor = actor_of(self.ctx, body)
        now = self.ctx.clock.now()
        policy = self.ctx.policy
        request: changes.ApprovalRequest | None = None
        try:
            with self.ctx.db.session() as session:
                if action == Action.ASSESS:
                    change = changes.assess(session, key=ref.key, actor=actor, now=now)
                elif action == Action.SUBMIT:
                    request = changes.submit_for_approval(
                        session, key=ref.key, actor=actor, now=now, policy=policy
                    )
                    change = request.change
                elif action == Action.SCHEDULE:
                    change = changes.schedule(
                        session, key=ref.key, actor=actor, now=now, policy=policy
                    )
                elif action == Action.START:
                    change = changes.start_implementation(
                        session, key=ref.key, actor=actor, now=now
                    )
                else:
                    change = changes.complete_implementation(
                        session, key=ref.key, actor=actor, now=now
                    )
                key = change.key
                conflicts = self._conflicts(session, change)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        step = action.removeprefix("change_")
        self.refresh(key, step=render.step_text(step, change, actor.user_id))
        if conflicts and action in (Action.SUBMIT, Action.SCHEDULE):
            self._thread(key, render.conflict_text(change, conflicts))
        if request is not None:
            self._ask_for_approval(key, request)

    def _ask_for_approval(self, key: str, request: changes.ApprovalRequest) -> None:
        """Post the approval request in the approvals channel and DM every approver."""
        with self.ctx.db.session() as session:
            change = changes.get(session, key=key)
            targets = changes.targets(session, key=key)
            tally = changes.current_tally(session, change=change, policy=self.ctx.policy)
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
                changes.add_approval_message(
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

    def _decide(self, key: str, user: str, decision: Decision, reason: str | None) -> changes.Tally:
        with self.ctx.db.session() as session:
            return changes.decide(
                session,
                key=key,
                approver=user,
                approver_groups=self._groups_of(user),
                decision=decision,
                reason=reason,
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )

    def on_approve(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._approve, body, respond)

    def _approve(self, body: dict[str, Any], respond: Respond) -> None:
        ref = RecordRef.load(body["actions"][0].get("value"))
        if ref is None:
            return
        user = user_id(body)
        try:
            tally = self._decide(ref.key, user, Decision.APPROVE, None)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        if not tally.counted:
            tell(respond, f"Your decision on {tally.change.key} is already recorded.")
            return
        self._after_decision(tally, user, Decision.APPROVE, None)

    def on_open_reject(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._open_modal, body, respond, "decide", render.reject_modal)

    def on_reject_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = RecordRef.load(view.get("private_metadata"))
        if ref is None:
            ack(response_action="errors", errors={Field.REASON: "This form is out of date."})
            return
        user = user_id(body)
        reason = view_values(view).get(Field.REASON)
        try:
            tally = self._decide(ref.key, user, Decision.REJECT, reason)
        except ServiceDeskError as error:
            ack(response_action="errors", errors={Field.REASON: str(error)})
            return
        if not tally.counted:
            ack(
                response_action="errors",
                errors={Field.REASON: f"Your decision on {ref.key} is already recorded."},
            )
            return
        ack()
        later(self.ctx, self._after_decision, tally, user, Decision.REJECT, reason)

    def _after_decision(
        self, tally: changes.Tally, user: str, decision: Decision, reason: str | None
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

    # ---- buttons that open a modal first --------------------------------------------------------

    def on_open_review(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._open_modal, body, respond, "review", render.review_modal)

    def on_open_cancel(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._open_modal, body, respond, "cancel", render.cancel_modal)

    def _open_modal(
        self,
        body: dict[str, Any],
        respond: Respond,
        action: str,
        build: Callable[[Change, RecordRef], dict[str, Any]],
    ) -> None:
        ref = RecordRef.load(body["actions"][0].get("value"))
        if ref is None:
            return
        user = user_id(body)

        def load(session: Any) -> Change:
            if action == "decide":
                return changes.may_decide(
                    session,
                    key=ref.key,
                    approver=user,
                    approver_groups=self._groups_of(user),
                    policy=self.ctx.policy,
                )
            change = changes.get(session, key=ref.key)
            changes.check_step(change, action, actor_of(self.ctx, body))
            return change

        open_checked_form(
            self.ctx, body, respond, load, lambda change: build(change, RecordRef(key=ref.key))
        )

    def _submit_step(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        apply: Callable[[Any, str, Any, Any, dict[str, Any]], Change],
    ) -> tuple[Change, str, dict[str, Any]] | None:
        ref = RecordRef.load(view.get("private_metadata"))
        if ref is None:
            ack(response_action="errors", errors={Field.NOTE: "This form is out of date."})
            return None
        values = view_values(view)
        actor = actor_of(self.ctx, body)
        present = {block.get("block_id") for block in view.get("blocks", [])}
        try:
            with self.ctx.db.session() as session:
                change = apply(session, ref.key, actor, self.ctx.clock.now(), values)
        except ServiceDeskError as error:
            field = getattr(error, "field", Field.NOTE)
            ack(
                response_action="errors",
                errors={field if field in present else Field.NOTE: str(error)},
            )
            return None
        ack()
        return change, actor.user_id, values

    def on_review_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Change:
            return changes.review(
                s,
                key=key,
                outcome=values.get(Field.OUTCOME) or "",
                note=values.get(Field.NOTE) or "",
                actor=actor,
                now=now,
            )

        done = self._submit_step(ack, body, view, apply)
        if done:
            change, actor, values = done
            later(
                self.ctx,
                self.refresh,
                change.key,
                step=render.step_text("review", change, actor, values.get(Field.NOTE)),
            )

    def on_cancel_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        def apply(s: Any, key: str, actor: Any, now: Any, values: dict[str, Any]) -> Change:
            return changes.cancel(
                s, key=key, actor=actor, now=now, note=values.get(Field.NOTE) or ""
            )

        done = self._submit_step(ack, body, view, apply)
        if done:
            change, actor, values = done
            later(
                self.ctx,
                self.refresh,
                change.key,
                step=render.step_text("cancel", change, actor, values.get(Field.NOTE)),
            )

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
        return changes.conflicts(
            session,
            change=change,
            related_targets=lambda names: cmdb.related_names(session, names=names),
        )

    def refresh(self, key: str, *, step: str | None = None) -> None:
        """Update the change's channel message and its approval requests in place, and post the
        step in the thread."""
        with message_lock(self.ctx, changes.KIND, key):
            with self.ctx.db.session() as session:
                change_reminders.sync_change(
                    session, key=key, policy=self.ctx.policy, now=self.ctx.clock.now()
                )
                change = changes.get(session, key=key)
                version = change.message_version
                targets = changes.targets(session, key=key)
                conflicts = self._conflicts(session, change)
                tally = changes.current_tally(session, change=change, policy=self.ctx.policy)
                places = changes.approval_messages(session, key=key)
            client = self.ctx.client
            for channel, ts in places if tally is not None else ():
                try:
                    client.chat_update(
                        channel=channel,
                        ts=ts,
                        text=f"Approval: {render.fallback_text(change)}",
                        blocks=render.approval_blocks(change, targets, tally),
                    )
                except SlackApiError as error:
                    log.error(
                        "could not update an approval request: %s", error.response.get("error")
                    )
            if not change.channel_id or not change.message_ts:
                return
            client.chat_update(
                channel=change.channel_id,
                ts=change.message_ts,
                text=render.fallback_text(change),
                blocks=render.message_blocks(change, targets, conflicts, tally if places else None),
            )
            rendered(self.ctx, changes.KIND, key=key, version=version)
        if step:
            client.chat_postMessage(
                channel=change.channel_id, thread_ts=change.message_ts, text=step
            )

    def _thread(self, key: str, text: str) -> None:
        with self.ctx.db.session() as session:
            change = changes.get(session, key=key)
        if change.channel_id and change.message_ts:
            self.ctx.client.chat_postMessage(
                channel=change.channel_id, thread_ts=change.message_ts, text=text
            )

    def _dm(self, user: str, text: str) -> None:
        try:
            self.ctx.client.chat_postMessage(channel=user, text=text)
        except SlackApiError as error:
            log.error("could not message %s: %s", user, error.response.get("error"))
