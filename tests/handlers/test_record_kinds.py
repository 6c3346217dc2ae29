"""The record-kind framework (handlers/kind.py, services.lifecycle, services.records and the
composition root): a kind is declared and the generic code routes, refuses, moves and wires."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

import composition
from handlers.kind import KindHandlers, SubCommand
from handlers.problems import ProblemHandlers
from handlers.slash import usage_text
from models.problem import Problem, ProblemStatus
from services import audit, nonconformities, problems
from services.errors import Forbidden, NotAllowed
from services.lifecycle import Lifecycle, agents
from services.permissions import Actor, Role

ROOT = Path(__file__).resolve().parents[2]
AGENT = Actor("U0AGENT1", frozenset({Role.AGENT}))
STRANGER = Actor("U0STRANGER")


def _answers(fake_slack, since: int) -> list[str]:
    return [call.args["text"] for call in fake_slack.calls("response_url")[since:]]


def test_usage_is_built_from_the_sub_command_table():
    def run(call):  # pragma: no cover - never routed here
        raise AssertionError(call)

    table = [
        SubCommand("", run, "open a form"),
        SubCommand("list", run, "open ones"),
        SubCommand("show", run, "one of them", args="XYZ-1"),
        SubCommand("secret", run, "not shown", listed=False),
    ]
    assert usage_text("/thing", "*Things*", table) == "\n".join(
        [
            "*Things*",
            "`/thing` — open a form",
            "`/thing list` — open ones",
            "`/thing show XYZ-1` — one of them",
            "`/thing help` — this text",
        ]
    )


def test_help_unknown_words_and_aliases_are_routed_by_the_table(slack, fake_slack):
    seen = len(fake_slack.calls("response_url"))
    slack.command("/problem", "help", user_id="U0AGENT1")
    slack.command("/problem", "<!channel>", user_id="U0AGENT1")
    slack.command("/problem", "kedb", user_id="U0AGENT1")
    help_text, unknown, kedb = _answers(fake_slack, seen)
    assert help_text.startswith("*Problems*\n`/problem` — raise a problem (a form opens)")
    assert "`/problem known-errors [search]` — known errors" in help_text
    assert help_text.endswith("`/problem help` — this text")
    assert unknown == f"`&lt;!channel&gt;` is not a problem sub-command.\n\n{help_text}"
    assert kedb == "Known errors"


def test_show_without_a_key_and_with_a_bad_key_answer_in_plain_words(slack, fake_slack):
    seen = len(fake_slack.calls("response_url"))
    slack.command("/problem", "show", user_id="U0AGENT1")
    slack.command("/problem", "show CHG-1", user_id="U0AGENT1")
    assert _answers(fake_slack, seen) == [
        "Which problem? For example `/problem show PRB-4`.",
        "'CHG-1' is not a problem key; they look like PRB-4.",
    ]


def test_a_button_with_a_value_that_is_not_ours_is_answered_not_raised(slack, fake_slack):
    message = {
        "channel": "C0INCIDENTS",
        "ts": "1.0",
        "blocks": [
            {
                "type": "actions",
                "block_id": "x",
                "elements": [
                    {"type": "button", "action_id": a, "value": "not json", "text": {}}
                    for a in ("problem_investigate", "problem_resolve")
                ],
            }
        ],
    }
    seen = len(fake_slack.calls("response_url"))
    for action_id in ("problem_investigate", "problem_resolve"):
        assert slack.click(message, action_id, user_id="U0AGENT1").status == 200
    assert (
        _answers(fake_slack, seen)
        == ["That button is from an old message; use `/problem show` instead."] * 2
    )
    assert fake_slack.calls("views.open") == []


def test_lifecycle_who_table_is_enforced_by_move_and_check_step(database, clock):
    lifecycle = Lifecycle(
        "thing",
        {"start": (["new"], "going"), "stop": (["going"], "stopped")},
        label=str,
        action_label={"start": "started"},
        final=["stopped"],
        who={"stop": agents("stop things")},
    )
    record = Problem(id=7, status="new", created_by="U1")
    # No rule for "start": anyone; the state decides.
    lifecycle.check_step(record, "start", STRANGER)
    with pytest.raises(NotAllowed, match="PRB-7 is new, so it cannot be stop now"):
        lifecycle.check_step(record, "stop", AGENT)
    record.status = "going"
    with pytest.raises(Forbidden, match="^Refused, because only service desk agents can stop"):
        lifecycle.check_step(record, "stop", STRANGER)
    with database.session() as session:
        with pytest.raises(Forbidden, match="can stop things"):
            lifecycle.move(session, record, "stop", actor=STRANGER, now=clock.now())
        assert record.status == "going"
        # A bare user id is the caller's word that the check was made (older services).
        lifecycle.move(session, record, "stop", actor="U1", now=clock.now())
        assert record.status == "stopped"


def test_record_kind_step_locks_moves_and_audits(database, clock):
    with database.session() as session:
        key = problems.raise_problem(session, title="Slow disk", actor=AGENT, now=clock.now()).key
    with database.session() as session:
        with pytest.raises(Forbidden, match="work on problems"):
            problems.KIND.step(
                session, key=key, action="investigate", actor=STRANGER, now=clock.now()
            )
    with database.session() as session:
        moved = problems.KIND.step(
            session, key=key, action="investigate", actor=AGENT, now=clock.now()
        )
        assert moved.status == ProblemStatus.INVESTIGATING
    with database.session() as session:
        with pytest.raises(NotAllowed, match="cannot be investigated now"):
            problems.KIND.step(session, key=key, action="investigate", actor=AGENT, now=clock.now())
        moves = [e for e in audit.trail(session, key=key) if e.field == "status"]
        assert [(e.action, e.from_value, e.to_value, e.actor) for e in moves] == [
            ("investigate", "new", "investigating", "U0AGENT1")
        ]


def test_every_registered_kind_is_announced_and_refreshed_by_the_sweeps(ctx):
    hooks = composition.hooks_for(ctx)
    kinds = [
        h
        for h in composition.HANDLERS
        if issubclass(h, KindHandlers) and hasattr(h.kind.model, "message_ts")
    ]
    assert ProblemHandlers in kinds
    for handlers in kinds:
        prefix = handlers.kind.prefix
        assert hooks.kinds[prefix] is handlers.kind
        assert prefix in hooks.announce_other and prefix in hooks.refresh_other


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
    return names


@pytest.mark.parametrize("layer", ["bot", "services", "models", "schedules"])
def test_layers_below_the_composition_root_do_not_import_handlers(layer):
    importing = [
        str(path.relative_to(ROOT))
        for path in (ROOT / layer).rglob("*.py")
        if {"handlers", "composition"} & _imports(path)
    ]
    assert importing == []


class _PlainHandlers(KindHandlers):
    """A kind whose renderer has no show_blocks: `show` is the default."""

    command = "/plain"
    kind = problems.KIND
    heading = "*Plain*"
    renderer = SimpleNamespace(
        fallback_text=lambda record: f"{record.key} plain",
        message_blocks=lambda record, ref=None: [
            {"type": "section", "text": {"type": "mrkdwn", "text": record.key}},
            {"type": "actions", "elements": []},
        ],
    )


def test_show_without_show_blocks_is_the_message_without_buttons_then_the_trail(ctx, clock):
    with ctx.db.session() as session:
        record = problems.raise_problem(session, title="Slow disk", actor=AGENT, now=clock.now())
        text, blocks = _PlainHandlers(ctx).show(session, record)
    assert text == f"{record.key} plain"
    assert [block["type"] for block in blocks] == ["section", "section", "section"]
    assert blocks[0]["text"]["text"] == record.key
    assert blocks[1]["text"]["text"] == "*Audit trail* (1 entries)"


def test_record_kind_created_and_set_field_write_the_usual_audit_rows(database, clock):
    with database.session() as session:
        record = problems.raise_problem(session, title="Slow disk", actor=AGENT, now=clock.now())
        problems.KIND.set_field(
            session, record, "workaround", "reboot", actor=AGENT, now=clock.now()
        )
        assert record.workaround == "reboot"
        rows = [
            (e.action, e.field, e.from_value, e.to_value)
            for e in audit.trail(session, key=record.key)
        ]
        nc = nonconformities.raise_nc(
            session,
            title="No review",
            description=None,
            owner="U0OWNER1",
            source=None,
            actor=AGENT,
            now=clock.now(),
        )
        nonconformities.KIND.set_field(
            session, nc, "due_on", date(2026, 3, 1), actor=AGENT, now=clock.now(), action="due"
        )
        dated = [(e.action, e.from_value, e.to_value) for e in audit.trail(session, key=nc.key)]
    assert rows == [("created", None, None, "new"), ("field changed", "workaround", None, "reboot")]
    assert dated[0][0] == "created" and dated[0][2] == "open"
    assert dated[1] == ("due", None, "2026-03-01")
