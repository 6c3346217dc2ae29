"""Capacity measurements and where each required metric stands. The requirements themselves live
in the policy file (`[[capacity]]`); these rows are the measurements, each metric's level and
forecast, and every threshold crossing or forecast alert raised (the evidence for clause 6.5).

Items are stored lower-cased (`item`), so `Payments` and `payments` are one item, as in the
policy file and the CMDB."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Float, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime

KEY_PREFIX = "CAP"


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"ok": 0, "warning": 1, "critical": 2}[self.value]


class AlertKind(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"
    FORECAST = "forecast"


class CapacityMeasurement(SQLModel, table=True):
    """One value of one metric at one time. (item, metric, at) is unique: a value sent twice
    (a retried POST, a file imported again) is stored once. That unique index is also the one
    the latest and last-N reads walk."""

    __tablename__ = "capacity_measurement"
    __table_args__ = (
        UniqueConstraint("item", "metric", "at", name="uq_capacity_measurement_item_metric_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item: str = Field(max_length=100)
    metric: str = Field(max_length=60)
    at: datetime = Field(sa_type=UTCDateTime)
    value: float = Field(sa_column=Column(Float, nullable=False))
    source: str = Field(max_length=200)  # "http", or "import FILE"
    recorded_at: datetime = Field(sa_type=UTCDateTime, index=True)


class CapacityState(SQLModel, table=True):
    """Where one required metric stands: its level (ok, warning, critical) by its latest
    measurement, the trend's forecast, and whether the forecast alert is raised. The row is
    locked while a measurement is evaluated, so two replicas count one crossing once."""

    __tablename__ = "capacity_state"
    __table_args__ = (UniqueConstraint("item", "metric", name="uq_capacity_state_item_metric"),)

    id: int | None = Field(default=None, primary_key=True)
    item: str = Field(max_length=100)
    metric: str = Field(max_length=60)
    level: str = Field(default=Level.OK.value, max_length=10)
    latest_value: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    latest_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the fitted trend reaches the critical threshold (None: it does not, or too few
    # measurements); `forecast_raised` while that lies within the horizon.
    forecast_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    forecast_raised: bool = Field(default=False)
    # Alerts raised so far: each crossing takes the next number (its outbox stage).
    alerts: int = Field(default=0)
    # The incident the last critical crossing opened.
    incident_key: str | None = Field(default=None, max_length=20)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"


class CapacityAlert(SQLModel, table=True):
    """One crossing: a warning told to the owner, a critical one that opened (or joined) an
    incident, or a forecast inside the horizon. Unique per (state, number)."""

    __tablename__ = "capacity_alert"
    __table_args__ = (UniqueConstraint("state_id", "number", name="uq_capacity_alert_number"),)

    id: int | None = Field(default=None, primary_key=True)
    state_id: int = Field(
        sa_column=Column(Integer, ForeignKey("capacity_state.id"), nullable=False, index=True)
    )
    number: int
    item: str = Field(max_length=100)
    metric: str = Field(max_length=60)
    kind: str = Field(max_length=10)
    value: float = Field(sa_column=Column(Float, nullable=False))
    measured_at: datetime = Field(sa_type=UTCDateTime)
    forecast_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recipient: str | None = Field(default=None, max_length=80)
    incident_key: str | None = Field(default=None, max_length=20)
    raised_at: datetime = Field(sa_type=UTCDateTime, index=True)
