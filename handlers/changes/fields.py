"""Inputs every change form shares (the plain, service and agreement change forms): the
planned window, the backout plan, the implementer. Block and action ids are the change
service's field names, so its FieldErrors land next to them."""

from __future__ import annotations

from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.changes.ids import Field


def window_inputs() -> list[b.Block]:
    """Planned start and end (optional: a change is scheduled in a window before approval)."""
    return [
        b.input_block(
            field,
            label,
            {"type": "datetimepicker", "action_id": field.value},
            optional=True,
        )
        for field, label in ((Field.START, "Planned start"), (Field.END, "Planned end"))
    ]


def backout_input(*, optional: bool = False, hint: str | None = None) -> b.Block:
    return rb.text_block(
        Field.BACKOUT, "Backout plan", max_length=3000, optional=optional, hint=hint
    )


def implementer_input() -> b.Block:
    element: dict[str, Any] = {
        "type": "users_select",
        "action_id": Field.IMPLEMENTER.value,
        "placeholder": b.plain("Who carries it out"),
    }
    return b.input_block(Field.IMPLEMENTER, "Implementer", element, optional=True)
