"""Every table, imported here so that SQLModel.metadata (and Alembic) sees them all."""

from models.audit import AuditEntry
from models.change import Change, ChangeApproval, ChangeTarget  # noqa: F401
from models.incident import Incident, SlaPause
from models.links import RecordLink  # noqa: F401
from models.release import Release, ReleaseChange, ReleaseTest  # noqa: F401

__all__ = ["AuditEntry", "Incident", "SlaPause"]
