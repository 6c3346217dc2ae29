"""Who may do what, for every button and every form the bot registers, through the real Bolt
App: a stranger's click or FORGED form submission is refused by the service (and answered
"Refused, because …"), and the person who should be allowed is. Each row is tried both ways,
so the matrix fails if a check is missing and if a check refuses the wrong person.

The ids come from the listeners the handlers register (a recording stand-in for the App), so a
new button or form without a row here fails `test_every_registered_id_has_a_row`.

Records are put in the right state through the services; the clicks are forged the way an
attacker would send them (a block with the button and a record reference, signed like Slack),
and a form is opened by the allowed person and submitted by the stranger, who never opened it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.policy import parse_policy
from composition import HANDLERS
from handlers.incidents.ids import More
from models.agreement import ReviewRef
from models.audit import AuditEntry
from models.availability import TestRun, TestRunRef
from models.carried import RecordRef
from models.change import ChangeInput, ChangeType, Risk
from models.incident import HoldReason, IncidentInput
from models.sms import SmsItemKind, SmsReviewRef
from services import (
    change_approvals,
    changes,
    incidents,
    paging,
    problems,
    releases,
    requests,
    service_tests,
)
from services.permissions import Actor, Role
from slackstub import DispatchResult
from tests.conftest import TEST_POLICY
from tests.relationships import matrix_support as relationship

STRANGER = "U0STRANGER"
AGENT = "U0AGENT1"
AGENT2 = "U0AGENT2"
REPORTER = "U0REPORTER"  # not an agent: logs incidents and asks for things
BOSS = "U0BOSS"
APPROVER = "U0APPROVER1"
OWNER = "U0OWNER"
ONCALL = "U0NETONCALL"  # the network team's on-call: a responder, not an agent

START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
END = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)

MATRIX_POLICY = (
    TEST_POLICY.replace(
        "[channels]", '[channels]\nchanges = "C0CHANGES"\nchange_approvals = "C0APPROVALS"'
    ).replace(
        '[[services]]\nname = "vpn"',
        """[[services.tests]]
name = "restore drill"
kind = "continuity"
schedule = "7d"
owner = "S0BACKUP"

[[services]]
name = "vpn\"""",
    )
    + """
[changes]
approvers = { normal = ["S0CAB"], emergency = ["S0CAB"] }

[problems]
trend_incidents = 3
trend_window = "24h"

[[catalog.items]]
id = "laptop"
name = "New laptop"
approval = "S0APPROVERS"
fulfilment_team = "platform"

[[catalog.items.fields]]
name = "model"
label = "Model"
kind = "select"
required = true
options = ["13 inch", "15 inch"]

[[agreements]]
name = "Gold"
customer = "Retail"
services = ["payments"]
owner = "U0OWNER"
review_every = "quarterly"

[[customers]]
name = "Retail"
services = ["payments"]
owner = "U0OWNER"
review_every = "quarterly"
[[sms.documents]]
name = "Change procedure"
owner = "U0OWNER"
version = "1"

[sms.process_owners]
change = "U0OWNER"
"""
)


@pytest.fixture
def policy():  # type: ignore[no-untyped-def]
    return parse_policy(MATRIX_POLICY)


@pytest.fixture
def fake_slack(fake_slack):  # type: ignore[no-untyped-def]
    fake_slack.set_usergroup("S0CAB", [APPROVER, "U0APPROVER2"])
    fake_slack.set_usergroup("S0APPROVERS", [BOSS])
    fake_slack.set_usergroup("S0BACKUP", [OWNER])
    return fake_slack


# ---- discovering what the handlers register -------------------------------------------------


