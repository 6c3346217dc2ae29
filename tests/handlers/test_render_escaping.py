"""Every renderer, called with hostile text in every text field, leaves none of it as markup.

The renderers are discovered: every public function of every `handlers.<kind>.render` module
(and the notification texts composed in services) is called with arguments built from its type
hints, each text field of each record holding hostile markup. A renderer added later is
walked too; one whose argument types the factory below cannot build fails
`test_every_renderer_can_be_walked` until the factory learns them.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import handlers
from bot.policy import parse_policy
from models.audit import AuditEntry
from models.availability import RunStatus, TestRun
from models.carried import RecordRef
from models.change import Change, ChangeApproval, ChangeStatus, ChangeType, ReviewOutcome
from models.cmdb import ConfigItem
from models.improvement import (
    AuditStatus,
    Improvement,
    ImprovementStatus,
    InternalAudit,
    NcStatus,
    Nonconformity,
)
from models.incident import HoldReason, Incident, IncidentStatus
from models.notification import Notification, NotificationStatus
from models.policy import Policy
from models.problem import Problem, ProblemStatus
from models.release import Release, ReleaseStatus, ReleaseTest
from models.request_policy import CatalogItem
from models.service_request import RequestStatus, ServiceRequest
from services import change_reminders, paging, reminders, service_tests
from services.availability import ServiceAvailability
from services.change_approvals import Tally
from services.cmdb import ItemView, OpenRecords
from services.incident_sla import IncidentSla
from services.mrkdwn import mention, user_text
from services.problems import TrendFinding
from services.sla_clock import SlaState
from tests.capacity import escaping_support as capacity_escaping
from tests.handlers.hostile import HOSTILE, HOSTILE_SHORT, assert_no_markup, markup_problems
from tests.relationships import escaping_support as relationship_escaping

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
LEAD = "U0LEAD"  # a real person the bot mentions on purpose
FORGED_ID = "U0EVIL><!channel"  # a person field that is not a Slack id at all

HOSTILE_POLICY = f"""
[channels]
incidents = "C0INCIDENTS"

[[teams]]
name = "{HOSTILE_SHORT}"
lead = "U0LEAD"
on_call = "S0ONCALL"

[[services]]
name = "<!here> svc"
team = "{HOSTILE_SHORT}"

[incidents]
categories = ["{HOSTILE_SHORT}"]
resolution_codes = ["{HOSTILE_SHORT}"]

[changes]
risk_questions = [{{ id = "q1", text = "{HOSTILE_SHORT}" }}]
standard_changes = [{{ name = "{HOSTILE_SHORT}", description = "{HOSTILE_SHORT}" }}]

[[catalog.items]]
id = "laptop"
name = "{HOSTILE_SHORT}"
description = "{HOSTILE_SHORT}"
fulfilment_team = "{HOSTILE_SHORT}"
fields = [
  {{ name = "why", label = "{HOSTILE_SHORT}", kind = "text" }},
  {{ name = "pick", label = "{HOSTILE_SHORT}", kind = "select", options = ["{HOSTILE_SHORT}"] }},
  {{ name = "who", label = "{HOSTILE_SHORT}", kind = "user" }},
]
"""


# ---- hostile records ---------------------------------------------------------------------------

PEOPLE = {
    "reporter",
    "assignee",
    "requester",
    "implementer",
    "release_manager",
    "created_by",
    "approver",
    "recorded_by",
    "owner",
    "actor",
    "decided_by",
    "recipient",
}
# Fields that hold an enum's value: they must stay valid for the record's properties to work.
KEEP = {
    "id",
    "status",
    "type",
    "hold_reason",
    "review_outcome",
    "answers",
    "attributes",
    "channel_id",
    "message_ts",
    "thread_channel",
    "thread_ts",
    "name_lower",
    "blocks",
}


def hostile(model: type, *, person: str = FORGED_ID, **given: Any) -> Any:
    """An instance of `model` (not stored) with every free-text field hostile and every
    person field set to `person`; `given` sets the rest."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        if name in given or name in KEEP:
            continue
        annotation = str(info.annotation)
        if "str" in annotation:
            values[name] = person if name in PEOPLE else HOSTILE
        elif "datetime" in annotation:
            values[name] = NOW
        elif "bool" in annotation:
            values[name] = True
        elif "int" in annotation:
            values[name] = 3
    values.update(given)
    return model(**values)


