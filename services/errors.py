"""Errors a service raises; each carries a sentence fit to show the person who tried."""

from __future__ import annotations


class ServiceDeskError(Exception):
    """Base: `str(error)` is a plain explanation for the person in Slack, shown as mrkdwn;
    anything it quotes from what the person typed is escaped with services.mrkdwn.user_text."""


class NotFound(ServiceDeskError):
    pass


class InvalidInput(ServiceDeskError):
    pass


class NotAllowed(ServiceDeskError):
    """The lifecycle does not allow this move from the record's current state."""


class Forbidden(ServiceDeskError):
    """This person may not do this to this record. Raised by the service that makes the change
    (a handler may raise it earlier, never instead); reads "Refused, because …"."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

    def __str__(self) -> str:
        # "You requested…" reads "because you requested…"; a key or an acronym ("INC-2 is…",
        # "CAB members…") keeps its capitals.
        first = self.reason.split(" ", 1)[0]
        if first[1:] == first[1:].lower():
            return f"Refused, because {self.reason[:1].lower()}{self.reason[1:]}"
        return f"Refused, because {self.reason}"


class FieldError(InvalidInput):
    """Bad input in one form field: handlers show `str(error)` next to `field` (the form's
    block id) when the form has that block."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AlreadyDone(ServiceDeskError):
    """The same decision or step was already recorded (a double click, a retry)."""
