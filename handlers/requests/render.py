"""Everything a person reads about service requests in Slack: catalog, forms, DMs, lists.

Every value a person or a file supplied (titles, answers, reasons, notes, catalog wording)
goes through `b.user_text` where it is put into mrkdwn; modal initial values stay as typed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers.incidents.render import notification_line
from handlers.kind import record_form, text_block
from handlers.requests.ids import Action, Field, View
from models.audit import AuditEntry
from models.carried import RecordRef
from models.notification import Notification
from models.request_policy import CatalogItem, FieldKind, FormField
from models.service_request import RequestStatus, ServiceRequest
from services.requests import answers_of

USAGE = "\n".join(
    [
        "*Service requests*",
        "`/request` — the catalog: choose what you need and fill in its form",
        "`/request <item id>` — open that item's form at once",
        "`/request list [all]` — your open requests (or every open one)",
        "`/request show REQ-5` — one request and its audit trail",
        "`/request help` — this text",
    ]
)


def catalog_blocks(items: Sequence[CatalogItem]) -> list[b.Block]:
    if not items:
        return [b.section("The request catalog is empty; ask an admin to add items.")]
    out: list[b.Block] = [b.section("*What do you need?*")]
    for item in items:
        approval = "needs approval" if item.needs_approval else "no approval needed"
        block = b.section(
            f"*{b.user_text(item.name)}* (`{b.user_text(item.id)}`)\n"
            f"{b.user_text(item.description)}\n_{approval}_"
        )
        block["accessory"] = b.button("Request", Action.CHOOSE, item.id)
        out.append(block)
    return out[:50]


def _element(form_field: FormField) -> dict[str, Any]:
    name = form_field.name
    if form_field.kind is FieldKind.TEXTAREA:
        return b.text_input(name, multiline=True, max_length=3000)
    if form_field.kind is FieldKind.SELECT:
        return b.static_select(name, [(o, o) for o in form_field.options])
    if form_field.kind is FieldKind.USER:
        return {"type": "users_select", "action_id": name, "placeholder": b.plain("Choose")}
    if form_field.kind is FieldKind.DATE:
        return {"type": "datepicker", "action_id": name}
    return b.text_input(name, max_length=500)


# The optional configuration item a request is about (a type-ahead over the CMDB); the name
# cannot clash with a catalog field's, which are plain words.
ABOUT_ITEM = "about_item"


def form_modal(item: CatalogItem) -> dict:
    """The item's form, one input per field; block and action ids are the field names."""
    blocks_: list[b.Block] = []
    if item.description:
        blocks_.append(b.section(b.user_text(item.description)))
    for form_field in item.fields:
        blocks_.append(
            b.input_block(
                form_field.name,
                form_field.label,
                _element(form_field),
                optional=not form_field.required,
            )
        )
    if not item.fields:
        blocks_.append(b.section("No details needed: submit to ask for it."))
    blocks_.append(
        b.input_block(
            ABOUT_ITEM,
            "Which service or system is it about?",
            {
                "type": "external_select",
                "action_id": ABOUT_ITEM,
                "placeholder": b.plain("Service or item"),
                "min_query_length": 0,
            },
            optional=True,
        )
    )
    return b.modal(
        View.FORM,
        item.name,
        blocks_,
        submit="Request",
        private_metadata=RecordRef(key=item.id).dump(),
    )


def answers_text(request: ServiceRequest, item: CatalogItem | None) -> str:
    lines = []
    for name, value in answers_of(request).items():
        form_field = item.field(name) if item else None
        label = form_field.label if form_field else name
        if form_field and form_field.kind is FieldKind.USER:
            shown = b.user(value, nobody="—")
        else:
            shown = b.user_text(value)
        lines.append(f"*{b.user_text(label)}*: {shown}")
    return "\n".join(lines) or "_no details_"


def summary(request: ServiceRequest) -> str:
    return f"*{request.key}* · {b.user_text(request.title)} — {request.state.label}"


def approval_blocks(request: ServiceRequest, item: CatalogItem | None) -> list[b.Block]:
    value = RecordRef(key=request.key).dump()
    return [
        b.section(
            f":inbox_tray: {b.user(request.requester)} asks for *{b.user_text(request.title)}* "
            f"({request.key}). "
            "Please approve or reject."
        ),
        b.section(answers_text(request, item)),
        b.actions(
            f"request_approval|{request.key}",
            [
                b.button("Approve", Action.APPROVE, value, style="primary"),
                b.button("Reject", Action.REJECT, value, style="danger"),
            ],
        ),
    ]


