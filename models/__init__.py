"""Every table, imported here so that SQLModel.metadata (and Alembic) sees them all."""

from models import cmdb, links, problem, service_request  # noqa: F401  (issue 5 tables)
from models.audit import AuditEntry
from models.change import Change, ChangeApproval, ChangeApprovalMessage, ChangeTarget  # noqa: F401
from models.incident import Incident, SlaPause
from models.links import RecordLink  # noqa: F401
from models.release import Release, ReleaseChange, ReleaseTest  # noqa: F401

__all__ = ["AuditEntry", "Incident", "SlaPause"]
