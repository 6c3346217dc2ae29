"""Everything a person reads about releases in Slack: messages, modals, lists.

Every value a person or a file supplied (names, versions, plans, notes, change titles) goes
through `b.user_text` where it is put into mrkdwn; modal initial values stay as typed."""

from __future__ import annotations

from collections.abc import Sequence

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.kind import Button, record_form, text_block
from handlers.releases.ids import Action, Field, View
from models.audit import AuditEntry
from models.carried import RecordRef
from models.change import Change
from models.release import NAME_MAX, Release, ReleaseStatus, ReleaseTest
from services.releases import LIFECYCLE

# The buttons of a release's message, each shown when the lifecycle allows its move.
BUTTONS = [
    Button(
        "build",
        lambda r: "Build" if r.state is ReleaseStatus.PLANNED else "Rebuild",
        Action.BUILD,
        style="primary",
    ),
    Button("test", "Record test result", Action.TEST),
    Button(
        "schedule",
        "Schedule",
        Action.SCHEDULE,
        when=lambda r: r.state is not ReleaseStatus.SCHEDULED,
    ),
    Button("deploy", "Deploy", Action.DEPLOY, style="primary"),
    Button("deployed", "Deployed", Action.DEPLOYED, style="primary"),
    Button("failed", "Failed", Action.FAILED, style="danger"),
    Button("roll_back", "Rolled back", Action.ROLL_BACK),
    Button("close", "Close", Action.CLOSE),
    Button("cancel", "Cancel release", Action.CANCEL),
]


def _name(release: Release) -> str:
    return b.user_text(f"{release.name} {release.version}")


def title_line(release: Release) -> str:
    return rb.title_line(":package:", release.key, _name(release))


def fallback_text(release: Release) -> str:
    return rb.fallback_text(release.key, _name(release), release.state.label)


def window_text(release: Release) -> str:
    if release.window_start is None or release.window_end is None:
        return "not planned yet"
    return f"{b.slack_time(release.window_start)} → {b.slack_time(release.window_end)}"


def test_text(runs: Sequence[ReleaseTest]) -> str:
    if not runs:
        return "not tested"
    latest = runs[-1]
    outcome = ":white_check_mark: passed" if latest.passed else ":x: failed"
    return f"{outcome} — {b.user_text(latest.note)}"


def message_blocks(
    release: Release,
    bundle: Sequence[Change],
    runs: Sequence[ReleaseTest],
    targets: Sequence[str] = (),
) -> list[b.Block]:
    """The one channel message of a release, with the buttons its state allows."""
    fields = [
        ("Status", release.state.label),
        ("Release manager", b.user(release.release_manager, nobody="—")),
        ("Window", window_text(release)),
        ("Latest test", test_text(runs)),
        ("Changes", ", ".join(f"{c.key} ({c.state.label})" for c in bundle) or "—"),
        ("Services or items", ", ".join(b.user_text(t) for t in targets) or "—"),
    ]
    out = rb.summary_blocks(
        title_line(release),
        fields,
        raised_by=release.created_by,
        raised_at=release.created_at,
        raised="Planned",
    )
    return rb.with_buttons(out, LIFECYCLE, release, BUTTONS)


STEPS = {
    "build": "marked {key} built.",
    "test": "recorded a test result for {key}.",
    "schedule": "scheduled {key}.",
    "deploy": "started deploying {key}.",
    "deployed": "marked {key} deployed; its changes move to review.",
    "failed": "marked the deployment of {key} failed.",
    "roll_back": "rolled {key} back.",
    "close": "closed {key}.",
    "cancel": "cancelled {key}; it will not be deployed.",
}


def step_text(action: str, release: Release, actor: str, note: str | None = None) -> str:
    return rb.step_post(STEPS[action], release.key, actor, note)


def planned_text(release: Release, bundle: Sequence[Change]) -> str:
    """The first line in a new release's thread: who planned it and what it bundles."""
    return f"{b.user(release.created_by)} planned {release.key}: {_name(release)} with " + (
        ", ".join(c.key for c in bundle) or "no changes"
    )


