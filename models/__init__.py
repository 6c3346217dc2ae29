"""Every table, imported here so that SQLModel.metadata (and Alembic) sees them all."""

from models import cmdb, links, problem, service_request  # noqa: F401  (issue 5 tables)
from models.audit import AuditEntry
from models.incident import Incident, SlaPause

__all__ = ["AuditEntry", "Incident", "SlaPause"]
