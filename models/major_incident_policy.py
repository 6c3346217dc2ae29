"""The major_incidents section of the policy file: when an incident becomes major, how often
its commander posts a status update, when the review is due, who hears about it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, field_validator

from models.policy_types import SlackRef, Strict
from models.sla_policy import PRIORITIES, Duration

DEFAULT_UPDATE_EVERY = {"P1": timedelta(minutes=30), "P2": timedelta(hours=1)}


class MajorIncidentPolicy(Strict):
    # Incidents logged at these priorities are major from the start.
    priorities: list[Annotated[int, Field(ge=1, le=5)]] = [1]
    # How often the commander posts a status update, by priority (P3… default to one_hour).
    update_every: dict[str, Duration] = Field(default_factory=lambda: dict(DEFAULT_UPDATE_EVERY))
    # A status update this late is escalated to the team lead.
    missed_after: Duration = Field(default=timedelta(minutes=10))
    # The review (PIR) is due within this many business days of the resolution.
    review_within: Annotated[int, Field(ge=1, le=60)] = 5
    # Closing the review archives the incident's channel.
    archive_channel: bool = True
    # The dedicated channel's name starts with this ("inc" → inc-42-payments-timeouts).
    channel_prefix: Annotated[str, Field(min_length=1, max_length=20)] = "inc"
    # People to tell of status updates, per customer of the [[agreements]] covering a service.
    customer_contacts: dict[str, list[SlackRef]] = {}

    @field_validator("update_every", mode="before")
    @classmethod
    def _priority_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        cleaned = dict(DEFAULT_UPDATE_EVERY)
        for key, every in value.items():
            name = str(key).strip().upper()
            if name not in PRIORITIES:
                raise ValueError(f"unknown priority {key!r}; use P1 to P5")
            cleaned[name] = every
        return cleaned

    @field_validator("channel_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", value):
            raise ValueError(
                f"'{value}' cannot start a Slack channel name; use lower-case letters, digits, "
                "hyphens and underscores"
            )
        return value

    def every(self, priority: int) -> timedelta:
        """How often a major incident of this priority gets a status update."""
        return self.update_every.get(f"P{priority}", timedelta(hours=1))
