"""Small shapes the policy file's sections share: Slack references, names, strict models.
Kept apart from models/policy.py, which imports every section, so sections can use them too."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^([CGD][A-Z0-9]{2,}|#?[a-z0-9][a-z0-9._-]{0,79})$")


def _slack_ref(value: str) -> str:
    if not USER_OR_GROUP.match(value):
        raise ValueError(
            f"'{value}' is not a Slack user id (U…/W…) or user group id (S…); "
            "copy it from the person's or group's profile → ⋮ → Copy member/group ID"
        )
    return value


def _channel_ref(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError(f"'{value}' is not a channel id (C…) or channel name")
    return value


SlackRef = Annotated[str, AfterValidator(_slack_ref)]
ChannelRef = Annotated[str, AfterValidator(_channel_ref)]
Name = Annotated[str, Field(min_length=1, max_length=60)]


class Strict(BaseModel):
    """A policy section: unknown keys are refused (typos), values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)
