"""Action, view and field ids for service requests."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    CHOOSE = "request_choose"
    APPROVE = "request_approve"
    REJECT = "request_reject"
    START = "request_start"
    FULFIL = "request_fulfil"
    CLOSE = "request_close"


class View(StrEnum):
    FORM = "request_form"
    REJECT = "request_reject_view"
    FULFIL = "request_fulfil_view"


class Field(StrEnum):
    REASON = "reason"
    NOTE = "note"