def incidents() -> list[Incident]:
    return [
        hostile(
            Incident,
            id=7,
            status=status.value,
            hold_reason=HoldReason.SUPPLIER.value,
            priority=1 + i % 5,
            person=person,
        )
        for i, status in enumerate(IncidentStatus)
        for person in (FORGED_ID, LEAD)
    ]


def changes() -> list[Change]:
    return [
        hostile(
            Change,
            id=3,
            type=kind.value,
            status=status.value,
            review_outcome=ReviewOutcome.FAILED.value,
            planned_start=NOW,
            planned_end=NOW + timedelta(hours=1),
        )
        for kind in ChangeType
        for status in ChangeStatus
    ]


def releases() -> list[Release]:
    return [
        hostile(Release, id=2, status=status.value, window_start=NOW, window_end=NOW)
        for status in ReleaseStatus
    ]


def problems() -> list[Problem]:
    return [hostile(Problem, id=4, status=status.value) for status in ProblemStatus]


def requests() -> list[ServiceRequest]:
    answers = json.dumps({"why": HOSTILE, "pick": HOSTILE, "who": FORGED_ID, HOSTILE: HOSTILE})
    return [
        hostile(ServiceRequest, id=5, status=status.value, answers=answers, item_id="laptop")
        for status in RequestStatus
    ]


def items() -> list[ConfigItem]:
    return [
        hostile(
            ConfigItem,
            id=9,
            type="service",
            status="live",
            name_lower="x",
            attributes=json.dumps({HOSTILE: HOSTILE}),
        )
    ]


def runs() -> list[TestRun]:
    return [
        hostile(TestRun, id=1, status=status.value, incident_key=HOSTILE) for status in RunStatus
    ]


def audit_entries() -> list[AuditEntry]:
    return [hostile(AuditEntry, id=1), hostile(AuditEntry, id=2, field=None)]


def notification_rows() -> list[Notification]:
    return [
        hostile(Notification, id=1, status=status.value, recipient=recipient)
        for status in NotificationStatus
        for recipient in (HOSTILE, "S0EVIL>", LEAD)
    ]


def sla_state(*, paused: bool = False, stopped: bool = False, breached: bool = False) -> SlaState:
    return SlaState(
        target=timedelta(hours=4),
        due_at=None if paused else NOW,
        elapsed=timedelta(hours=1),
        remaining=timedelta(hours=-1 if breached else 3),
        percent_used=25.0,
        paused=paused,
        stopped=stopped,
        met=stopped and not breached,
        breached=breached,
    )


def slas() -> list[IncidentSla]:
    return [
        IncidentSla(sla_state(), sla_state()),
        IncidentSla(sla_state(paused=True), sla_state(breached=True)),
        IncidentSla(sla_state(stopped=True), sla_state(stopped=True, breached=True)),
    ]


def policy() -> Policy:
    return parse_policy(HOSTILE_POLICY)


def catalog_items() -> list[CatalogItem]:
    return list(policy().catalog.items)


# ---- building arguments from type hints --------------------------------------------------------

