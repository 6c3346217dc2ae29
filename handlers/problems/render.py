"""Everything a person reads about problems in Slack: the channel message, modals, lists.

Every value a person or a file supplied (titles, root causes, workarounds, notes, names) goes
through `b.user_text` where it is put into mrkdwn; modal initial values stay as typed."""

from __future__ import annotations

from collections.abc import Sequence

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.cmdb.render import item_select
from handlers.problems.ids import Action, Field, View
from models.audit import AuditEntry
from models.carried import RecordRef
from models.problem import TITLE_MAX, Problem, ProblemStatus
from services import priority
from services.problems import TrendFinding

# The buttons of a problem's message, each shown when the lifecycle allows its move.
BUTTONS = [
    rb.Button("investigate", "Investigate", Action.INVESTIGATE, style="primary"),
    rb.Button("known_error", "Record known error", Action.KNOWN_ERROR),
    rb.Button("resolve", "Resolve", Action.RESOLVE, style="primary"),
    rb.Button("close", "Close", Action.CLOSE),
    rb.Button("link", "Link incident", Action.LINK),
]


def title_line(problem: Problem) -> str:
    return rb.title_line(":mag:", problem.key, b.user_text(problem.title))


def fallback_text(problem: Problem) -> str:
    name, priority = b.user_text(problem.title), f"P{problem.priority}"
    return rb.fallback_text(problem.key, name, priority, problem.state.label)


def known_error_note(problem: Problem) -> str:
    """The line an incident's message shows when a known error matches it."""
    return f":bulb: Known error {problem.key}: workaround — {b.user_text(problem.workaround)}"


def message_blocks(problem: Problem, incidents: Sequence[str]) -> list[b.Block]:
    """The problem's one channel message (its buttons are added to it by handlers.kind)."""
    resolved = problem.state is ProblemStatus.RESOLVED or problem.state is ProblemStatus.CLOSED
    how = problem.resolved_by_change or problem.resolution_note or ""
    return rb.record_message(
        problem,
        title_line(problem),
        [
            ("Priority", priority.name(problem.priority)),
            ("Status", problem.state.label),
            ("Service", b.user_text(problem.service) or "—"),
            ("Item", b.user_text(problem.item_key) or "—"),
            ("Linked incidents", b.user_text(", ".join(incidents)) or "—"),
        ],
        texts=[("Root cause", problem.root_cause), ("Workaround", problem.workaround)],
        after=[b.context(f"Resolved: {b.user_text(how)}")] if resolved else [],
        raised=True,
    )


def step_texts(problem: Problem, who: str) -> dict[str, str]:
    return {
        "investigate": f"{who} is investigating {problem.key}.",
        "known_error": f"{who} recorded {problem.key} as a known error. Workaround: "
        f"{b.user_text(problem.workaround)}",
        "resolve": f"{who} resolved {problem.key}"
        + (f" by {b.user_text(problem.resolved_by_change)}" if problem.resolved_by_change else "")
        + (f": {b.user_text(problem.resolution_note)}" if problem.resolution_note else "."),
        "close": f"{who} closed {problem.key}.",
        "created": f"{who} raised {problem.key}: {b.user_text(problem.title)}",
    }


def incident_thread_text(action: str, problem: Problem) -> str:
    """What a linked incident's thread is told."""
    if action == "known_error":
        return (
            f":bulb: {problem.key} is a known error. Root cause: "
            f"{b.user_text(problem.root_cause)}\n*Workaround*: {b.user_text(problem.workaround)}"
        )
    how = b.user_text(problem.resolved_by_change or problem.resolution_note or "")
    return f":white_check_mark: The problem behind this incident, {problem.key}, is resolved: {how}"


def proposal_text(finding: TrendFinding) -> str:
    kind, _, target = finding.target.partition(":")
    return (
        f":repeat: {len(finding.incident_keys)} incidents on {b.user_text(kind)} "
        f"{b.user_text(target)} "
        f"({b.user_text(', '.join(finding.incident_keys))}): is there a problem behind them?"
    )


