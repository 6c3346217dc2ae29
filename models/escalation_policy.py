"""The `[escalation]` section of the policy file: who hears about SLA stages, and paging."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.policy_types import Strict
from models.sla_policy import Duration


class Audience(StrEnum):
    """Who an SLA notification goes to, resolved per incident when the stage fires."""

    ASSIGNEE = "assignee"  # falls back to the on-call when nobody is assigned
    ON_CALL = "on_call"  # the service's on-call, else its team's
    TEAM_LEAD = "team_lead"
    ESCALATION_CHANNEL = "escalation_channel"
    INCIDENT_CHANNEL = "incident_channel"  # the incident's own thread, else channels.incidents


class SlaRecipients(Strict):
    """Audiences per warning percentage (from `sla.warn_at`), at the breach, and for the
    reminders after it. A warning percentage without an entry uses the highest listed below it."""

    warn: dict[int, list[Audience]] = Field(
        default_factory=lambda: {
            50: [Audience.ASSIGNEE],
            75: [Audience.ASSIGNEE, Audience.ON_CALL],
        }
    )
    breach: list[Audience] = Field(
        default_factory=lambda: [
            Audience.ESCALATION_CHANNEL,
            Audience.ON_CALL,
            Audience.TEAM_LEAD,
        ],
        min_length=1,
    )
    reminder: list[Audience] | None = None  # None: the same as `breach`

    def for_warning(self, percent: int) -> list[Audience]:
        below = [p for p in self.warn if p <= percent]
        if below:
            return self.warn[max(below)]
        return self.warn[min(self.warn)] if self.warn else [Audience.ASSIGNEE]

    @property
    def for_reminder(self) -> list[Audience]:
        return self.reminder if self.reminder is not None else self.breach


class EscalationPolicy(Strict):
    """How long a page waits for an acknowledgement before the next rung of the team's
    `escalation_ladder` is paged, and who hears about SLA stages."""

    page_ack_timeout: Duration = Field(default="10m", validate_default=True)
    # A notification sent later than its due time by more than this is marked late (shown as
    # "late by …" and counted in /servicedesk availability).
    late_grace: Duration = Field(default="15s", validate_default=True)
    sla_recipients: SlaRecipients = Field(default_factory=SlaRecipients)
