"""Typed data carried in button values and modal private_metadata, instead of ad-hoc strings:
what a click or a form is about, validated when it comes back."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class Carried(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def load(cls, raw: str | None) -> Carried | None:
        """None when the value is missing or not ours (an old message, a tampered value)."""
        if not raw:
            return None
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            return None


class RecordRef(Carried):
    """Which record a button or modal is about, and where its channel message lives."""

    key: str
    channel: str | None = None
    ts: str | None = None