FACTORIES: dict[Any, Callable[[], list[Any]]] = {
    Incident: incidents,
    Change: changes,
    Release: releases,
    Problem: problems,
    ServiceRequest: requests,
    ConfigItem: items,
    TestRun: runs,
    AuditEntry: audit_entries,
    Notification: notification_rows,
    ReleaseTest: lambda: [hostile(ReleaseTest, id=1, passed=p) for p in (True, False)],
    ChangeApproval: lambda: [hostile(ChangeApproval, id=1, decision="reject")],
    IncidentSla: slas,
    Policy: lambda: [policy()],
    CatalogItem: catalog_items,
    RecordRef: lambda: [RecordRef(key="INC-7", channel="C1", ts="1.2")],
    Tally: lambda: [
        Tally(changes()[0], (LEAD, FORGED_ID), (FORGED_ID,), n, outcome)
        for n, outcome in ((1, "pending"), (0, "approved"), (0, "rejected"))
    ],
    TrendFinding: lambda: [TrendFinding(1, f"service:{HOSTILE}", [HOSTILE, "INC-1"])],
    ItemView: lambda: [
        ItemView(items()[0], items(), items(), items(), items(), {HOSTILE: HOSTILE})
    ],
    OpenRecords: lambda: [OpenRecords([HOSTILE], [HOSTILE], [HOSTILE], [HOSTILE])],
    ServiceAvailability: lambda: [
        ServiceAvailability(HOSTILE, NOW, NOW, timedelta(days=1), timedelta(hours=1), [], runs())
    ],
    str: lambda: [HOSTILE, LEAD, ""],
    int: lambda: [3],
    bool: lambda: [True, False],
    timedelta: lambda: [timedelta(days=30), timedelta(hours=5)],
    datetime: lambda: [NOW],
    type(None): lambda: [None],
    Nonconformity: lambda: [
        hostile(Nonconformity, id=3, status=state.value, due_on=NOW.date()) for state in NcStatus
    ],
    Improvement: lambda: [
        hostile(Improvement, id=4, status=state.value, due_on=NOW.date())
        for state in ImprovementStatus
    ],
    InternalAudit: lambda: [
        hostile(InternalAudit, id=2, status=state.value, planned_on=NOW.date())
        for state in AuditStatus
    ],
}


def who_made_it() -> list[str]:
    """`step_texts(record, who)`: who made the move, the mention handlers.kind builds."""
    return [mention(FORGED_ID), mention(LEAD)]


# Parameters whose values are a closed set the caller always chooses from (never typed text).
CHOICES: dict[tuple[str, str], Callable[[], list[Any]]] = {
    # The bot's own usage text (built from the sub-command table), not something typed.
    ("handlers.incidents.render.unknown_blocks", "usage"): lambda: ["*Incidents*\n`/incident`"],
    ("handlers.incidents.render.step_text", "action"): lambda: [
        "acknowledge",
        "assign",
        "hold",
        "resume",
        "resolve",
        "reopen",
        "close",
        "cancel",
        "priority",
        "escalate",
    ],
    ("handlers.incidents.render.escalation_text", "kind"): lambda: ["functional", "hierarchical"],
    ("handlers.changes.render.step_text", "action"): lambda: list(
        importlib.import_module("handlers.changes.render").STEPS
    ),
    ("handlers.releases.render.step_text", "action"): lambda: list(
        importlib.import_module("handlers.releases.render").STEPS
    ),
    ("handlers.problems.render.step_texts", "who"): who_made_it,
    ("handlers.problems.render.incident_thread_text", "action"): lambda: [
        "known_error",
        "resolve",
    ],
    ("handlers.requests.render.requester_text", "step"): lambda: [
        "submitted",
        "approved",
        "rejected",
        "start",
        "fulfil",
        "close",
    ],
    # Mrkdwn the caller built with another renderer of the same module (documented so).
    ("handlers.incidents.render.dm_blocks", "text"): lambda: [
        importlib.import_module("handlers.incidents.render").escalation_text(
            incidents()[0], "functional", FORGED_ID, HOSTILE
        )
    ],
    ("handlers.incidents.render.message_blocks", "notes"): lambda: [
        [importlib.import_module("handlers.problems.render").known_error_note(problems()[2])]
    ],
    ("handlers.incidents.render.message_blocks", "affects"): lambda: [[HOSTILE, "payments"]],
    ("handlers.requests.render.show_blocks", "sla"): lambda: [
        (sla_state(), sla_state(breached=True)),
        None,
    ],
    ("handlers.nonconformities.render.step_texts", "who"): who_made_it,
    ("handlers.improvements.render.step_texts", "who"): who_made_it,
    ("handlers.nonconformities.render.new_modal", "source"): lambda: [""],
    ("handlers.audits.render.step_texts", "who"): who_made_it,
}

# Complaints, satisfaction and suppliers (issue 12).
FACTORIES.update(relationship_escaping.factories(hostile))
CHOICES.update(relationship_escaping.CHOICES)


