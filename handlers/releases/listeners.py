"""Slack listeners for releases: parse, call services.releases, render. No rules here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.blocks import view_values
from bot.context import AppContext
from handlers.changes.listeners import ChangeHandlers
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
from handlers.incidents.listeners import IncidentHandlers
from handlers.releases import render
from handlers.releases.ids import Action, Field, View
from models.carried import RecordRef
from models.change import Change, ChangeStatus
from models.release import Release
from services import audit, change_reminders, changes, releases
from services.errors import ServiceDeskError
from services.mrkdwn import user_text

log = logging.getLogger(__name__)


def _when(raw: Any) -> datetime | None:
    """A datetimepicker's unix seconds as an aware UTC datetime."""
    if raw in (None, ""):
        return None
    return datetime.fromtimestamp(int(raw), UTC)


class ReleaseHandlers:
    kind = releases.KIND

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.command("/release")(self.on_command)
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.TEST.value)(self.on_test_submitted)
        app.view(View.DEPLOYED.value)(self.on_outcome_submitted)
        app.view(View.FAILED.value)(self.on_outcome_submitted)
        # One listener for the buttons that move the record at once; which move is in the
        # action id.
        app.action(
            one_of(
                Action.BUILD,
                Action.SCHEDULE,
                Action.DEPLOY,
                Action.ROLL_BACK,
                Action.CLOSE,
                Action.CANCEL,
            )
        )(self.on_step)
        app.action(Action.TEST.value)(self.on_open_test)
        app.action(Action.DEPLOYED.value)(self.on_open_outcome)
        app.action(Action.FAILED.value)(self.on_open_outcome)

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
            with self.ctx.db.session() as session:
                candidates = [
                    change
                    for status in (ChangeStatus.APPROVED, ChangeStatus.SCHEDULED)
                    for change in changes.list_changes(session, status=status, limit=50)
                ]
            candidates.sort(key=lambda change: change.id or 0)
            client.views_open(
                trigger_id=body["trigger_id"], view=render.new_release_modal(candidates)
            )
        elif head == "help":
            respond(text=render.USAGE, response_type="ephemeral")
        elif head == "list":
            with self.ctx.db.session() as session:
                found = releases.list_releases(session)
            respond(text="Releases", blocks=render.list_blocks(found), response_type="ephemeral")
        elif head == "show":
            self._show(words[1:], respond)
        else:
            tell(
                respond,
                f"`{user_text(' '.join(words))}` is not a release sub-command.\n\n{render.USAGE}",
            )

    def _show(self, args: list[str], respond: Respond) -> None:
        if not args:
            tell(respond, "Which release? For example `/release show REL-2`.")
            return
        try:
            with self.ctx.db.session() as session:
                release = releases.get(session, key=args[0])
                blocks = render.show_blocks(
                    release,
                    releases.bundled_changes(session, key=release.key),
                    releases.tests(session, key=release.key),
                    audit.trail(session, key=release.key),
                    releases.targets(session, key=release.key),
                )
                text = render.fallback_text(release)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        respond(text=text, blocks=blocks, response_type="ephemeral")

    # ---- planning a release -----------------------------------------------------------------

    def on_new_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        present = {block.get("block_id") for block in view.get("blocks", [])}
        if Field.CHANGES not in present or not values.get(Field.CHANGES):
            ack(
                response_action="errors",
                errors={
                    Field.CHANGES
                    if Field.CHANGES in present
                    else Field.NAME: "A release bundles at least one approved or scheduled change; approve a "
                    "change first."
                },
            )
            return
        try:
            with self.ctx.db.session() as session:
                release = releases.create(
                    session,
                    name=values.get(Field.NAME) or "",
                    version=values.get(Field.VERSION) or "",
                    change_keys=list(values.get(Field.CHANGES) or []),
                    release_manager=values.get(Field.MANAGER) or user_id(body),
                    release_plan=values.get(Field.PLAN) or "",
                    backout_plan=values.get(Field.BACKOUT) or "",
                    actor=actor_of(self.ctx, body),
                    now=self.ctx.clock.now(),
                    window_start=_when(values.get(Field.START)),
                    window_end=_when(values.get(Field.END)),
                    submission_id=view["id"],
                )
                key = release.key
        except ServiceDeskError as error:
            field = getattr(error, "field", Field.NAME)
            ack(
                response_action="errors",
                errors={field if field in present else Field.NAME: str(error)},
            )
            return
        ack()
        later(self.ctx, self.announce, key)

    def announce(self, key: str) -> None:
        """Post the release's one channel message."""
        client = self.ctx.client
        channel = self.ctx.policy.channels.releases
        with self.ctx.db.session() as session:
            claim = releases.claim_announcement(
                session, key=key, channel_id=channel, now=self.ctx.clock.now(), owner=claim_owner()
            )
            if claim is None:
                return
            release = releases.get(session, key=key)
            version = release.message_version
            bundle = releases.bundled_changes(session, key=key)
            touched = releases.targets(session, key=key)
        posted = post_claimed_message(
            self.ctx,
            releases,
            key=key,
            channel=channel,
            text=render.fallback_text(release),
            blocks=render.message_blocks(release, bundle, [], touched),
            claim=claim,
            version=version,
            refresh=lambda: self.refresh(key),
        )
        client.chat_postMessage(
            channel=posted["channel"],
            thread_ts=posted["ts"],
            text=f"<@{release.created_by}> planned {release.key}: "
            f"{user_text(release.name)} {user_text(release.version)} with "
            + (", ".join(c.key for c in bundle) or "no changes"),
        )

    # ---- buttons that act at once ------------------------------------------------------------

    def on_step(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._step, body, respond)

    def _step(self, body: dict[str, Any], respond: Respond) -> None:
        action = body["actions"][0]["action_id"]
        ref = RecordRef.load(body["actions"][0].get("value"))
        if ref is None:
            tell(respond, "That button is from an old message; use `/release show` instead.")
            return
        actor = actor_of(self.ctx, body)
        now = self.ctx.clock.now()
        steps: dict[str, Callable[[Any], Release]] = {
            Action.BUILD: lambda s: releases.build(s, key=ref.key, actor=actor, now=now),
            Action.SCHEDULE: lambda s: releases.schedule(s, key=ref.key, actor=actor, now=now),
            Action.DEPLOY: lambda s: releases.deploy(s, key=ref.key, actor=actor, now=now),
            Action.ROLL_BACK: lambda s: releases.roll_back(
                s, key=ref.key, actor=actor, now=now, note=""
            ),
            Action.CLOSE: lambda s: releases.close(s, key=ref.key, actor=actor, now=now),
            Action.CANCEL: lambda s: releases.cancel(s, key=ref.key, actor=actor, now=now),
        }
        try:
            with self.ctx.db.session() as session:
                release = steps[action](session)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        step = action.removeprefix("release_")
        self.refresh(release.key, step=render.step_text(step, release, actor.user_id))

    # ---- buttons that open a modal first --------------------------------------------------------

    def on_open_test(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self._open_modal, body, respond, "test", render.test_modal)

    def on_open_outcome(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        succeeded = body["actions"][0]["action_id"] == Action.DEPLOYED

        def build(release: Release, ref: RecordRef) -> dict[str, Any]:
            return render.outcome_modal(release, ref, succeeded=succeeded)

        later(
            self.ctx,
            self._open_modal,
            body,
            respond,
            "deployed" if succeeded else "failed",
            build,
        )

    def _open_modal(
        self,
        body: dict[str, Any],
        respond: Respond,
        action: str,
        build: Callable[[Release, RecordRef], dict[str, Any]],
    ) -> None:
        ref = RecordRef.load(body["actions"][0].get("value"))
        if ref is None:
            return

        def load(session: Any) -> Release:
            release = releases.get(session, key=ref.key)
            releases.check_step(release, action, actor_of(self.ctx, body))
            return release

        open_checked_form(
            self.ctx, body, respond, load, lambda release: build(release, RecordRef(key=ref.key))
        )

    def on_test_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = RecordRef.load(view.get("private_metadata"))
        values = view_values(view)
        if ref is None or values.get(Field.RESULT) not in ("passed", "failed"):
            ack(response_action="errors", errors={Field.RESULT: "Choose passed or failed."})
            return
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                result = releases.record_test(
                    session,
                    key=ref.key,
                    passed=values[Field.RESULT] == "passed",
                    note=values.get(Field.NOTE) or "",
                    actor=actor,
                    now=self.ctx.clock.now(),
                )
                release = releases.get(session, key=ref.key)
        except ServiceDeskError as error:
            field = Field.NOTE if getattr(error, "field", None) == Field.NOTE else Field.RESULT
            ack(response_action="errors", errors={field: str(error)})
            return
        ack()
        note = f"{'Passed' if result.passed else 'Failed'}: {result.note}"
        later(
            self.ctx,
            self.refresh,
            release.key,
            step=render.step_text("test", release, actor.user_id, note),
        )

    def on_outcome_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = RecordRef.load(view.get("private_metadata"))
        if ref is None:
            ack(response_action="errors", errors={Field.NOTE: "This form is out of date."})
            return
        succeeded = view.get("callback_id") == View.DEPLOYED
        note = view_values(view).get(Field.NOTE) or ""
        actor = actor_of(self.ctx, body)
        try:
            with self.ctx.db.session() as session:
                result = releases.finish_deployment(
                    session,
                    key=ref.key,
                    succeeded=succeeded,
                    note=note,
                    actor=actor,
                    now=self.ctx.clock.now(),
                    policy=self.ctx.policy,
                )
                incident_key = result.incident.key if result.incident else None
        except ServiceDeskError as error:
            ack(response_action="errors", errors={Field.NOTE: str(error)})
            return
        ack()
        later(self.ctx, self._after_deployment, result, actor.user_id, note, incident_key)

    def _after_deployment(
        self, result: releases.DeploymentResult, actor: str, note: str, incident_key: str | None
    ) -> None:
        release = result.release
        step = "deployed" if result.succeeded else "failed"
        channel, ts = self.refresh(release.key, step=render.step_text(step, release, actor, note))
        if result.succeeded:
            change_handlers = ChangeHandlers(self.ctx)
            for key in result.change_keys:
                change_handlers.refresh(
                    key, step=f"<@{actor}> deployed {key} with {release.key}; it awaits review."
                )
            return
        if channel and ts:
            self.ctx.client.chat_postMessage(
                channel=channel,
                thread_ts=ts,
                text=f"Backout plan for {release.key}",
                blocks=render.backout_blocks(release, incident_key),
            )
        if incident_key:
            IncidentHandlers(self.ctx).announce(incident_key)

    # ---- rendering helpers ------------------------------------------------------------------------

    def refresh(self, key: str, *, step: str | None = None) -> tuple[str | None, str | None]:
        """Update the release's channel message in place and post the step in its thread."""
        with message_lock(self.ctx, releases.KIND, key):
            with self.ctx.db.session() as session:
                change_reminders.sync_release(
                    session, key=key, policy=self.ctx.policy, now=self.ctx.clock.now()
                )
                release = releases.get(session, key=key)
                version = release.message_version
                bundle: list[Change] = releases.bundled_changes(session, key=key)
                runs = releases.tests(session, key=key)
                touched = releases.targets(session, key=key)
            if not release.channel_id or not release.message_ts:
                return None, None
            self.ctx.client.chat_update(
                channel=release.channel_id,
                ts=release.message_ts,
                text=render.fallback_text(release),
                blocks=render.message_blocks(release, bundle, runs, touched),
            )
            rendered(self.ctx, releases.KIND, key=key, version=version)
        if step:
            self.ctx.client.chat_postMessage(
                channel=release.channel_id, thread_ts=release.message_ts, text=step
            )
        return release.channel_id, release.message_ts
