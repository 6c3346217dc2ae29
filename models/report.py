"""Scheduled service reports: the claim that makes each one go out once per period."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.change import Change
from models.incident import Incident
from models.problem import Problem
from models.sla_timer import SlaTimer


class RunStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"


class ReportRun(SQLModel, table=True):
    """One scheduled report for one period. The unique (name, period start) is claimed before
    the report is built and sent, so several bot instances, or a restart, send it once."""

    __tablename__ = "report_run"
    __table_args__ = (UniqueConstraint("report_name", "period_start", name="uq_report_run_period"),)

    id: int | None = Field(default=None, primary_key=True)
    report_name: str = Field(max_length=60)
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=RunStatus.SENDING.value, max_length=12, index=True)
    claimed_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel: str = Field(max_length=80)


OUTAGES = text("impact = 'high'")

# Indexes the report's range queries need on other record kinds' tables, declared here with
# the reason they exist (an Index built from a table's columns attaches to that table).
REPORT_INDEXES = (
    # A month's incidents: counted by priority and service, and timed to acknowledgement,
    # from the index alone (no table reads).
    Index(
        "ix_incident_report_logged",
        Incident.created_at,  # type: ignore[arg-type]
        Incident.status,  # type: ignore[arg-type]
        Incident.priority,  # type: ignore[arg-type]
        Incident.service,  # type: ignore[arg-type]
        Incident.acknowledged_at,  # type: ignore[arg-type]
    ),
    # A service-scoped report reads one service's incidents of a period.
    Index("ix_incident_service_created", Incident.service, Incident.created_at),  # type: ignore[arg-type]
    # MTTR and outages read incidents resolved in (or after) the period.
    Index(
        "ix_incident_resolved_created",
        Incident.resolved_at,  # type: ignore[arg-type]
        Incident.created_at,  # type: ignore[arg-type]
        Incident.service,  # type: ignore[arg-type]
        Incident.impact,  # type: ignore[arg-type]
        Incident.status,  # type: ignore[arg-type]
    ),
    # Outages and the backlog read the incidents still open, logged before a moment.
    Index(
        "ix_incident_open_report",
        Incident.status,  # type: ignore[arg-type]
        Incident.created_at,  # type: ignore[arg-type]
        Incident.service,  # type: ignore[arg-type]
        Incident.impact,  # type: ignore[arg-type]
        Incident.closed_at,  # type: ignore[arg-type]
    ),
    # Outages (high-impact incidents) logged in a period, and those still open, read from
    # two partial indexes holding only them (the query writes impact = 'high' as a literal).
    Index(
        "ix_incident_outage_logged",
        Incident.service,  # type: ignore[arg-type]
        Incident.created_at,  # type: ignore[arg-type]
        Incident.resolved_at,  # type: ignore[arg-type]
        Incident.status,  # type: ignore[arg-type]
        Incident.impact,  # type: ignore[arg-type]
        sqlite_where=OUTAGES,
        postgresql_where=OUTAGES,
    ),
    Index(
        "ix_incident_outage_open",
        Incident.status,  # type: ignore[arg-type]
        Incident.service,  # type: ignore[arg-type]
        Incident.created_at,  # type: ignore[arg-type]
        Incident.resolved_at,  # type: ignore[arg-type]
        Incident.impact,  # type: ignore[arg-type]
        sqlite_where=OUTAGES,
        postgresql_where=OUTAGES,
    ),
    # SLA attainment reads each incident's two timers from the index alone.
    Index(
        "ix_sla_timer_report",
        SlaTimer.record_key,  # type: ignore[arg-type]
        SlaTimer.target,  # type: ignore[arg-type]
        SlaTimer.stopped_at,  # type: ignore[arg-type]
        SlaTimer.due_at,  # type: ignore[arg-type]
        SlaTimer.breached_at,  # type: ignore[arg-type]
    ),
    Index("ix_change_implemented_at", Change.implemented_at),  # type: ignore[arg-type]
    Index("ix_problem_resolved_at", Problem.resolved_at),  # type: ignore[arg-type]
    Index("ix_problem_known_error_at", Problem.known_error_at),  # type: ignore[arg-type]
)