# ---- major incidents and post-incident reviews (issue 13) --------------------------------------


def _majors() -> list[Any]:
    from models.major_incident import MajorIncident

    return [
        hostile(
            MajorIncident,
            id=1,
            channel_id=channel,
            channel_error=HOSTILE,
            commander=person,
            comms_lead=person,
            declared_by=person,
            ended_at=ended,
        )
        for channel, person, ended in (
            ("C0MAJOR1", FORGED_ID, None),
            (None, LEAD, NOW),
            (FORGED_ID, LEAD, None),
        )
    ]


def _reviews() -> list[Any]:
    from models.major_incident import PostIncidentReview, ReviewStatus

    return [
        hostile(PostIncidentReview, id=1, status=status.value, owner=person)
        for status in ReviewStatus
        for person in (FORGED_ID, LEAD)
    ]


def _review_actions() -> list[Any]:
    from models.major_incident import ReviewAction

    return [
        hostile(ReviewAction, id=2, review_id=1, owner=person, done_by=person, done_at=done)
        for person, done in ((FORGED_ID, None), (LEAD, NOW), (FORGED_ID, NOW))
    ]


def _major_factories() -> dict[Any, Callable[[], list[Any]]]:
    from models.major_incident import (
        MajorIncident,
        PostIncidentReview,
        ReviewAction,
        Role,
        TimelineEntry,
    )
    from services.incident_timeline import Moment

    return {
        MajorIncident: _majors,
        PostIncidentReview: _reviews,
        ReviewAction: _review_actions,
        TimelineEntry: lambda: [
            hostile(TimelineEntry, id=1, actor=person, author=person, next_steps=steps)
            for person, steps in ((FORGED_ID, HOSTILE), (LEAD, None))
        ],
        Moment: lambda: [
            Moment(NOW, FORGED_ID, HOSTILE, FORGED_ID, HOSTILE),
            Moment(NOW, LEAD, HOSTILE, LEAD),
            Moment(NOW, HOSTILE, HOSTILE),
        ],
        Role: lambda: list(Role),
    }


FACTORIES.update(_major_factories())
CHOICES.update(
    {
        ("handlers.reviews.render.step_texts", "who"): who_made_it,
        ("handlers.reviews.render.actions_blocks", "found"): lambda: [
            [(action, HOSTILE) for action in _review_actions()],
            [],
        ],
        # The incidents channel's live message, built (and escaped) by its own renderer.
        ("handlers.incidents.major_render.summary_blocks", "live"): lambda: [
            importlib.import_module("handlers.incidents.render").message_blocks(
                incidents()[0], slas()[0]
            )
        ],
    }
)


# ---- service changes (issue 14, clause 5) ------------------------------------------------------


def _service_change_factories() -> dict[Any, Callable[[], list[Any]]]:
    from models.policy import Service, Team
    from models.service_change import ServiceAction, ServiceChange
    from services.agreement_changes import Origin
    from services.service_changes import Criterion

    return {
        ServiceChange: lambda: [
            hostile(
                ServiceChange,
                change_id=3,
                action=action.value,
                criteria=f"{HOSTILE}\n{HOSTILE}",
                applied_at=applied,
            )
            for action in ServiceAction
            for applied in (NOW, None)
        ],
        Criterion: lambda: [
            Criterion(1, HOSTILE, None),
            Criterion(2, HOSTILE, True, HOSTILE),
            Criterion(3, HOSTILE, False, HOSTILE),
        ],
        Service: lambda: list(policy().services),
        Team: lambda: list(policy().teams),
        Origin: lambda: [
            Origin(HOSTILE, HOSTILE, NOW.date(), FORGED_ID, HOSTILE, [HOSTILE], [HOSTILE]),
            Origin("CRV-1", HOSTILE, NOW.date(), LEAD, HOSTILE),
        ],
    }


FACTORIES.update(_service_change_factories())
CHOICES.update(
    {
        # The DM text, built (and escaped) by the same module's recorded_text.
        ("handlers.customers.render.recorded_blocks", "text"): lambda: [
            importlib.import_module("handlers.customers.render").recorded_text(HOSTILE, None, 1)
        ],
    }
)


