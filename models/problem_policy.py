"""The problems section of the policy file: when repeated incidents suggest a problem."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from models.policy_types import Strict
from models.sla_policy import Duration


class ProblemPolicy(Strict):
    trend_incidents: Annotated[int, Field(ge=2, le=100)] = 3
    trend_window: Duration = Field(default=timedelta(hours=24))
