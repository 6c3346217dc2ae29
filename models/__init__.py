"""Every table, imported here so that SQLModel.metadata (and Alembic) sees them all."""

from models.audit import AuditEntry
from models.incident import Incident, SlaPause

__all__ = ["AuditEntry", "Incident", "SlaPause"]