def render_modules() -> list[types.ModuleType]:
    """Every handlers.<kind>.render module and, where a kind keeps its forms apart, its
    handlers.<kind>.forms, found by walking the package."""
    found = []
    for info in pkgutil.iter_modules(handlers.__path__):
        if info.ispkg:
            for part in ("render", "forms"):
                try:
                    found.append(importlib.import_module(f"handlers.{info.name}.{part}"))
                except ModuleNotFoundError:
                    continue
    return found


def renderers() -> list[Callable[..., Any]]:
    out = []
    for module in render_modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and fn.__module__ == module.__name__:
                out.append(fn)
    return out


def _variants(annotation: Any) -> list[Any]:
    """Every value the factories offer for `annotation` (unions and sequences unpacked)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        values: list[Any] = []
        for arm in typing.get_args(annotation):
            values += _variants(arm)
        return values
    if origin in (list, Sequence, tuple, typing.Sequence) or annotation in (list, Sequence):
        (inner, *_) = typing.get_args(annotation) or (str,)
        inner_values = _variants(inner)
        return [inner_values, []]
    if origin is dict or annotation is dict:
        return [{HOSTILE: HOSTILE}]
    if annotation in FACTORIES:
        return FACTORIES[annotation]()
    raise LookupError(f"no hostile values for {annotation!r}")


def calls(fn: Callable[..., Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Argument sets for `fn`: each parameter's every variant in turn, the others at their
    first variant (the most hostile)."""
    qualified = f"{fn.__module__}.{fn.__name__}"
    hints = typing.get_type_hints(fn)
    signature = inspect.signature(fn)
    options: dict[str, list[Any]] = {}
    for name, parameter in signature.parameters.items():
        choice = CHOICES.get((qualified, name))
        if choice is not None:
            options[name] = choice()
        elif name in hints:
            options[name] = _variants(hints[name])
        elif parameter.default is not inspect.Parameter.empty:
            continue
        else:
            raise LookupError(f"{qualified}: parameter {name} has no type hint")
        if not options[name]:
            raise LookupError(f"{qualified}: no values for {name}")
    base = {name: values[0] for name, values in options.items()}
    yield "all hostile", base
    for name, values in options.items():
        for index, value in enumerate(values[1:], start=1):
            yield f"{name}[{index}]", {**base, name: value}


def test_every_render_module_is_found() -> None:
    names = {module.__name__ for module in render_modules()}
    assert {
        "handlers.incidents.render",
        "handlers.incidents.forms",
        "handlers.changes.render",
        "handlers.releases.render",
        "handlers.problems.render",
        "handlers.requests.render",
        "handlers.cmdb.render",
        "handlers.servicedesk.render",
    } <= names
    assert len(renderers()) > 80


def test_every_renderer_can_be_walked() -> None:
    """A renderer whose arguments the factories cannot build fails here, so it is never
    silently skipped by the walk below."""
    for fn in renderers():
        assert list(calls(fn)), fn


@pytest.mark.parametrize("fn", renderers(), ids=lambda fn: f"{fn.__module__}.{fn.__name__}")
def test_renderer_escapes_every_text_field(fn: Callable[..., Any]) -> None:
    walked = 0
    for label, kwargs in calls(fn):
        try:
            out = fn(**kwargs)
        except (KeyError, ValueError) as error:
            # A closed-set argument given a value outside its set (e.g. an unknown step):
            # refused, not rendered, so there is nothing to check.
            if label == "all hostile":
                raise AssertionError(f"{fn.__name__} refused its main arguments: {error}") from None
            continue
        walked += 1
        assert_no_markup(out, f"{fn.__name__} ({label})")
    assert walked


def test_the_bots_own_mentions_survive() -> None:
    render = importlib.import_module("handlers.incidents.render")
    incident = hostile(Incident, id=7, status="in_progress", priority=2, person=LEAD)
    text = json.dumps(render.message_blocks(incident, slas()[0]))
    assert "<@U0LEAD>" in text  # the assignee and reporter, mentioned on purpose
    assert "&lt;!channel&gt;" in text  # the hostile title, shown but inert
    forged = hostile(Incident, id=7, status="in_progress", priority=2, person=FORGED_ID)
    shown = json.dumps(render.message_blocks(forged, slas()[0]))
    assert "<@U0EVIL" not in shown and "U0EVIL&gt;&lt;!channel" in shown


