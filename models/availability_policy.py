"""Availability and continuity tests in the policy file: per-service tests and the
`[availability]` section (how often overdue tests are chased, when they are escalated, how
URL checks behave)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from croniter import croniter
from pydantic import AfterValidator, Field, field_validator

from models.policy_types import USER_OR_GROUP, Strict
from models.sla_policy import Duration, parse_duration


class TestKind(StrEnum):
    AVAILABILITY = "availability"
    CONTINUITY = "continuity"


class ServiceTest(Strict):
    """One test of a service, run by its owner on a schedule (or by the bot, with a URL)."""

    name: Annotated[str, Field(min_length=1, max_length=60)]
    kind: TestKind = TestKind.AVAILABILITY
    # A five-field cron expression ("0 9 * * mon") or an interval ("7d", "12h").
    schedule: str
    owner: str
    url: str | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        value = value.strip()
        if len(value.split()) == 5:
            if not croniter.is_valid(value):
                raise ValueError(f"'{value}' is not a valid cron expression")
            return value
        try:
            parse_duration(value)
        except ValueError as error:
            raise ValueError(
                f"'{value}' is neither a cron expression (like \"0 9 * * mon\") nor an "
                f'interval (like "7d"): {error}'
            ) from None
        return value

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        if not USER_OR_GROUP.match(value):
            raise ValueError(f"'{value}' is not a Slack user id (U…/W…) or user group id (S…)")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"'{value}' is not an http:// or https:// URL")
        return value

    @property
    def is_cron(self) -> bool:
        return len(self.schedule.split()) == 5

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after `moment` the test falls due (UTC)."""
        if self.is_cron:
            return croniter(self.schedule, moment).get_next(datetime)
        return moment + parse_duration(self.schedule)

    def latest_due(self, *, after: datetime, now: datetime) -> datetime | None:
        """The last time in (after, now] the test fell due, or None when it has not since
        `after`. A bot that was down for several intervals gets one time, not one per interval."""
        first = self.next_after(after)
        if first > now:
            return None
        if self.is_cron:
            # croniter's get_prev is strictly before its start; a second later includes `now`.
            latest = croniter(self.schedule, now + timedelta(seconds=1)).get_prev(datetime)
            return max(latest, first)
        interval = parse_duration(self.schedule)
        return after + interval * ((now - after) // interval)


def _unique_names(tests: list[ServiceTest]) -> list[ServiceTest]:
    seen: set[str] = set()
    for index, test in enumerate(tests):
        if test.name.lower() in seen:
            raise ValueError(f"tests[{index}].name: '{test.name}' is defined twice")
        seen.add(test.name.lower())
    return tests


ServiceTests = Annotated[list[ServiceTest], AfterValidator(_unique_names)]


class AvailabilityPolicy(Strict):
    chase_every: Duration = Field(default="1d", validate_default=True)
    escalate_after: Duration = Field(default="3d", validate_default=True)
    check_timeout: Duration = Field(default="10s", validate_default=True)
    failures_before_incident: Annotated[int, Field(ge=1, le=100)] = 2
