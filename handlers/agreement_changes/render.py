"""What people read when raising an agreement change from a review: the button on a recorded
review and the form. The review's words and names are escaped where put into mrkdwn; the form
is prefilled with them as typed."""

from __future__ import annotations

from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.changes.fields import backout_input, implementer_input, window_inputs
from models.carried import RecordRef
from models.change import Risk
from services.agreement_changes import Origin

RAISE_ACTION = "agreement_change_raise"
VIEW = "agreement_change_view"
RISKS = [(r.value.capitalize(), r.value) for r in Risk]


class F:
    """Field ids of the form (the change service's FieldError names)."""

    TITLE = "title"
    DESCRIPTION = "description"
    AGREEMENT = "agreement"
    RISK = "risk"
    START = "planned_start"
    END = "planned_end"
    BACKOUT = "backout_plan"
    IMPLEMENTER = "implementer"


def raise_button(review_key: str) -> dict[str, Any]:
    """The button on a recorded review that raises its agreement change."""
    return b.button("Raise agreement change", RAISE_ACTION, RecordRef(key=review_key).dump())


def raised_text(review_key: str, change_key: str) -> str:
    return f"Agreement change {b.user_text(change_key)} raised from {b.user_text(review_key)}."


def raise_modal(found: Origin) -> dict[str, Any]:
    """Raise a change of type agreement from the review `found`."""
    fields: list[b.Block] = [
        b.section(
            f"From the review of *{b.user_text(found.subject)}* on "
            f"{found.reviewed_on.isoformat()} ({b.user_text(found.key)})"
        ),
        b.input_block(
            F.TITLE,
            "Title",
            b.text_input(F.TITLE, initial=f"Agreement change for {found.subject}"[:150]),
        ),
        b.input_block(
            F.DESCRIPTION,
            "What is to change (requirements or agreement)",
            b.text_input(F.DESCRIPTION, multiline=True, initial=found.outcome[:3000]),
        ),
    ]
    if found.agreements:
        fields.append(
            rb.select_block(
                F.AGREEMENT, "Agreement", [(name, name) for name in found.agreements], optional=True
            )
        )
    fields += [
        rb.select_block(F.RISK, "Risk", RISKS),
        *window_inputs(),
        backout_input(),
        implementer_input(),
    ]
    return b.modal(
        VIEW,
        "Agreement change",
        fields,
        submit="Raise change",
        private_metadata=RecordRef(key=found.key).dump(),
    )