# ---- notification texts composed in services (SLA warnings: see test_hostile_text.py) ---------


def test_change_and_release_reminders_escape_titles() -> None:
    for stage in ("before_start:1h", "at_start", "overrun", "review"):
        planned = reminders.Planned(stage, NOW, LEAD)
        for change in changes()[:3]:
            assert_no_markup(change_reminders.change_text(change, planned), stage)
        for release in releases()[:2]:
            assert_no_markup(change_reminders.release_text(release, planned), stage)


def test_test_reminders_and_pages_escape_names() -> None:
    for run in runs():
        for stage in ("due", "escalated", "overdue"):
            text = service_tests.reminder_text(run, stage)
            assert_no_markup(text, stage)
            assert_no_markup(service_tests.reminder_blocks(run, text), stage)
    # A page names only the record's key, never its title: nothing a person typed.
    for level in (0, 1):
        assert_no_markup(paging._text("INC-7", level))  # noqa: SLF001


def test_the_check_itself_catches_raw_markup() -> None:
    """The checker must fail on the raw hostile text, or every test above passes vacuously."""
    assert markup_problems({"text": HOSTILE})
    assert markup_problems([{"type": "mrkdwn", "text": "<@U0EVIL>"}])
    assert markup_problems({"text": "&amp;lt;!channel&amp;gt;"})
    assert not markup_problems({"type": "plain_text", "text": HOSTILE})
    assert markup_problems({"type": "plain_text", "text": user_text(HOSTILE)})
    assert not markup_problems({"initial_value": HOSTILE})
    assert not markup_problems({"text": "<@U0LEAD> <!subteam^S0ONCALL> " + user_text(HOSTILE)})


# ---- major incidents' renderer (issue 13): a second module beside incidents' render.py ------


def _major_renderers() -> list[Callable[..., Any]]:
    module = importlib.import_module("handlers.incidents.major_render")
    return [
        fn
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and fn.__module__ == module.__name__
    ]


@pytest.mark.parametrize("fn", _major_renderers(), ids=lambda fn: fn.__name__)
def test_major_incident_renderer_escapes_every_text_field(fn: Callable[..., Any]) -> None:
    test_renderer_escapes_every_text_field(fn)


# ---- capacity (issue 14): /servicedesk capacity and the capacity lines of /ci show ------------

FACTORIES.update(capacity_escaping.factories(hostile))
CHOICES.update(capacity_escaping.CHOICES)
# ---- management reviews (issue 14) -------------------------------------------------------------


def _management_factories() -> dict[Any, Callable[[], list[Any]]]:
    from models.management_review import ManagementReview, ManagementReviewAction, ReviewStatus
    from services.reports.period import Period
    from services.review_inputs import Prepared

    return {
        ManagementReview: lambda: [
            hostile(
                ManagementReview,
                id=1,
                status=status.value,
                owner=person,
                planned_on=NOW.date(),
                held_on=held,
                attendees=f'["{person}", "{HOSTILE}"]',
            )
            for status, person, held in (
                (ReviewStatus.PLANNED, FORGED_ID, None),
                (ReviewStatus.HELD, LEAD, NOW.date()),
                (ReviewStatus.CANCELLED, FORGED_ID, None),
            )
        ],
        ManagementReviewAction: lambda: [
            hostile(
                ManagementReviewAction,
                id=2,
                review_id=1,
                owner=person,
                due_on=NOW.date(),
                done_by=person,
                done_at=done,
            )
            for person, done in ((FORGED_ID, None), (LEAD, NOW))
        ],
        Period: lambda: [Period(start=NOW - timedelta(days=30), end=NOW, kind="range")],
        Prepared: lambda: [Prepared(HOSTILE, [HOSTILE, "plain"]), Prepared("Budgets", [])],
    }


FACTORIES.update(_management_factories())
CHOICES.update(
    {
        ("handlers.management_reviews.render.step_texts", "who"): who_made_it,
    }
)
