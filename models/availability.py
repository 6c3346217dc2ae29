"""Availability and continuity tests: each run a test falls due, the bot's URL checks, and the
per-test state the sweep and the checks keep (durable, so a restart or a second bot instance
neither loses nor repeats anything)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.carried import Carried

KEY_PREFIX = "TST"


class RunStatus(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"
    OVERDUE = "overdue"

    @property
    def label(self) -> str:
        return {
            "pending": "Pending",
            "passed": "Passed",
            "failed": "Failed",
            "overdue": "Overdue",
        }[self.value]


OPEN_RUN_STATUSES = (RunStatus.PENDING, RunStatus.OVERDUE)


class TestRun(SQLModel, table=True):
    """One time a test fell due, and what its owner recorded."""

    __test__ = False  # not a pytest class
    __tablename__ = "test_run"
    __table_args__ = (
        # Two bot instances sweeping at once create one run for a due time.
        UniqueConstraint("service", "test_name", "due_at", name="uq_test_run_due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=100, index=True)
    test_name: str = Field(max_length=60, index=True)
    kind: str = Field(max_length=20)
    owner: str = Field(max_length=32)
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default=RunStatus.PENDING.value, max_length=12, index=True)
    # Created after the bot was down past its due time (one run however many were missed).
    late: bool = Field(default=False)
    recorded_by: str | None = Field(default=None, max_length=32)
    recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    incident_key: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}-{self.id}"

    @property
    def state(self) -> RunStatus:
        return RunStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_RUN_STATUSES


class UrlCheck(SQLModel, table=True):
    """One HTTP check the bot made of a test's URL."""

    __tablename__ = "url_check"
    __table_args__ = (Index("ix_url_check_service_at", "service", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=100, index=True)
    test_name: str = Field(max_length=60)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    ok: bool
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=300)
    latency_ms: int | None = Field(default=None)


class TestState(SQLModel, table=True):
    """Per service and test: when the bot first saw it (the anchor of its first due time) and,
    for URL tests, when the next check is due and the current failure streak."""

    __test__ = False
    __tablename__ = "test_state"
    __table_args__ = (UniqueConstraint("service", "test_name", name="uq_test_state"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=100, index=True)
    test_name: str = Field(max_length=60)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    consecutive_failures: int = Field(default=0)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The incident the current failure streak opened; cleared on recovery.
    incident_key: str | None = Field(default=None, max_length=32, index=True)


class TestRunRef(Carried):
    """Which run a Passed / Failed button or the failure modal is about, and (in the modal)
    where the reminder it came from lives, to update it once the outcome is recorded."""

    __test__ = False

    run: int
    channel: str | None = None
    ts: str | None = None