class _Recorder:
    """Stands in for the Bolt App while the handlers register: remembers every action and view
    id (expanding `one_of` patterns)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def _remember(self, matcher: Any) -> Callable[[Any], Any]:
        if isinstance(matcher, re.Pattern):
            inner = matcher.pattern.removeprefix("^(").removesuffix(")$")
            self.ids.update(part.replace("\\", "") for part in inner.split("|"))
        else:
            self.ids.add(str(matcher))
        return lambda listener: listener

    def action(self, matcher: Any) -> Callable[[Any], Any]:
        return self._remember(matcher)

    def view(self, matcher: Any) -> Callable[[Any], Any]:
        return self._remember(matcher)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # commands, options (type-ahead: reads only) and events are not buttons or forms
        return lambda *args, **kwargs: lambda listener: listener


def registered_ids() -> set[str]:
    recorder = _Recorder()
    # Every registered kind, so a new kind's buttons and forms join the matrix by themselves.
    for handlers in HANDLERS:
        handlers(None).register(recorder)  # type: ignore[arg-type]
    ids = set(recorder.ids)
    # The incident overflow menu is one action id with a step per option.
    ids.discard("incident_more")
    ids.update(f"incident_more:{choice.value}" for choice in More)
    return ids


# ---- the world the rows act on --------------------------------------------------------------


@dataclass
class World:
    slack: Any
    fake: Any
    db: Any
    clock: Any
    policy: Any

    @property
    def agent(self) -> Actor:
        return Actor(AGENT, frozenset({Role.AGENT}))

    def now(self) -> datetime:
        return self.clock.now()

    # records in a given state, made through the services

    def incident(self, state: str = "new", service: str = "payments") -> str:
        with self.db.session() as s:
            incident, _ = incidents.create(
                s,
                data=IncidentInput(
                    title="Card payments fail", impact="medium", urgency="medium", service=service
                ),
                reporter=REPORTER,
                now=self.now(),
                policy=self.policy,
            )
            key = incident.key
            kw = {"key": key, "actor": self.agent, "now": self.now(), "policy": self.policy}
            if state in ("in_progress", "on_hold", "resolved"):
                incidents.acknowledge(s, **kw)
            if state == "on_hold":
                incidents.hold(s, reason=HoldReason.CUSTOMER, note="waiting", **kw)
            if state == "resolved":
                incidents.resolve(s, code="fixed", note="restarted", **kw)
        return key

    def paged_incident(self) -> str:
        key = self.incident(service="vpn")
        with self.db.session() as s:
            paging.start(s, record_key=key, team="network", now=self.now(), policy=self.policy)
        return key

    def problem(self, state: str = "new") -> str:
        with self.db.session() as s:
            key = problems.raise_problem(
                s, title="Disk fills", actor=self.agent, now=self.now()
            ).key
            if state in ("investigating", "known_error", "resolved"):
                problems.investigate(s, key=key, actor=self.agent, now=self.now())
            if state in ("known_error", "resolved"):
                problems.record_known_error(
                    s,
                    key=key,
                    root_cause="logs",
                    workaround="rotate",
                    actor=self.agent,
                    now=self.now(),
                )
            if state == "resolved":
                problems.resolve(s, key=key, actor=self.agent, now=self.now(), note="fixed")
        return key

    def proposal(self) -> str:
        # A day later, so this cluster is new and not the one a previous call proposed.
        self.clock.advance(timedelta(hours=25))
        with self.db.session() as s:
            found = None
            for _ in range(3):
                incident, _ = incidents.create(
                    s,
                    data=IncidentInput(
                        title="Slow", impact="low", urgency="low", service="payments"
                    ),
                    reporter=REPORTER,
                    now=self.now(),
                    policy=self.policy,
                )
                s.flush()
                found = (
                    problems.detect_trend(
                        s, incident_key=incident.key, now=self.now(), policy=self.policy
                    )
                    or found
                )
        assert found is not None and found.proposal_id
        self.clock.advance(timedelta(seconds=1))
        return str(found.proposal_id)

    def request(self, state: str = "awaiting_approval") -> str:
        members = {"S0APPROVERS": frozenset({BOSS})}
        with self.db.session() as s:
            notify, _ = requests.submit(
                s,
                item_id="laptop",
                answers={"model": "13 inch"},
                requester=REPORTER,
                now=self.now(),
                policy=self.policy,
            )
            key = notify.request.key
            if state in ("approved", "in_fulfilment", "fulfilled"):
                requests.decide(
                    s,
                    key=key,
                    approver=BOSS,
                    members_of=lambda ref: members.get(ref, frozenset()),
                    approve=True,
                    now=self.now(),
                )
            checks = {"policy": self.policy, "members_of": lambda ref: frozenset({ref})}
            if state in ("in_fulfilment", "fulfilled"):
                requests.start_fulfilment(s, key=key, actor=self.agent, now=self.now(), **checks)
            if state == "fulfilled":
                requests.fulfil(
                    s, key=key, note="shipped", actor=self.agent, now=self.now(), **checks
                )
        return key

    def change(self, state: str = "new") -> str:
        with self.db.session() as s:
            change = changes.create(
                s,
                data=ChangeInput(
                    title="Upgrade payments",
                    type=ChangeType.NORMAL,
                    risk=Risk.LOW,
                    targets=["payments"],
                    planned_start=START,
                    planned_end=END,
                    backout_plan="Fail back",
                ),
                requester=REPORTER,
                now=self.now(),
                policy=self.policy,
            )
            key = change.key
            steps = [
                "assessment",
                "awaiting_approval",
                "approved",
                "scheduled",
                "implementing",
                "review",
            ]
            reached = steps[: steps.index(state) + 1] if state in steps else []
            if "assessment" in reached:
                changes.assess(s, key=key, actor=self.agent, now=self.now())
            if "awaiting_approval" in reached:
                change_approvals.submit_for_approval(
                    s, key=key, actor=self.agent, now=self.now(), policy=self.policy
                )
            if "approved" in reached:
                change_approvals.decide(
                    s,
                    key=key,
                    approver=APPROVER,
                    approver_groups={"S0CAB"},
                    decision="approve",
                    reason=None,
                    now=self.now(),
                    policy=self.policy,
                )
            if "scheduled" in reached:
                changes.schedule(s, key=key, actor=self.agent, now=self.now(), policy=self.policy)
            if "implementing" in reached:
                changes.start_implementation(s, key=key, actor=self.agent, now=self.now())
            if "review" in reached:
                changes.complete_implementation(s, key=key, actor=self.agent, now=self.now())
        return key

    def release(self, state: str = "planned") -> str:
        change = self.change("approved")
        with self.db.session() as s:
            release = releases.create(
                s,
                name="Payments",
                version="2.4.0",
                change_keys=[change],
                release_manager=AGENT2,
                release_plan="Blue/green",
                backout_plan="Switch back",
                actor=self.agent,
                now=self.now(),
                window_start=START,
                window_end=END,
            )
            key = release.key
            steps = ["built", "tested", "scheduled", "deploying", "failed", "rolled_back"]
            reached = steps[: steps.index(state) + 1] if state in steps else []
            if "built" in reached:
                releases.build(s, key=key, actor=self.agent, now=self.now())
            if "tested" in reached:
                releases.record_test(
                    s, key=key, passed=True, note="green", actor=self.agent, now=self.now()
                )
            if "scheduled" in reached:
                releases.schedule(s, key=key, actor=self.agent, now=self.now())
            if "deploying" in reached:
                releases.deploy(s, key=key, actor=self.agent, now=self.now())
            if "failed" in reached:
                releases.finish_deployment(
                    s,
                    key=key,
                    succeeded=False,
                    note="broke",
                    actor=self.agent,
                    now=self.now(),
                    policy=self.policy,
                )
            if "rolled_back" in reached:
                releases.roll_back(s, key=key, actor=self.agent, now=self.now(), note="reverted")
        return key

    def test_run(self) -> int:
        # The first sweep starts the schedule; a week later the test is due.
        for _ in range(2):
            with self.db.session() as s:
                service_tests.availability_sweep(s, now=self.now(), policy=self.policy)
            self.clock.advance(timedelta(days=7))
        with self.db.session() as s:
            run = s.exec(select(TestRun).order_by(col(TestRun.id).desc())).first()
        assert run is not None
        return int(run.id or 0)

    def agreement(self) -> str:
        # Recorded at start-up (prepare_store); its review is what the rows record.
        return "Gold"

    # forged Slack requests

    def press(
        self, user: str, action_id: str, value: str | None = None, **element: Any
    ) -> DispatchResult:
        """A click on a button (or other element) that the bot may never have shown this person."""
        block_id = element.pop("block_id", f"forged|{action_id}")
        chosen = element.pop("chosen", {})
        button = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": "x"},
        }
        if value is not None:
            button["value"] = value
        button.update(element)
        message = {
            "type": "message",
            "ts": "1700000000.000100",
            "text": "",
            "blocks": [{"type": "actions", "block_id": block_id, "elements": [button]}],
        }
        return self.slack.click(
            message, action_id, user_id=user, channel_id="C0INCIDENTS", **chosen
        )

    def opened_view(self) -> dict[str, Any]:
        call = self.fake.calls("views.open")[-1]
        return self.fake.view(call.response["view"]["id"])


def ref(key: str) -> str:
    return RecordRef(key=key).dump()


def review_ref(name: str) -> str:
    return ReviewRef(agreement=name).dump()


def sms_review_ref(name: str) -> str:
    return SmsReviewRef(kind=SmsItemKind.DOCUMENT, name=name).dump()


# ---- the rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """`prepare` makes a fresh record (and, for a form, has `opener` open it) and returns what
    `act` needs; `act(world, prepared, user)` is the click or submission; `allowed` is someone
    who may; `anyone` marks steps open to every person (reporting, asking, the catalog)."""

    prepare: Callable[[World], Any]
    act: Callable[[World, Any, str], DispatchResult]
    allowed: str
    effect: str = "audit"  # "audit": a row by the person; "form": a form opened for them
    anyone: bool = False


def click(action_id: str, value: Callable[[Any], str] = ref, **extra: Any):  # type: ignore[no-untyped-def]
    def act(w: World, prepared: Any, user: str) -> DispatchResult:
        return w.press(user, action_id, value(prepared), **extra)

    return act


def more(choice: str):  # type: ignore[no-untyped-def]
    def act(w: World, key: Any, user: str) -> DispatchResult:
        option = {"text": {"type": "plain_text", "text": choice}, "value": f"{choice}|{key}"}
        return w.press(
            user,
            "incident_more",
            None,
            type="overflow",
            options=[option],
            chosen={"selected_option": option},
        )

    return act


def assign(w: World, key: Any, user: str) -> DispatchResult:
    return w.press(
        user,
        "incident_assign",
        None,
        type="users_select",
        block_id=f"incident_actions|{key}",
        chosen={"selected_user": AGENT2},
    )


def form(record: Callable[[World], Any], opener: str, open_it: Callable[[World, Any, str], Any]):  # type: ignore[no-untyped-def]
    """Prepare a form: make the record, have `opener` open the form, keep the view."""

    def prepare(w: World) -> dict[str, Any]:
        prepared = record(w)
        opened = len(w.fake.calls("views.open"))
        open_it(w, prepared, opener)
        assert len(w.fake.calls("views.open")) == opened + 1, "the allowed person got no form"
        return w.opened_view()

    return prepare


def command(name: str, text: str = ""):  # type: ignore[no-untyped-def]
    def open_it(w: World, _: Any, user: str) -> None:
        w.slack.command(name, text, user_id=user, channel_id="C0WORK")

    return open_it


def submit(answers: dict[str, Any]):  # type: ignore[no-untyped-def]
    def act(w: World, view: dict[str, Any], user: str) -> DispatchResult:
        return w.slack.submit(view, answers, user_id=user)

    return act


def nothing(w: World) -> None:
    return None


INC = World.incident
ROWS: dict[str, Row] = {
    # incidents
    "incident_acknowledge": Row(INC, click("incident_acknowledge"), AGENT),
    "page_acknowledge": Row(
        World.paged_incident,
        click("page_acknowledge", lambda k: f'{{"key": "{k}"}}'),
        ONCALL,
    ),
    "incident_escalation_acknowledge": Row(
        lambda w: w.incident("in_progress"), click("incident_escalation_acknowledge"), ONCALL
    ),
    "incident_assign": Row(INC, assign, AGENT),
    "incident_resume": Row(lambda w: w.incident("on_hold"), click("incident_resume"), AGENT),
    "incident_reopen": Row(lambda w: w.incident("resolved"), click("incident_reopen"), REPORTER),
    "incident_close": Row(lambda w: w.incident("resolved"), click("incident_close"), REPORTER),
    "incident_resolve": Row(
        lambda w: w.incident("in_progress"), click("incident_resolve"), AGENT, "form"
    ),
    "incident_hold": Row(
        lambda w: w.incident("in_progress"), click("incident_hold"), AGENT, "form"
    ),
    "incident_escalate": Row(INC, click("incident_escalate"), AGENT, "form"),
    "incident_more:priority": Row(INC, more("priority"), AGENT, "form"),
    "incident_more:cancel": Row(INC, more("cancel"), REPORTER, "form"),
    "incident_more:problem": Row(INC, more("problem"), AGENT, "form"),
    "incident_log_titled": Row(
        nothing,
        click("incident_log_titled", lambda _: "Printer jam"),
        REPORTER,
        "form",
        anyone=True,
    ),
    "incident_new": Row(
        form(nothing, REPORTER, command("/incident")),
        submit({"title": "Mail is down", "impact": "high", "urgency": "high"}),
        REPORTER,
        anyone=True,
    ),
    "incident_resolve_view": Row(
        form(lambda w: w.incident("in_progress"), AGENT, click("incident_resolve")),
        submit({"resolution_code": "fixed", "note": "Restarted the pod"}),
        AGENT,
    ),
    "incident_hold_view": Row(
        form(lambda w: w.incident("in_progress"), AGENT, click("incident_hold")),
        submit({"hold_reason": "customer", "note": "Waiting for the customer"}),
        AGENT,
    ),
    "incident_escalate_view": Row(
        form(INC, AGENT, click("incident_escalate")),
        submit({"escalation_kind": "hierarchical", "note": "Needs a decision"}),
        AGENT,
    ),
    "incident_priority_view": Row(
        form(INC, AGENT, more("priority")), submit({"priority": "1", "note": "Board demo"}), AGENT
    ),
    "incident_cancel_view": Row(
        form(INC, REPORTER, more("cancel")), submit({"note": "Logged twice"}), REPORTER
    ),
    # problems
    "problem_investigate": Row(World.problem, click("problem_investigate"), AGENT),
    "problem_close": Row(lambda w: w.problem("resolved"), click("problem_close"), AGENT),
    "problem_known_error": Row(
        lambda w: w.problem("investigating"), click("problem_known_error"), AGENT, "form"
    ),
    "problem_resolve": Row(
        lambda w: w.problem("known_error"), click("problem_resolve"), AGENT, "form"
    ),
    "problem_link": Row(World.problem, click("problem_link"), AGENT, "form"),
    "problem_raise_proposal": Row(World.proposal, click("problem_raise_proposal", str), AGENT),
    "problem_new": Row(
        form(nothing, AGENT, command("/problem")),
        submit({"title": "Disk fills up", "priority": "3"}),
        AGENT,
    ),
    "problem_known_error_view": Row(
        form(lambda w: w.problem("investigating"), AGENT, click("problem_known_error")),
        submit({"root_cause": "Log rotation off", "workaround": "Rotate by hand"}),
        AGENT,
    ),
    "problem_resolve_view": Row(
        form(lambda w: w.problem("known_error"), AGENT, click("problem_resolve")),
        submit({"note": "Rotation fixed"}),
        AGENT,
    ),
    "problem_link_view": Row(
        form(lambda w: (w.problem(), w.incident())[0], AGENT, click("problem_link")),
        submit({"incident": "INC-1"}),
        AGENT,
    ),
    # service requests
    "request_choose": Row(
        nothing, click("request_choose", lambda _: "laptop"), REPORTER, "form", anyone=True
    ),
    "request_form": Row(
        form(nothing, REPORTER, command("/request", "laptop")),
        submit({"model": "15 inch"}),
        REPORTER,
        anyone=True,
    ),
    "request_approve": Row(World.request, click("request_approve"), BOSS),
    "request_reject": Row(World.request, click("request_reject"), BOSS, "form"),
    "request_reject_view": Row(
        form(World.request, BOSS, click("request_reject")), submit({"reason": "No budget"}), BOSS
    ),
    "request_start": Row(lambda w: w.request("approved"), click("request_start"), AGENT),
    "request_fulfil": Row(
        lambda w: w.request("in_fulfilment"), click("request_fulfil"), AGENT, "form"
    ),
    "request_fulfil_view": Row(
        form(lambda w: w.request("in_fulfilment"), AGENT, click("request_fulfil")),
        submit({"note": "Shipped to the office"}),
        AGENT,
    ),
    "request_close": Row(lambda w: w.request("fulfilled"), click("request_close"), AGENT),
    # changes
    "change_assess": Row(World.change, click("change_assess"), REPORTER),
    "change_submit": Row(lambda w: w.change("assessment"), click("change_submit"), REPORTER),
    "change_schedule": Row(lambda w: w.change("approved"), click("change_schedule"), AGENT),
    "change_start": Row(lambda w: w.change("scheduled"), click("change_start"), AGENT),
    "change_complete": Row(lambda w: w.change("implementing"), click("change_complete"), AGENT),
    "change_review": Row(lambda w: w.change("review"), click("change_review"), AGENT, "form"),
    "change_cancel": Row(World.change, click("change_cancel"), REPORTER, "form"),
    "change_approve": Row(
        lambda w: w.change("awaiting_approval"), click("change_approve"), APPROVER
    ),
    "change_reject": Row(
        lambda w: w.change("awaiting_approval"), click("change_reject"), APPROVER, "form"
    ),
    "change_new": Row(
        form(nothing, REPORTER, command("/change")),
        submit(
            {
                "title": "Rotate keys",
                "type": "normal",
                "risk": "low",
                "planned_start": START,
                "planned_end": END,
                "backout_plan": "Restore the old keys",
            }
        ),
        REPORTER,
        anyone=True,
    ),
    "change_review_view": Row(
        form(lambda w: w.change("review"), AGENT, click("change_review")),
        submit({"outcome": "successful", "note": "All good"}),
        AGENT,
    ),
    "change_cancel_view": Row(
        form(World.change, REPORTER, click("change_cancel")),
        submit({"note": "Not needed"}),
        REPORTER,
    ),
    "change_reject_view": Row(
        form(lambda w: w.change("awaiting_approval"), APPROVER, click("change_reject")),
        submit({"reason": "Too risky"}),
        APPROVER,
    ),
    # releases (AGENT2 is the release manager)
    "release_build": Row(World.release, click("release_build"), AGENT2),
    "release_cancel": Row(lambda w: w.release("scheduled"), click("release_cancel"), AGENT2),
    "release_schedule": Row(lambda w: w.release("tested"), click("release_schedule"), AGENT2),
    "release_deploy": Row(lambda w: w.release("scheduled"), click("release_deploy"), AGENT2),
    "release_roll_back": Row(lambda w: w.release("failed"), click("release_roll_back"), AGENT2),
    "release_close": Row(lambda w: w.release("rolled_back"), click("release_close"), AGENT2),
    "release_test": Row(lambda w: w.release("built"), click("release_test"), AGENT2, "form"),
    "release_deployed": Row(
        lambda w: w.release("deploying"), click("release_deployed"), AGENT2, "form"
    ),
    "release_failed": Row(
        lambda w: w.release("deploying"), click("release_failed"), AGENT2, "form"
    ),
    "release_new": Row(
        form(lambda w: w.change("approved"), AGENT2, command("/release")),
        submit(
            {
                "name": "Payments",
                "version": "3.0",
                "changes": ["CHG-1"],
                "release_plan": "Blue/green",
                "backout_plan": "Switch back",
            }
        ),
        AGENT2,
    ),
    "release_test_view": Row(
        form(lambda w: w.release("built"), AGENT2, click("release_test")),
        submit({"result": "passed", "note": "Green"}),
        AGENT2,
    ),
    "release_deployed_view": Row(
        form(lambda w: w.release("deploying"), AGENT2, click("release_deployed")),
        submit({"note": "Live"}),
        AGENT2,
    ),
    "release_failed_view": Row(
        form(lambda w: w.release("deploying"), AGENT2, click("release_failed")),
        submit({"note": "Errors on checkout"}),
        AGENT2,
    ),
    # availability and continuity tests (the owner group records them)
    "service_test_passed": Row(
        World.test_run, click("service_test_passed", lambda run: TestRunRef(run=run).dump()), OWNER
    ),
    "service_test_failed": Row(
        World.test_run,
        click("service_test_failed", lambda run: TestRunRef(run=run).dump()),
        OWNER,
        "form",
    ),
    "service_test_failed_view": Row(
        form(
            World.test_run,
            OWNER,
            click("service_test_failed", lambda run: TestRunRef(run=run).dump()),
        ),
        submit({"note": "Restore took 3 hours"}),
        OWNER,
    ),
    # agreement reviews (the agreement's owner, or an admin)
    "agreement_record_review": Row(
        World.agreement, click("agreement_record_review", review_ref), OWNER, "form"
    ),
    "agreement_review_view": Row(
        form(World.agreement, OWNER, click("agreement_record_review", review_ref)),
        submit({"reviewed_on": date(2026, 11, 20), "outcome": "confirmed", "note": "Fine"}),
        OWNER,
    ),
    # complaints (the owner or an agent), compliments (anyone) and surveys (the reporter)
    "complaint_investigate": Row(relationship.complaint, click("complaint_investigate"), AGENT),
    "complaint_reopen": Row(
        lambda w: relationship.complaint(w, "responded"), click("complaint_reopen"), AGENT
    ),
    "complaint_close": Row(
        lambda w: relationship.complaint(w, "responded"), click("complaint_close"), AGENT
    ),
    "complaint_respond": Row(relationship.complaint, click("complaint_respond"), AGENT, "form"),
    "complaint_respond_view": Row(
        form(relationship.complaint, AGENT, click("complaint_respond")),
        submit({"response": "We refunded you"}),
        AGENT,
    ),
    "feedback_new": Row(
        form(nothing, REPORTER, command("/feedback")),
        submit({"feedback_kind": "complaint", "summary": "Refund took a month"}),
        REPORTER,
        anyone=True,
    ),
    **{
        f"survey_score_{n}": Row(relationship.survey, click(f"survey_score_{n}", str), REPORTER)
        for n in range(1, 6)
    },
    "survey_comment": Row(
        lambda w: relationship.survey(w, 4), click("survey_comment", str), REPORTER, "form"
    ),
    "survey_comment_view": Row(
        form(lambda w: relationship.survey(w, 4), REPORTER, click("survey_comment", str)),
        submit({"comment": "Quick"}),
        REPORTER,
    ),
    "survey_follow_up": Row(
        lambda w: relationship.survey(w, 1), click("survey_follow_up", str), AGENT
    ),
    # service reviews with customers (the customer's owner, or an admin) and their actions
    "relationship_record_review": Row(
        relationship.retail, click("relationship_record_review", str), OWNER, "form"
    ),
    "relationship_review_view": Row(
        form(relationship.retail, OWNER, click("relationship_record_review", str)),
        submit({"reviewed_on": date(2026, 11, 20), "outcome": "Fine"}),
        OWNER,
    ),
    "review_action_done": Row(relationship.review_action, click("review_action_done", str), OWNER),
    # SMS document and objective reviews (the owner, or an admin)
    "sms_record_review": Row(
        lambda w: "Change procedure", click("sms_record_review", sms_review_ref), OWNER, "form"
    ),
    "sms_review_view": Row(
        form(lambda w: "Change procedure", OWNER, click("sms_record_review", sms_review_ref)),
        submit({"reviewed_on": date(2026, 11, 20), "outcome": "confirmed"}),
        OWNER,
    ),
    # nonconformities: raised by agents; the owner plans and finishes the corrective action;
    # whoever raised it judges whether it worked
    "nc_new": Row(
        form(nothing, AGENT, command("/nc")),
        submit({"title": "No CAB minutes", "owner": OWNER}),
        AGENT,
    ),
    "nc_plan": Row(lambda w: nc_in(w, "open"), click("nc_plan"), OWNER, "form"),
    "nc_plan_view": Row(
        form(lambda w: nc_in(w, "open"), OWNER, click("nc_plan")),
        submit(
            {
                "correction": "Minutes written",
                "corrective_action": "Template",
                "due_on": date(2026, 12, 20),
            }
        ),
        OWNER,
    ),
    "nc_action_done": Row(lambda w: nc_in(w, "action_planned"), click("nc_action_done"), OWNER),
    "nc_close": Row(lambda w: nc_in(w, "verifying"), click("nc_close"), AGENT, "form"),
    "nc_close_view": Row(
        form(lambda w: nc_in(w, "verifying"), AGENT, click("nc_close")),
        submit({"note": "Three CABs minuted"}),
        AGENT,
    ),
    "nc_not_effective": Row(
        lambda w: nc_in(w, "verifying"), click("nc_not_effective"), AGENT, "form"
    ),
    "nc_not_effective_view": Row(
        form(lambda w: nc_in(w, "verifying"), AGENT, click("nc_not_effective")),
        submit({"note": "Still missing"}),
        AGENT,
    ),
    # improvements: anyone raises one; the process owner evaluates; its owner finishes it
    "improvement_new": Row(
        form(nothing, STRANGER, command("/improve")),
        submit({"title": "Faster CAB", "process": "change"}),
        AGENT,
        anyone=True,
    ),
    "improvement_approve": Row(
        lambda w: improvement_in(w, "proposed"), click("improvement_approve"), OWNER, "form"
    ),
    "improvement_approve_view": Row(
        form(lambda w: improvement_in(w, "proposed"), OWNER, click("improvement_approve")),
        submit({"owner": OWNER, "due_on": date(2026, 12, 20)}),
        OWNER,
    ),
    "improvement_reject": Row(
        lambda w: improvement_in(w, "proposed"), click("improvement_reject"), OWNER, "form"
    ),
    "improvement_reject_view": Row(
        form(lambda w: improvement_in(w, "proposed"), OWNER, click("improvement_reject")),
        submit({"note": "Not now"}),
        OWNER,
    ),
    "improvement_done": Row(
        lambda w: improvement_in(w, "approved"), click("improvement_done"), OWNER, "form"
    ),
    "improvement_done_view": Row(
        form(lambda w: improvement_in(w, "approved"), OWNER, click("improvement_done")),
        submit({"note": "CAB weekly now"}),
        OWNER,
    ),
    # internal audits: the auditor starts, records findings and completes; an admin cancels
    "audit_start": Row(lambda w: audit_in(w, "planned"), click("audit_start"), AGENT),
    "audit_cancel": Row(lambda w: audit_in(w, "planned"), click("audit_cancel"), "U0ADMIN"),
    "audit_finding": Row(
        lambda w: audit_in(w, "in_progress"), click("audit_finding"), AGENT, "form"
    ),
    "audit_complete": Row(
        lambda w: audit_in(w, "in_progress"), click("audit_complete"), AGENT, "form"
    ),
    "audit_complete_view": Row(
        form(lambda w: audit_in(w, "in_progress"), AGENT, click("audit_complete")),
        submit({"note": "Conforms, one NC"}),
        AGENT,
    ),
}


# ---- major incidents and post-incident reviews (issue 13) --------------------------------------


def _major(w: World) -> str:
    """An acknowledged incident (AGENT is its assignee, hence commander) declared major."""
    from services import major_incidents

    key = w.incident("in_progress")
    with w.db.session() as s:
        major_incidents.declare(
            s, key=key, reason="Checkout down", actor=w.agent, now=w.now(), policy=w.policy
        )
    return key


def _review(w: World, *, recorded: bool = False) -> str:
    """The review (owned by AGENT, the commander) of a resolved major incident."""
    from services import reviews

    key = _major(w)
    with w.db.session() as s:
        incidents.resolve(
            s, key=key, code="fixed", note="restarted", actor=w.agent, now=w.now(), policy=w.policy
        )
        review = reviews.find_for(s, incident_key=key)
        assert review is not None
        if recorded:
            reviews.record(
                s,
                key=review.key,
                what_happened="Checkout down",
                root_cause="Expired certificate",
                went_well=None,
                problem=None,
                raise_problem=False,
                actor=w.agent,
                now=w.now(),
            )
        return review.key


def _review_action(w: World) -> str:
    from services import reviews

    key = _review(w)
    with w.db.session() as s:
        _, action = reviews.add_action(
            s,
            key=key,
            text="Monitor certificate expiry",
            owner=OWNER,
            due=w.now().date() + timedelta(days=7),
            actor=w.agent,
            now=w.now(),
        )
        return str(action.id)


def _role(action_id: str):  # type: ignore[no-untyped-def]
    def act(w: World, key: Any, user: str) -> DispatchResult:
        return w.press(
            user,
            action_id,
            None,
            type="users_select",
            block_id=f"major_roles|{key}",
            chosen={"selected_user": AGENT2},
        )

    return act


ROWS.update(
    {
        "incident_more:major": Row(World.incident, more("major"), AGENT, "form"),
        "incident_declare_view": Row(
            form(lambda w: w.incident("in_progress"), AGENT, more("major")),
            submit({"reason": "Checkout is down for everyone"}),
            AGENT,
        ),
        "incident_major_commander": Row(_major, _role("incident_major_commander"), AGENT),
        "incident_major_comms_lead": Row(_major, _role("incident_major_comms_lead"), AGENT),
        "incident_major_post_update": Row(
            _major, click("incident_major_post_update"), AGENT, "form"
        ),
        "incident_update_view": Row(
            form(_major, AGENT, click("incident_major_post_update")),
            submit({"update_status": "Mitigating", "update_impact": "Checkout slow"}),
            AGENT,
        ),
        "pir_close": Row(lambda w: _review(w, recorded=True), click("pir_close"), AGENT),
        "pir_record": Row(_review, click("pir_record"), AGENT, "form"),
        "pir_add_action": Row(_review, click("pir_add_action"), AGENT, "form"),
        "pir_record_view": Row(
            form(_review, AGENT, click("pir_record")),
            submit({"root_cause": "Expired certificate"}),
            AGENT,
        ),
        "pir_action_view": Row(
            form(_review, AGENT, click("pir_add_action")),
            submit(
                {
                    "action_text": "Alert 30 days before expiry",
                    "action_owner": OWNER,
                    "action_due": date(2026, 12, 18),
                }
            ),
            AGENT,
        ),
        "pir_action_done": Row(_review_action, click("pir_action_done", str), OWNER),
    }
)


# ---- management reviews (issue 14) -------------------------------------------------------------


def management_review(w: World) -> str:
    """A planned management review (MR-n) owned by OWNER, as the sweep would plan it."""
    from models.management_review import ManagementReview

    with w.db.session() as s:
        taken = len(s.exec(select(ManagementReview.id)).all())
        record = ManagementReview(
            owner=OWNER,
            planned_on=w.now().date() + timedelta(days=30 + taken),
            created_by="servicedesk",
            created_at=w.now(),
            updated_at=w.now(),
        )
        s.add(record)
        s.flush()
        return record.key


def management_review_action(w: World) -> int:
    """An open action (owned by OWNER) agreed at a recorded review."""
    from services import management_reviews

    key = management_review(w)
    with w.db.session() as s:
        management_reviews.record(
            s,
            key=key,
            held_on=w.now().date(),
            attendees=[],
            decisions="Carry on",
            actions=[management_reviews.AgreedAction("Hire", OWNER, w.now().date())],
            actor=Actor(OWNER),
            now=w.now(),
            policy=w.policy,
        )
        (found,) = management_reviews.open_actions(s)[-1:]
        return found.id or 0


# ---- service changes (issue 14, clause 5) ----------------------------------------------------


def _service_change(w: World) -> str:
    """A service change (a new service, two criteria) approved and scheduled; REPORTER asked."""
    from models.service_change import ServiceChangeInput
    from services import service_changes

    with w.db.session() as s:
        key = service_changes.propose(
            s,
            data=ServiceChangeInput(
                action="new",
                service="billing",
                team="platform",
                requirements="Invoices",
                design="A worker",
                criteria="Invoices issued\nRefunds work",
                risk="low",
                planned_start=START,
                planned_end=END,
                backout_plan="Switch it off",
            ),
            requester=REPORTER,
            now=w.now(),
            policy=w.policy,
        ).key
        changes.assess(s, key=key, actor=w.agent, now=w.now())
        change_approvals.submit_for_approval(
            s, key=key, actor=w.agent, now=w.now(), policy=w.policy
        )
        change_approvals.decide(
            s,
            key=key,
            approver=APPROVER,
            approver_groups={"S0CAB"},
            decision="approve",
            reason=None,
            now=w.now(),
            policy=w.policy,
        )
        changes.schedule(s, key=key, actor=w.agent, now=w.now(), policy=w.policy)
    return key


ROWS.update(
    {
        "mr_record": Row(management_review, click("mr_record"), OWNER, "form"),
        "mr_record_view": Row(
            form(management_review, OWNER, click("mr_record")),
            submit({"held_on": date(2026, 11, 27), "decisions": "Keep the targets"}),
            OWNER,
        ),
        "mr_cancel": Row(management_review, click("mr_cancel"), "U0ADMIN"),
        "mr_action_done": Row(management_review_action, click("mr_action_done", str), OWNER),
        "change_accept": Row(_service_change, click("change_accept"), REPORTER, "form"),
        "change_accept_view": Row(
            form(_service_change, REPORTER, click("change_accept")),
            submit({"criterion_1": "passed", "criterion_2": "failed", "note_2": "Timeout"}),
            REPORTER,
        ),
        "change_service_view": Row(
            form(nothing, REPORTER, command("/change", "service")),
            submit(
                {
                    "service_action": "new",
                    "service_name": "billing",
                    "team": "platform",
                    "requirements": "Invoices",
                    "design": "A worker",
                    "criteria": "Invoices issued",
                    "risk": "low",
                    "backout_plan": "Switch it off",
                }
            ),
            REPORTER,
            anyone=True,
        ),
    }
)


# ---- agreement changes raised from a service review (issue 12) --------------------------------


def _customer_review(w: World) -> str:
    """A service review of the customer Retail (owned by OWNER), as its key CRV-n."""
    from models.relationship import PartyKind
    from services import agreement_changes
    from services import relationship_reviews as reviews

    with w.db.session() as s:
        review = reviews.record_review(
            s,
            kind=PartyKind.CUSTOMER,
            name="Retail",
            reviewed_on=w.now().date(),
            attendees=[],
            outcome="New refund target",
            actions=[],
            actor=Actor(OWNER),
            now=w.now(),
            policy=w.policy,
        )
        return agreement_changes.customer_review_key(review)


ROWS.update(
    {
        "agreement_change_raise": Row(
            _customer_review, click("agreement_change_raise"), OWNER, "form"
        ),
        "agreement_change_view": Row(
            form(_customer_review, OWNER, click("agreement_change_raise")),
            submit(
                {
                    "title": "Refunds in 2 days",
                    "description": "New refund target",
                    "risk": "low",
                    "backout_plan": "Old terms",
                }
            ),
            OWNER,
        ),
    }
)


def test_every_registered_id_has_a_row():
    """A new button or form must say here who may use it."""
    registered = registered_ids()
    assert registered - set(ROWS) == set(), "buttons or forms without a permission row"
    assert set(ROWS) - registered == set(), "rows for ids nobody registers any more"


# ---- trying a row ---------------------------------------------------------------------------


def _audit_by(w: World, user: str) -> int:
    with w.db.session() as s:
        return len(s.exec(select(AuditEntry.id).where(AuditEntry.actor == user)).all())


def _answer(w: World, result: DispatchResult, answers_before: int) -> str:
    """What the person was told: form errors on the ack, or a private reply."""
    if isinstance(result.body, dict) and result.body.get("errors"):
        return " ".join(result.body["errors"].values())
    replies = w.fake.calls("response_url")[answers_before:]
    return " ".join(str(call.args.get("text")) for call in replies)


def _attempt(w: World, row: Row, user: str) -> tuple[bool, str]:
    prepared = row.prepare(w)
    audit_before, views_before = _audit_by(w, user), len(w.fake.calls("views.open"))
    answers_before = len(w.fake.calls("response_url"))
    result = row.act(w, prepared, user)
    assert result.status == 200
    if row.effect == "form":
        accepted = len(w.fake.calls("views.open")) > views_before
    else:
        accepted = _audit_by(w, user) > audit_before
    return accepted, _answer(w, result, answers_before)


@pytest.fixture
def world(slack, fake_slack, database, clock, policy) -> World:  # type: ignore[no-untyped-def]
    return World(slack, fake_slack, database, clock, policy)


@pytest.mark.parametrize("action", sorted(ROWS))
def test_strangers_are_refused_and_the_right_people_are_not(world, action, caplog):
    row = ROWS[action]
    accepted, answer = _attempt(world, row, STRANGER)
    if row.anyone:
        assert accepted, f"{action}: anyone may do this, but a stranger was refused: {answer}"
    else:
        assert not accepted, f"{action}: a stranger was let through"
        assert "Refused, because" in answer, f"{action}: the stranger was told {answer!r}"
    accepted, answer = _attempt(world, row, row.allowed)
    assert accepted, f"{action}: {row.allowed} should be allowed but was told {answer!r}"
    # Refusals and steps are answered, never a traceback. (The records here were made through
    # the services and have no channel message, so updating it is refused by Slack: logged.)
    assert not [r for r in caplog.records if r.exc_info], caplog.text


# ---- nonconformities and improvements in a given state (issue 14) ---------------------------

DUE = date(2026, 12, 20)


def nc_in(w: World, state: str) -> str:
    from services import nonconformities

    owner = Actor(OWNER)
    with w.db.session() as s:
        key = nonconformities.raise_nc(
            s,
            title="No CAB minutes",
            description="",
            owner=OWNER,
            source="Management review",
            actor=w.agent,
            now=w.now(),
        ).key
        if state in ("action_planned", "verifying"):
            nonconformities.plan_action(
                s,
                key=key,
                correction="Written",
                corrective_action="Template",
                due_on=DUE,
                actor=owner,
                now=w.now(),
            )
        if state == "verifying":
            nonconformities.action_done(s, key=key, actor=owner, now=w.now())
    return key


def improvement_in(w: World, state: str) -> str:
    from services import improvements

    with w.db.session() as s:
        key = improvements.propose(
            s,
            title="Faster CAB",
            description="",
            process="change",
            actor=Actor(REPORTER),
            now=w.now(),
            policy=w.policy,
        ).key
        if state == "approved":
            improvements.approve(
                s,
                key=key,
                owner=OWNER,
                due_on=DUE,
                note=None,
                actor=Actor(OWNER),
                members_of=lambda ref: frozenset(),
                now=w.now(),
            )
    return key


def audit_in(w: World, state: str) -> str:
    """An internal audit (AUD-n) with AGENT as its auditor, as the sweep would plan it."""
    from models.improvement import InternalAudit
    from services import audits

    with w.db.session() as s:
        taken = len(s.exec(select(InternalAudit.id)).all())
        record = InternalAudit(
            name="ISO audit",
            scope="Change management",
            auditor=AGENT,
            planned_on=w.now().date() + timedelta(days=30 + taken),
            created_by="servicedesk",
            created_at=w.now(),
            updated_at=w.now(),
        )
        s.add(record)
        s.flush()
        key = record.key
        if state == "in_progress":
            audits.start(s, key=key, actor=w.agent, now=w.now())
    return key
