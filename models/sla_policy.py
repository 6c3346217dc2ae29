"""PLACEHOLDER until the sla-clock branch lands (it replaces this file)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | timedelta) -> timedelta:
    if isinstance(text, timedelta):
        return text
    total = 0
    for number, unit in re.findall(r"(\d+)\s*([smhdw])", str(text).lower()):
        total += int(number) * _UNITS[unit]
    if total <= 0:
        raise ValueError(f"'{text}' is not a duration")
    return timedelta(seconds=total)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class CalendarPolicy(BaseModel):
    timezone: str = "UTC"


class SlaTarget(BaseModel):
    response: Duration
    resolution: Duration
    calendar: Literal["24x7", "business"] = "24x7"


class SlaPolicy(BaseModel):
    P1: SlaTarget = SlaTarget(response="15m", resolution="4h")