def proposal_blocks(finding: TrendFinding) -> list[b.Block]:
    return [
        b.section(proposal_text(finding)),
        b.actions(
            f"problem_proposal|{finding.proposal_id}",
            [
                b.button(
                    "Raise problem",
                    Action.RAISE_PROPOSAL,
                    str(finding.proposal_id),
                    style="primary",
                )
            ],
        ),
    ]


def list_line(p: Problem) -> str:
    service = b.user_text(p.service) if p.service else None
    item = b.user_text(p.item_key) if p.item_key else None
    return rb.list_line(p.key, b.user_text(p.title), f"P{p.priority}", p.state.label, service, item)


def known_error_blocks(found: Sequence[Problem], search: str | None) -> list[b.Block]:
    heading = "Known errors" + (f" mentioning “{b.user_text(search)}”" if search else "")
    if not found:
        return [b.section(f"{heading}: none.")]
    lines = [
        f"*{p.key}* {b.user_text(p.title)}"
        + (f" ({b.user_text(p.service or p.item_key)})" if p.service or p.item_key else "")
        + f"\n> Workaround: {b.user_text(p.workaround)}"
        for p in found
    ]
    return [b.section(f"*{heading}* ({len(found)})"), b.section("\n".join(lines))]


def show_blocks(
    problem: Problem, incidents: Sequence[str], trail: Sequence[AuditEntry]
) -> list[b.Block]:
    description = rb.text_sections([("Description", problem.description)])
    return rb.show_with_trail([*message_blocks(problem, incidents), *description], trail)


PRIORITIES = [(priority.name(p), str(p)) for p in range(1, 6)]


def new_problem_modal(
    *,
    title: str = "",
    description: str = "",
    target: str | None = None,
    priority: int = 3,
    incident: str | None = None,
) -> dict:
    blocks_: list[b.Block] = []
    if incident:
        blocks_.append(b.context(f"Raised from {b.user_text(incident)}; it will be linked."))
    blocks_ += [
        rb.title_block(Field.TITLE, max_length=TITLE_MAX, initial=title),
        rb.text_block(
            Field.DESCRIPTION, "Description", max_length=3000, optional=True, initial=description
        ),
        b.input_block(Field.TARGET, "Service or item", item_select(initial=target), optional=True),
        rb.select_block(Field.PRIORITY, "Priority", PRIORITIES, initial=str(priority)),
    ]
    metadata = RecordRef(key=incident or "new").dump()
    return b.modal(View.NEW, "New problem", blocks_, submit="Raise", private_metadata=metadata)


def known_error_modal(problem: Problem, ref: RecordRef) -> dict:
    inputs = [
        rb.text_block(Field.ROOT_CAUSE, "Root cause", max_length=3000),
        rb.text_block(
            Field.WORKAROUND,
            "Workaround",
            max_length=3000,
            hint="Posted in every linked open incident's thread.",
        ),
    ]
    title = f"Known error {problem.key}"
    return rb.record_form(
        View.KNOWN_ERROR, title, title_line(problem), inputs, submit="Record", ref=ref
    )


def resolve_modal(problem: Problem, ref: RecordRef) -> dict:
    inputs = [
        rb.text_block(
            Field.CHANGE,
            "Change",
            max_length=32,
            multiline=False,
            optional=True,
            placeholder="CHG-12",
        ),
        rb.text_block(Field.NOTE, "How it was fixed", max_length=3000, optional=True),
    ]
    title = f"Resolve {problem.key}"
    return rb.record_form(
        View.RESOLVE, title, title_line(problem), inputs, submit="Resolve", ref=ref
    )


def link_modal(problem: Problem, ref: RecordRef) -> dict:
    incident = rb.text_block(
        Field.INCIDENT, "Incident", max_length=32, multiline=False, placeholder="INC-12"
    )
    title = f"Link to {problem.key}"
    return rb.record_form(View.LINK, title, title_line(problem), [incident], submit="Link", ref=ref)
