"""The `[[reports]]` part of the policy file: reports the bot posts on a schedule."""

from __future__ import annotations

import re
from typing import Literal

from croniter import croniter
from pydantic import field_validator

from models.policy_types import ChannelRef, Name, Strict

SCOPE_KINDS = ("all", "service", "agreement", "customer")
_SCOPE = re.compile(r"^(all|everything|(service|agreement|customer):\s*\S.*)$", re.IGNORECASE)


class ScheduledReport(Strict):
    """A report posted to `channel` whenever `schedule` (cron, UTC) fires, covering `period`
    before that moment, for `scope`: "all", "service:NAME", "agreement:NAME" or
    "customer:NAME"."""

    name: Name
    schedule: str
    scope: str = "all"
    period: Literal["last month", "last week"] = "last month"
    channel: ChannelRef

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(
                f"'{value}' is not a cron expression; for example \"0 8 1 * *\" is 08:00 UTC "
                "on the first of every month"
            )
        return value

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        value = value.strip()
        if not _SCOPE.match(value):
            raise ValueError(
                f'\'{value}\' is not a report scope; use "all", "service:NAME", '
                '"agreement:NAME" or "customer:NAME"'
            )
        return value


def scope_parts(scope: str) -> tuple[str, str | None]:
    """("service", "payments") from "service:payments"; ("all", None) for everything."""
    kind, _, name = scope.partition(":")
    kind = kind.strip().lower()
    if kind in ("all", "everything") and not name:
        return "all", None
    return kind, name.strip()