def fulfilment_blocks(request: ServiceRequest, item: CatalogItem | None) -> list[b.Block]:
    """The fulfilment team's message, with the button the request's state allows."""
    value = RecordRef(key=request.key).dump()
    out: list[b.Block] = [
        b.section(
            f":package: {summary(request)}, requested by {b.user(request.requester)}"
            + (f", assigned to {b.user(request.assignee)}" if request.assignee else "")
        ),
        b.section(answers_text(request, item)),
    ]
    if request.agreement:
        out.append(
            b.context(
                f"Service {b.user_text(request.service)} · agreement {b.user_text(request.agreement)}"
            )
        )
    if request.fulfilment_note:
        out.append(b.context(f"Fulfilled: {b.user_text(request.fulfilment_note)}"))
    state = request.state
    button = None
    if state is RequestStatus.APPROVED:
        button = b.button("Start fulfilment", Action.START, value, style="primary")
    elif state is RequestStatus.IN_FULFILMENT:
        button = b.button("Fulfil", Action.FULFIL, value, style="primary")
    elif state is RequestStatus.FULFILLED:
        button = b.button("Close", Action.CLOSE, value)
    if button:
        out.append(b.actions(f"request_fulfilment|{request.key}", [button]))
    return out


def requester_text(step: str, request: ServiceRequest, actor: str | None = None) -> str:
    """The direct message the requester gets at each step."""
    who = b.user(actor, nobody="someone")
    title = b.user_text(request.title)
    team = b.user_text(request.fulfilment_team)
    texts = {
        "submitted": f"You asked for *{title}*: {request.key}. "
        + (
            "It awaits approval."
            if request.state is RequestStatus.AWAITING_APPROVAL
            else f"Team {team} will take it from here."
        ),
        "approved": f"{who} approved {request.key} ({title}); team {team} will fulfil it.",
        "rejected": f"{who} rejected {request.key} ({title}): "
        f"{b.user_text(request.decision_reason)}",
        "start": f"{who} started work on {request.key} ({title}).",
        "fulfil": f"{request.key} ({title}) is fulfilled: {b.user_text(request.fulfilment_note)}",
        "close": f"{request.key} ({title}) is closed.",
    }
    return texts[step]


def list_line(r: ServiceRequest) -> str:
    return (
        f"{summary(r)}, by {b.user(r.requester)}, "
        f"{b.slack_time(r.submitted_at, fmt='{date_short}')}"
    )


def show_blocks(
    request: ServiceRequest,
    item: CatalogItem | None,
    trail: Sequence[AuditEntry],
    sla: tuple[Any, Any] | None = None,
    sent: Sequence[Notification] = (),
) -> list[b.Block]:
    out = [
        b.section(
            summary(request),
            fields=[
                f"*Requester*\n{b.user(request.requester)}",
                f"*Approver*\n{b.ref(request.approver) if request.approver else '—'}",
                f"*Team*\n{b.user_text(request.fulfilment_team)}",
                f"*Assignee*\n{b.user(request.assignee)}",
                f"*Service*\n{b.user_text(request.service) or '—'}",
                f"*Agreement*\n{b.user_text(request.agreement) or '—'}",
            ],
        ),
        b.section(answers_text(request, item)),
    ]
    if sla is not None:
        response, fulfilment = sla
        out.append(
            b.section(
                "*SLA*\n"
                + b.sla_line("response", response)
                + "\n"
                + b.sla_line("fulfilment", fulfilment)
            )
        )
    if sent:
        out.append(b.section(f"*Notifications* ({len(sent)})"))
        out += b.line_sections([notification_line(row) for row in sent])[:5]
    return out + b.audit_trail(trail, room=50 - len(out))


def reject_modal(request: ServiceRequest, ref: RecordRef) -> dict:
    inputs = [text_block(Field.REASON, "Why", hint="The requester will see this.")]
    title = f"Reject {request.key}"
    return record_form(View.REJECT, title, summary(request), inputs, submit="Reject", ref=ref)


def fulfil_modal(request: ServiceRequest, ref: RecordRef) -> dict:
    inputs = [text_block(Field.NOTE, "What was done")]
    title = f"Fulfil {request.key}"
    return record_form(View.FULFIL, title, summary(request), inputs, submit="Fulfilled", ref=ref)
