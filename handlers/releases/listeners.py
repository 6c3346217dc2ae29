"""Slack listeners for releases: parse, call services.releases, render. No rules here."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App

from bot.blocks import view_values
from handlers.changes.listeners import ChangeHandlers
from handlers.common import actor_of, later, submitted
from handlers.incidents.listeners import IncidentHandlers
from handlers.kind import Call, Form, KindHandlers, Show, Step, SubCommand, picked_datetime
from handlers.releases import render
from handlers.releases.ids import Action, Field, View
from models.carried import RecordRef
from models.change import ChangeStatus
from models.release import Release
from services import audit, change_reminders, changes, releases
from services.errors import ServiceDeskError
from services.permissions import Actor


class ReleaseHandlers(KindHandlers):
    command = "/release"
    kind = releases.KIND
    table = (
        SubCommand("", "on_new", "plan a release of approved changes (a form opens)"),
        SubCommand("list", "on_list", "recent releases, newest first"),
        Show("one release, its changes, tests and audit trail"),
    )
    steps = {
        Action.BUILD: Step("build"),
        Action.SCHEDULE: Step("schedule", releases.schedule),
        Action.DEPLOY: Step("deploy", releases.deploy),
        Action.ROLL_BACK: Step("roll_back"),
        Action.CLOSE: Step("close"),
        Action.CANCEL: Step("cancel"),
    }
    forms = {
        Action.TEST: Form("test", render.test_modal),
        Action.DEPLOYED: Form("deployed", partial(render.outcome_modal, succeeded=True)),
        Action.FAILED: Form("failed", partial(render.outcome_modal, succeeded=False)),
    }

    def register_more(self, app: App) -> None:
        app.view(View.NEW.value)(self.on_new_submitted)
        app.view(View.TEST.value)(self.on_test_submitted)
        app.view(View.DEPLOYED.value)(self.on_outcome_submitted)
        app.view(View.FAILED.value)(self.on_outcome_submitted)

    @property
    def channel(self) -> str:
        return self.ctx.policy.channels.releases

    def message(
        self, session: Any, record: Release, ref: RecordRef | None
    ) -> tuple[str, list[Any]]:
        bundle, runs, touched = self._parts(session, record.key)
        return render.fallback_text(record), render.message_blocks(record, bundle, runs, touched)

    def show(self, session: Any, record: Release) -> tuple[str, list[Any]]:
        bundle, runs, touched = self._parts(session, record.key)
        trail = audit.trail(session, key=record.key)
        blocks = render.show_blocks(record, bundle, runs, trail, touched)
        return render.fallback_text(record), blocks

    @staticmethod
    def _parts(session: Any, key: str) -> tuple[list[Any], list[Any], list[str]]:
        """What a release's message shows besides the release: its changes, tests, targets."""
        return (
            releases.bundled_changes(session, key=key),
            releases.tests(session, key=key),
            releases.targets(session, key=key),
        )

    def step_text(self, move: str, record: Release, actor: str) -> str:
        return render.step_text(move, record, actor)

    def first_step(self, session: Any, record: Release) -> str:
        return render.planned_text(record, releases.bundled_changes(session, key=record.key))

    def before_refresh(self, session: Any, key: str) -> None:
        change_reminders.sync_release(
            session, key=key, policy=self.ctx.policy, now=self.ctx.clock.now()
        )

    # ---- the slash command ------------------------------------------------------------------

    def on_new(self, call: Call) -> None:
        with self.ctx.db.session() as session:
            candidates = [
                change
                for status in (ChangeStatus.APPROVED, ChangeStatus.SCHEDULED)
                for change in changes.list_changes(session, status=status, limit=50)
            ]
        candidates.sort(key=lambda change: change.id or 0)
        call.open_form(render.new_release_modal(candidates))

    def on_list(self, call: Call) -> None:
        self.answer_register(call, "Releases", releases.list_releases, line=render.list_line)

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

        def create(session: Any, actor: Actor, values: dict[str, Any]) -> Release:
            return releases.create(
                session,
                name=values.get(Field.NAME) or "",
                version=values.get(Field.VERSION) or "",
                change_keys=list(values.get(Field.CHANGES) or []),
                release_manager=values.get(Field.MANAGER) or actor.user_id,
                release_plan=values.get(Field.PLAN) or "",
                backout_plan=values.get(Field.BACKOUT) or "",
                actor=actor,
                now=self.ctx.clock.now(),
                window_start=picked_datetime(values.get(Field.START)),
                window_end=picked_datetime(values.get(Field.END)),
                submission_id=view["id"],
            )

        self.create_form(ack, body, view, create, Field.NAME)

    # ---- forms ----------------------------------------------------------------------------------

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
        def finish(session: Any, ref: RecordRef, actor: Actor, values: dict[str, Any]) -> Any:
            note = values.get(Field.NOTE) or ""
            result = releases.finish_deployment(
                session,
                key=ref.key,
                succeeded=view.get("callback_id") == View.DEPLOYED,
                note=note,
                actor=actor,
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )
            return result, result.incident.key if result.incident else None, note

        done = submitted(self.ctx, ack, body, view, RecordRef, finish, Field.NOTE)
        if done:
            _ref, actor, (result, incident_key, note) = done
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
