"""Capacity requirements in the policy file (`[[capacity]]`, ISO/IEC 20000-1 clause 6.5): for a
service or configuration item, a metric with its unit, warning and critical thresholds, which
way is worse, who is told, and how far ahead the trend is watched."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from models.policy_types import SlackRef, Strict
from models.sla_policy import Duration

# Measured values and thresholds stay within this, so sums of squares in the trend fit are
# exact enough and a typo of twenty digits is refused rather than stored.
VALUE_LIMIT = 1e12
METRIC = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,59}$")
ITEM_MAX = 100


def _finite(value: float) -> float:
    if not math.isfinite(value) or abs(value) > VALUE_LIMIT:
        raise ValueError(f"must be a number between -{VALUE_LIMIT:g} and {VALUE_LIMIT:g}")
    return value


Threshold = Annotated[float, Field(allow_inf_nan=False)]


class CapacityRequirement(Strict):
    """One metric of one service or configuration item. `direction = "up"` (the default):
    higher is worse (disk used, CPU); `"down"`: lower is worse (free space, headroom)."""

    item: Annotated[str, Field(min_length=1, max_length=ITEM_MAX)]
    metric: str
    unit: Annotated[str, Field(max_length=20)] = ""
    warning: Threshold
    critical: Threshold
    direction: Literal["up", "down"] = "up"
    owner: SlackRef | None = None
    # The trend is fitted to the last `window` measurements; a forecast reaching the critical
    # threshold within `horizon` raises a capacity alert.
    window: Annotated[int, Field(ge=3, le=1000)] = 10
    horizon: Duration = Field(default="30d", validate_default=True)

    @field_validator("item")
    @classmethod
    def _item(cls, value: str) -> str:
        cleaned = " ".join(value.split())
        if not cleaned:
            raise ValueError("names a service or configuration item")
        return cleaned

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        cleaned = value.strip().lower()
        if not METRIC.match(cleaned):
            raise ValueError(
                f"'{value[:60]}' is not a metric name: lower-case letters, digits, '_', '.' and "
                "'-', at most 60 (like disk_used or cpu.p95)"
            )
        return cleaned

    @field_validator("warning", "critical")
    @classmethod
    def _bounded(cls, value: float) -> float:
        return _finite(value)

    @field_validator("horizon")
    @classmethod
    def _horizon(cls, value: timedelta) -> timedelta:
        if not timedelta(hours=1) <= value <= timedelta(days=3660):
            raise ValueError("must be between 1h and 3660d")
        return value

    @model_validator(mode="after")
    def _order(self) -> CapacityRequirement:
        if self.direction == "up" and not self.warning < self.critical:
            raise ValueError(
                f"{self.item} {self.metric}: warning ({self.warning:g}) must be below critical "
                f"({self.critical:g}) when higher is worse (direction \"up\")"
            )
        if self.direction == "down" and not self.warning > self.critical:
            raise ValueError(
                f"{self.item} {self.metric}: warning ({self.warning:g}) must be above critical "
                f"({self.critical:g}) when lower is worse (direction \"down\")"
            )
        return self

    @property
    def key(self) -> tuple[str, str]:
        """(lower-cased item, metric): how measurements and state rows are stored."""
        return (self.item.lower(), self.metric)

    def worse(self, value: float, than: float) -> bool:
        """Whether `value` is at or past `than` in the worsening direction."""
        return value >= than if self.direction == "up" else value <= than


def check_capacity(requirements: list[CapacityRequirement]) -> None:
    """An item's metric is required once."""
    seen: set[tuple[str, str]] = set()
    for index, requirement in enumerate(requirements):
        if requirement.key in seen:
            raise ValueError(
                f"capacity[{index}]: {requirement.item} {requirement.metric} is defined twice"
            )
        seen.add(requirement.key)