def backout_blocks(release: Release, incident_key: str | None) -> list[b.Block]:
    """Posted in the thread when a deployment fails: the backout plan and Rolled back."""
    text = f":rotating_light: Deployment of {release.key} failed. *Backout plan:*\n" + (
        b.user_text(release.backout_plan) or "—"
    )
    if incident_key:
        text += f"\nIncident {b.user_text(incident_key)} was opened for it."
    out = [b.section(text)]
    out.append(
        b.actions(
            f"release_backout|{release.key}",
            [b.button("Rolled back", Action.ROLL_BACK, RecordRef(key=release.key).dump())],
        )
    )
    return [block for block in out if block]


def list_line(r: Release) -> str:
    return rb.list_line(r.key, _name(r), r.state.label, f"window {window_text(r)}")


def show_blocks(
    release: Release,
    bundle: Sequence[Change],
    runs: Sequence[ReleaseTest],
    trail: Sequence[AuditEntry],
    targets: Sequence[str] = (),
) -> list[b.Block]:
    out = [
        block
        for block in message_blocks(release, bundle, runs, targets)
        if block.get("type") != "actions"
    ]
    for label, text in (
        ("Release plan", release.release_plan),
        ("Backout plan", release.backout_plan),
    ):
        if text:
            out.append(b.section(f"*{label}*\n{b.user_text(text)}"))
    if runs:
        lines = [
            f"`{r.recorded_at:%Y-%m-%d %H:%M}Z` {b.user(r.recorded_by)} "
            f"{'passed' if r.passed else 'failed'} — {b.user_text(r.note)}"
            for r in runs
        ]
        out.append(b.section("*Tests*\n" + "\n".join(lines)[:2900]))
    return out + b.audit_trail(trail, room=50 - len(out))


def new_release_modal(candidates: Sequence[Change]) -> dict:
    fields: list[b.Block] = [
        b.input_block(Field.NAME, "Name", b.text_input(Field.NAME, max_length=NAME_MAX)),
        b.input_block(Field.VERSION, "Version", b.text_input(Field.VERSION, max_length=40)),
    ]
    if candidates:
        fields.append(
            b.input_block(
                Field.CHANGES,
                "Approved changes it bundles",
                {
                    "type": "multi_static_select",
                    "action_id": Field.CHANGES.value,
                    "placeholder": b.plain("Changes"),
                    "options": [b.option(f"{c.key} {c.title}", c.key) for c in candidates[:100]],
                },
            )
        )
    else:
        fields.append(
            b.section(
                "There are no approved or scheduled changes to bundle; a release needs at "
                "least one.",
                block_id="no_changes",
            )
        )
    fields += [
        b.input_block(
            Field.START,
            "Deployment window start",
            {"type": "datetimepicker", "action_id": Field.START.value},
            optional=True,
        ),
        b.input_block(
            Field.END,
            "Deployment window end",
            {"type": "datetimepicker", "action_id": Field.END.value},
            optional=True,
        ),
        rb.text_block(Field.PLAN, "Release plan", max_length=3000, optional=True),
        rb.text_block(Field.BACKOUT, "Backout plan", max_length=3000, optional=True),
        b.input_block(
            Field.MANAGER,
            "Release manager",
            {
                "type": "users_select",
                "action_id": Field.MANAGER.value,
                "placeholder": b.plain("Who runs the release"),
            },
        ),
    ]
    return rb.new_record_form(View.NEW, "Plan a release", fields, submit="Plan release")


def test_modal(release: Release, ref: RecordRef) -> dict:
    result = {
        "type": "radio_buttons",
        "action_id": Field.RESULT.value,
        "options": [b.option("Passed", "passed"), b.option("Failed", "failed")],
    }
    inputs = [
        b.input_block(Field.RESULT, "Result", result),
        text_block(Field.NOTE, "What was tested", max_length=3000, optional=True),
    ]
    title = f"Test {release.key}"
    return record_form(View.TEST, title, title_line(release), inputs, submit="Record", ref=ref)


def outcome_modal(release: Release, ref: RecordRef, *, succeeded: bool) -> dict:
    label = "Note" if succeeded else "What failed"
    inputs = [text_block(Field.NOTE, label, max_length=3000, optional=True)]
    view = View.DEPLOYED if succeeded else View.FAILED
    title = f"{'Deployed' if succeeded else 'Failed'} {release.key}"
    return record_form(view, title, title_line(release), inputs, submit="Record", ref=ref)
